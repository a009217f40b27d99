"""`micro-dashboard tail` as a subprocess following a dashboard in another process."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import requests
from dashboard_process import dashboard_process
from support import IGLU_CENTRAL, LINK_CLICK, free_port

from micro_dashboard.tail import line

LINE_TIMEOUT = 20  # a guard against hanging when a line never comes, not a measurement


def link_click(data: dict[str, str]) -> str:
    """Return the ue_pr of a link_click event with this data."""
    return json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                       "data": {"schema": LINK_CLICK, "data": data}})


LINK_CLICK_WITHOUT_TARGET = link_click({})


class Tail:
    """A running `micro-dashboard tail` whose stdout and stderr lines are read without blocking the test."""

    def __init__(self, *args: str):
        executable = shutil.which("micro-dashboard")
        command = [executable] if executable else [sys.executable, "-m", "micro_dashboard"]
        self.process = subprocess.Popen([*command, "tail", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _pump(stream, lines: queue.Queue[str]) -> None:
        for text in stream:
            lines.put(text.rstrip("\n"))
        lines.put("<closed>")

    def next_line(self) -> str:
        """Return the next stdout line."""
        return self._get(self.out, "a line on stdout")

    def wait_until_following(self) -> None:
        """Wait for the notice that the websocket is open, so events sent from now on are streamed."""
        while (note := self._get(self.err, "the 'tailing' notice on stderr")) != "<closed>":
            if note.startswith("tailing "):
                return
        raise AssertionError("tail exited before it was following")

    def _get(self, lines: queue.Queue[str], what: str) -> str:
        """Return the next line, or fail saying what tail was doing."""
        try:
            return lines.get(timeout=LINE_TIMEOUT)
        except queue.Empty:
            state = "running" if self.process.poll() is None else f"exited with {self.process.returncode}"
            pending = {"stdout": list(self.out.queue), "stderr": list(self.err.queue)}
            raise AssertionError(f"no {what} within {LINE_TIMEOUT}s; tail is {state}; unread: {pending}") from None

    def stop(self) -> None:
        """Terminate the process."""
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve one dashboard in a separate process for this module."""
    with dashboard_process(tmp_path_factory.mktemp("tail") / "events.db") as address:
        yield address


@pytest.fixture
def tails() -> Iterator[list[Tail]]:
    """Collect the tails a test starts and stop them afterwards."""
    started: list[Tail] = []
    yield started
    for tail in started:
        tail.stop()


def send(url: str, app_id: str, **params: str) -> None:
    """Send one GET event the way a pixel tracker would."""
    response = requests.get(f"{url}/i", params={"tv": "py-test", "p": "web", "aid": app_id, **params}, timeout=10)
    assert response.ok


def structured(url: str, app_id: str, category: str, action: str, **extra: str) -> None:
    """Send a structured event."""
    send(url, app_id, e="se", se_ca=category, se_ac=action, **extra)


@pytest.mark.needs_iglu_central
def test_tail_prints_one_line_per_event_with_invalid_ones_and_their_reason(url: str, tails: list[Tail]):
    app = f"tail-{uuid.uuid4().hex[:6]}"
    tail = Tail("--url", url, f"app_id={app}")
    tails.append(tail)
    tail.wait_until_following()
    structured(url, app, "shop", "checkout", se_la="basket")
    send(url, app, e="ue", ue_pr=LINK_CLICK_WITHOUT_TARGET)
    first, second = tail.next_line(), tail.next_line()
    assert app in first and "struct" in first and "category=shop action=checkout label=basket" in first
    assert first.endswith("valid")
    assert "link_click" in second
    assert second.endswith('INVALID: link_click 1-0-1: required property "targetUrl" is missing '
                           '(the self-describing event)')


def test_tail_filters_with_the_api_language_and_prints_json(url: str, tails: list[Tail]):
    app = f"tail-{uuid.uuid4().hex[:6]}"
    tail = Tail("--url", url, "--json", f"app_id={app}", "se_action__startswith=keep")
    tails.append(tail)
    tail.wait_until_following()
    structured(url, "someone-else", "x", "keep-other-app")
    structured(url, app, "x", "drop-me")
    structured(url, app, "x", "keep-me")
    structured(url, app, "x", "keep-me-too")
    shown = [json.loads(tail.next_line()) for _ in range(2)]
    assert [(e["app_id"], e["se_action"]) for e in shown] == [(app, "keep-me"), (app, "keep-me-too")]
    assert shown[0]["id"] < shown[1]["id"] and shown[0]["valid"] is True


@pytest.mark.needs_iglu_central
def test_a_filtered_tail_shows_again_a_row_that_turned_invalid_when_rechecked(
        make_live_server: Callable[..., Any], serve: Callable[..., Any], tails: list[Tail]):
    port = free_port()  # the registry's address, down for now
    live = make_live_server(iglu_registries=[f"http://127.0.0.1:{port}"], iglu_timeout=0.5)
    app = f"tail-{uuid.uuid4().hex[:6]}"
    tail = Tail("--url", live.url, "--json", f"app_id={app}")
    tails.append(tail)
    tail.wait_until_following()
    send(live.url, app, e="ue", ue_pr=LINK_CLICK_WITHOUT_TARGET)
    first = json.loads(tail.next_line())
    assert (first["valid"], first["unverified"]) == (True, True)
    serve(IGLU_CENTRAL, port=port)  # the registry comes up on the same address
    live.app.config["CHECKER"].resolver.forget()  # as if the failed registry's back-off period had passed
    send(live.url, "someone-else", e="ue", ue_pr=link_click({"targetUrl": "https://example.com/"}))  # not shown
    again = json.loads(tail.next_line())
    assert (again["id"], again["updated"], again["valid"], again["unverified"]) == (first["id"], True, False, False)
    assert 'required property "targetUrl" is missing' in again["problems"][0]["message"]


