"""The command line: documented flags and refusals in-process; `serve` in a subprocess (its banner, clean stops on
SIGINT and SIGTERM, MICRO_DASHBOARD_* variables), since it runs until a signal."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from support import PAYLOAD_DATA

from micro_dashboard import __version__
from micro_dashboard.cli import cli
from micro_dashboard.store import Store

TP2 = "/com.snowplowanalytics.snowplow/tp2"
# The flags issue 2 asks for, each with its environment variable.
ISSUE_FLAGS = ["--host", "--port", "--db", "--max-events", "--max-age", "--path-alias", "--enable-redirect"]
CLI = [sys.executable, "-m", "micro_dashboard"]


def test_the_installed_command_runs_and_shows_serve_as_the_default_command():
    result = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s+serve\*\s", result.stdout, re.MULTILINE), result.stdout


def test_serve_help_documents_every_flag():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert [f for f in ISSUE_FLAGS if not re.search(rf"^\s+(-\w, )?{f}\b", result.output, re.MULTILINE)] == []


def test_version_is_printed():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_a_bad_path_alias_is_refused_with_a_readable_message(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--db", str(tmp_path / "x.db"),
                                      "--path-alias", "/only-one-segment"])
    assert result.exit_code == 2
    assert "path alias" in result.output and "/com.acme/track=" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


@dataclass
class Running:
    """A `micro-dashboard` process started for a test, with what it printed at start."""

    process: subprocess.Popen
    lines: queue.Queue = field(default_factory=queue.Queue)
    banner: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the collector URL the process printed."""
        for line in self.banner:
            match = re.search(r"collector\s+(http://\S+)", line)
            if match:
                return match[1]
        raise AssertionError(f"no collector URL in {self.banner}")

    def stop(self, signum: int) -> str:
        """Send a signal, wait for the process to end, and return the rest of its output."""
        self.process.send_signal(signum)
        self.process.wait(timeout=30)
        rest = []
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                return "".join(rest)
            rest.append(line)


def start(args: list[str], env: dict[str, str] | None = None) -> Running:
    """Start the dashboard and wait until it has printed its banner."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_DASHBOARD_")}
    environ.update(env or {}, MICRO_DASHBOARD_NO_DEFAULT_REGISTRIES="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=environ)
    running = Running(process)

    def pump() -> None:
        for line in process.stdout:
            running.lines.put(line)
        running.lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        line = running.lines.get(timeout=30)
        assert line is not None, f"micro-dashboard exited early: {''.join(running.banner)}"
        running.banner.append(line)
        if "Ctrl-C" in line:
            return running


@pytest.fixture
def started() -> Iterator[list[Running]]:
    """Collect processes started by a test and make sure none outlives it."""
    processes: list[Running] = []
    yield processes
    for running in processes:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def send_page_views(url: str, count: int, path: str = TP2) -> None:
    """POST page views and check each is acknowledged."""
    for i in range(count):
        body = {"schema": PAYLOAD_DATA, "data": [{"e": "pv", "p": "web", "tv": "cli-test", "uid": f"u{i}"}]}
        response = requests.post(url + path, data=json.dumps(body), headers={"Content-Type": "application/json"},
                                 timeout=10)
        assert response.status_code == 200 and response.text == "ok"


def stored_counts(db: Path) -> dict[str, int]:
    """Open the database file as a fresh process would and count its events."""
    store = Store(str(db))
    try:
        return store.counts()
    finally:
        store.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_prints_where_it_listens_and_stops_cleanly_with_events_on_disk(tmp_path, started, signum):
    db = tmp_path / "events.db"
    running = start(["serve", "--port", "0", "--db", str(db)])
    started.append(running)
    banner = "".join(running.banner)
    url = running.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
    assert f"{url}/" in banner and f"{url}/micro/good" in banner
    assert str(db) in banner
    assert requests.get(f"{url}/health", timeout=5).text == "ok"
    send_page_views(url, 3)
    rest = running.stop(signum)
    assert running.process.returncode == 0, rest
    assert "stopped" in rest and "Traceback" not in rest
    assert stored_counts(db) == {"total": 3, "good": 3, "bad": 0}


def test_default_command_is_serve_and_reads_its_settings_from_the_environment(tmp_path, started):
    db = tmp_path / "from-env.db"
    running = start([], env={
        "MICRO_DASHBOARD_HOST": "127.0.0.1", "MICRO_DASHBOARD_PORT": "0", "MICRO_DASHBOARD_DB": str(db),
        "MICRO_DASHBOARD_MAX_EVENTS": "2", "MICRO_DASHBOARD_MAX_AGE": "1d",
        "MICRO_DASHBOARD_PATH_ALIAS": f"/com.acme/track={TP2},/com.acme/b={TP2}",  # two aliases in one variable
        "MICRO_DASHBOARD_ENABLE_REDIRECT": "1",
    })
    started.append(running)
    assert str(db) in "".join(running.banner)
    url = running.url
    send_page_views(url, 3, path="/com.acme/track")
    assert requests.get(f"{url}/micro/all", timeout=5).json() == {"total": 2, "good": 2, "bad": 0}
    users = [e["event"]["user_id"] for e in requests.get(f"{url}/micro/good", timeout=5).json()]
    assert users == ["u2", "u1"]
    send_page_views(url, 1, path="/com.acme/b")
    assert [e["event"]["user_id"] for e in requests.get(f"{url}/micro/good", timeout=5).json()] == ["u0", "u2"]
    redirect = requests.get(f"{url}/r/tp2?e=pv&p=web&tv=t&u=https%3A%2F%2Fexample.test%2F", allow_redirects=False,
                            timeout=5)
    assert redirect.status_code == 302 and redirect.headers["Location"] == "https://example.test/"
    running.stop(signal.SIGINT)
    assert running.process.returncode == 0
    assert db.exists()


def test_flags_win_over_environment_variables(tmp_path, started):
    env_db, flag_db = tmp_path / "env.db", tmp_path / "flag.db"
    running = start(["serve", "--port", "0", "--db", str(flag_db), "--max-events", "1"],
                    env={"MICRO_DASHBOARD_DB": str(env_db), "MICRO_DASHBOARD_MAX_EVENTS": "50"})
    started.append(running)
    assert str(flag_db) in "".join(running.banner)
    send_page_views(running.url, 2)
    assert requests.get(f"{running.url}/micro/all", timeout=5).json()["total"] == 1
    running.stop(signal.SIGINT)
    assert not env_db.exists() and flag_db.exists()
