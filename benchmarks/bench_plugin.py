"""Measure the pytest plugin: its cost per test, and what loading it costs a pytest session that does not use it.

Run: python benchmarks/bench_plugin.py [--tests 200] [--rounds 3] [--definitions DIR]

Per test: a generated file of N tests, each tracking one structured event with a real snowplow-tracker and waiting
for it with `assert_event`, as a user's test would, is run twice per round:
- "fixture": the tests take the plugin's `micro_dashboard` and `tracker` fixtures (a client marked, and for the
  in-process dashboard emptied, before each test; a tracker per test);
- "plain": the same tests share one module-level client and tracker and wait for their event by its label, with
  no per-test fixture at all (the session's dashboard is still the plugin's `micro_dashboard_server`).
The plugin's cost per test is what its fixtures' setup and teardown take (pytest's own report of each phase; "plain"
has a trivial fixture, subtracted), next to the difference of the mean whole-test time (setup + call + teardown, which
the wait's timing makes noisier); the first test, which starts the session's dashboard, is left out. Both dashboards
are measured: one in the test process (the default) and one in a separate `micro-dashboard serve`
(`--micro-dashboard-url`).

Loading: a session of one empty test is timed with the plugin (as installed, the `pytest11` entry point) and with
`-p no:micro_dashboard`, interleaved; and `python -X importtime` lists what importing the plugin module loads.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Records each test's setup, call and teardown time (pytest's own measure) into $BENCH_PLUGIN_TIMES.
CONFTEST = """
import json, os

TIMES = {}

def pytest_runtest_logreport(report):
    TIMES.setdefault(report.nodeid, {})[report.when] = report.duration
    if report.when == "call" and report.outcome != "passed":
        raise SystemExit(f"{report.nodeid} failed: {report.longreprtext[:2000]}")

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_PLUGIN_TIMES"], "w") as out:
        json.dump(TIMES, out)
"""

WITH_FIXTURE_HEADER = """
from snowplow_tracker import StructuredEvent
"""

WITH_FIXTURE = """

def test_{i}(micro_dashboard, tracker):
    tracker.track(StructuredEvent("bench", "act", label="t{i}"))
    micro_dashboard.assert_event(se_action="act", se_label="t{i}", app_id=tracker.app_id)
"""

PLAIN_HEADER = """
import uuid
import pytest
from snowplow_tracker import Emitter, StructuredEvent, Tracker
from micro_dashboard.testing import MicroDashboard

SHARED = {}
RUN = uuid.uuid4().hex[:8]


@pytest.fixture
def shared(micro_dashboard_server):
    if not SHARED:
        dash = MicroDashboard(micro_dashboard_server.url, cursor=0)
        emitter = Emitter(dash.endpoint, protocol="http", method="post", batch_size=1, request_timeout=10)
        SHARED.update(dash=dash, tracker=dash.register(Tracker("pytest", emitters=emitter, app_id="plain-" + RUN)))
    return SHARED["dash"], SHARED["tracker"]
"""

PLAIN = """

def test_{i}(shared):
    dash, tracker = shared
    tracker.track(StructuredEvent("bench", "act", label="t{i}-" + RUN))
    dash.assert_event(se_action="act", se_label="t{i}-" + RUN, app_id="plain-" + RUN)