def test_tail_search_and_replay_from_a_row_id(url: str, tails: list[Tail]):
    app = f"tail-{uuid.uuid4().hex[:6]}"
    structured(url, app, "replay", "old-valid")
    send(url, app, e="ue", ue_pr=LINK_CLICK_WITHOUT_TARGET)
    tail = Tail("--url", url, "--json", "--since", "0", "--search", f"app:{app} is:invalid")
    tails.append(tail)
    replayed = json.loads(tail.next_line())
    assert replayed["app_id"] == app and replayed["event_name"] == "link_click" and replayed["valid"] is False
    tail.wait_until_following()
    send(url, app, e="ue", ue_pr=LINK_CLICK_WITHOUT_TARGET)
    assert json.loads(tail.next_line())["id"] > replayed["id"]


def test_tail_rejects_a_filter_the_dashboard_does_not_know(url: str):
    result = subprocess.run([sys.executable, "-m", "micro_dashboard", "tail", "--url", url, "colour=red"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "unknown filter 'colour'" in result.stderr


def test_tail_says_when_no_dashboard_is_listening(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "micro_dashboard", "tail", "--url", "http://127.0.0.1:9"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "not reachable at http://127.0.0.1:9" in result.stderr


def test_a_line_for_an_unreadable_request_still_says_why():
    text = click.unstyle(line({"id": 9, "valid": False, "collector_tstamp": None, "app_id": None, "event": None,
                 "problems": [{"message": "the body is not JSON"}]}))
    assert "(unreadable)" in text and text.endswith("INVALID: the body is not JSON")


def test_tail_follows_a_restarted_dashboard_without_repeating_events(tmp_path: Path, tails: list[Tail]):
    app = f"tail-{uuid.uuid4().hex[:6]}"
    port = free_port()
    with dashboard_process(tmp_path / "events.db", port) as first:
        tail = Tail("--url", first, "--json", f"app_id={app}")
        tails.append(tail)
        tail.wait_until_following()
        structured(first, app, "c", "before-1")
        structured(first, app, "c", "before-2")
        shown = [json.loads(tail.next_line())["se_action"] for _ in range(2)]
    with dashboard_process(tmp_path / "events.db", port) as second:  # same port and database, like a restart
        while (note := tail._get(tail.err, "the reconnect notice")) and not note.startswith("reconnected"):
            pass
        structured(second, app, "c", "after")
        shown.append(json.loads(tail.next_line())["se_action"])
    assert shown == ["before-1", "before-2", "after"]
    assert tail.process.poll() is None, "tail should keep following"


RUNNER_KEYS = {"counts.count_total_ci_runners_created", "counts.count_total_ci_runners_created_weekly",
               "counts.count_total_ci_runners_created_monthly"}
RUNNER_DISTINCT_KEYS = {f"redis_hll_counters.count_distinct_{field}_from_create_ci_runner_{frame}"
                        for field in ("project_id", "namespace_id") for frame in ("weekly", "monthly")}


def test_tail_metrics_shows_each_metric_then_the_ones_that_move(
        make_live_server: Callable[..., Any], gitlab_definitions: Path, tails: list[Tail]):
    from micro_dashboard.tracking import InternalEventsClient

    live = make_live_server(definitions=[str(gitlab_definitions)])
    tail = Tail("--url", live.url, "--metrics", "--json")
    tails.append(tail)
    first = {m["key_path"]: m for m in (json.loads(tail.next_line()) for _ in range(21))}
    assert set(first) >= RUNNER_KEYS | RUNNER_DISTINCT_KEYS
    assert all(m["moving"] == 0 and m["before"] is None for m in first.values())
    tail.wait_until_following()
    with InternalEventsClient(enabled=True, endpoint=live.url) as client:
        client.track_event("create_ci_runner", project_id=1, namespace_id=10)
        assert client.flush()
        moved = {m["key_path"]: m for m in (json.loads(tail.next_line()) for _ in range(7))}
        assert set(moved) == RUNNER_KEYS | RUNNER_DISTINCT_KEYS
        assert {(m["before"], m["moving"]) for m in moved.values()} == {(0, 1)}
        client.track_event("create_ci_runner", project_id=1, namespace_id=10)
        assert client.flush()
        # The same project and namespace again: only the totals move.
        again = {m["key_path"]: (m["before"], m["moving"]) for m in (json.loads(tail.next_line()) for _ in range(3))}
        assert again == dict.fromkeys(RUNNER_KEYS, (1, 2))


def test_tail_metrics_needs_definitions_and_takes_no_event_filters(url: str):
    without = subprocess.run([sys.executable, "-m", "micro_dashboard", "tail", "--url", url, "--metrics"],
                             capture_output=True, text=True, timeout=30)
    assert without.returncode == 1 and "has no GitLab definitions" in without.stderr
    filtered = subprocess.run([sys.executable, "-m", "micro_dashboard", "tail", "--url", url, "--metrics",
                               "app_id=web"], capture_output=True, text=True, timeout=30)
    assert filtered.returncode == 2 and "--metrics shows every metric" in filtered.stderr