"""

TRIVIAL = "def test_nothing():\n    pass\n"


@contextmanager
def dashboard_process(db: str, definitions: str | None) -> Iterator[str]:
    """Run `micro-dashboard serve` on a free port with a temporary database; yield its URL."""
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", db, "--no-default-registries"]
    if definitions:
        command += ["--definitions", definitions]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:
            found = re.search(r"collector\s+(http://\S+)", line)
            if found:
                # Keep the pipe drained so the server never blocks on a log line.
                threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
                yield found.group(1)
                return
        raise RuntimeError("the dashboard did not start")
    finally:
        process.terminate()
        process.wait(15)


def write_suite(folder: Path, tests: int, definitions: str | None) -> None:
    """Write the conftest and the two test files (with the plugin's fixtures, and without)."""
    config = f"""
import pytest

@pytest.fixture(scope="session")
def micro_dashboard_config():
    return {{"iglu_defaults": False{f', "definitions": [{definitions!r}]' if definitions else ''}}}
"""
    (folder / "conftest.py").write_text(CONFTEST + config)
    (folder / "test_fixture.py").write_text(WITH_FIXTURE_HEADER + "".join(WITH_FIXTURE.format(i=i)
                                                                          for i in range(tests)))
    (folder / "test_plain.py").write_text(PLAIN_HEADER + "".join(PLAIN.format(i=i) for i in range(tests)))


def run_suite(folder: Path, name: str, url: str | None) -> tuple[float, float]:
    """Run one test file; return the mean ms per test and per test's setup + teardown (the first test left out)."""
    times = folder / f"times-{name}.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / f"test_{name}.py")]
    if url:
        command += ["--micro-dashboard-url", url]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "BENCH_PLUGIN_TIMES": str(times)})
    if done.returncode:
        raise RuntimeError(f"{name} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    phases = list(json.loads(times.read_text()).values())[1:]
    return (statistics.mean(sum(p.values()) for p in phases) * 1000,
            statistics.mean(p["setup"] + p["teardown"] for p in phases) * 1000)


def per_test_cost(tests: int, rounds: int, definitions: str | None) -> list[str]:
    """Return table rows: each dashboard's mean test time with and without the fixtures, and the difference."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_suite(folder, tests, definitions)
        with dashboard_process(str(folder / "external.db"), definitions) as url:
            for where, target in (("in the test process", None), ("separate process", url)):
                fixture, plain = [], []
                for _ in range(rounds):  # interleaved, so a busy moment hits both
                    fixture.append(run_suite(folder, "fixture", target))
                    plain.append(run_suite(folder, "plain", target))
                (f, f_fixture), (p, p_fixture) = (map(statistics.median, zip(*runs)) for runs in (fixture, plain))
                rows.append(f"| {where} | {tests} | {f:.1f} | {p:.1f} | {f - p:.1f} "
                            f"| **{f_fixture - p_fixture:.1f}** |")
    return rows


def session_seconds(folder: Path, disable: bool) -> float:
    """Return the CPU seconds of one pytest session of an empty test, with the plugin loaded or disabled.

    CPU time rather than wall time: other work on the machine changes it far less."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "test_trivial.py")]
    if disable:
        command += ["-p", "no:micro_dashboard"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=folder, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def import_cost(rounds: int) -> list[str]:
    """Return lines: an empty session's time with and without the plugin, and what importing it loads."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_trivial.py").write_text(TRIVIAL)
        loaded, disabled = [], []
        for _ in range(rounds):
            loaded.append(session_seconds(folder, False))
            disabled.append(session_seconds(folder, True))
    # What importing the plugin adds to what pytest itself has already imported.
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pytest; import sys; "
                           "print('---', file=sys.stderr); import micro_dashboard.testing.plugin"],
                          capture_output=True, text=True, check=True)
    after = done.stderr.split("---", 1)[1]
    modules = re.findall(r"import time:\s+\d+ \|\s+(\d+) \|\s+(\S.*)", after)
    top = [(int(us), name.strip()) for us, name in modules if not name.startswith(" ")]
    return [f"Empty pytest session, CPU, median of {rounds}: {statistics.median(loaded) * 1000:.0f} ms with the "
            f"plugin, {statistics.median(disabled) * 1000:.0f} ms with `-p no:micro_dashboard` "
            f"(difference {(statistics.median(loaded) - statistics.median(disabled)) * 1000:+.0f} ms).",
            f"Importing micro_dashboard.testing.plugin after pytest: {sum(us for us, _ in top) / 1000:.1f} ms, "
            f"modules: {', '.join(name for _, name in top)}"]


def main() -> None:
    """Print the per-test table and the loading cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200, help="tests per generated file")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each file, median reported")
    parser.add_argument("--definitions", help="GitLab definitions folder loaded by both dashboards (metrics on)")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    print(textwrap.dedent(f"""\
        load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}
        | dashboard | tests | with the fixtures, ms/test | plain, ms/test | difference | fixtures' setup+teardown, ms |
        |---|---:|---:|---:|---:|---:|"""), flush=True)
    for row in per_test_cost(args.tests, args.rounds, args.definitions):
        print(row, flush=True)
    if not args.skip_import:
        print()
        for line in import_cost(max(5, args.rounds * 3)):
            print(line)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
