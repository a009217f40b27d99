"""The wait endpoint over real HTTP: woken by commits, early return, 408 with partial results, many waiters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sending import pixel, tp2


def cursor(url: str) -> int:
    """Return the newest row id, the cursor for 'from now on'."""
    return requests.get(f"{url}/api/events?limit=1", timeout=10).json()["last_id"]


def test_existing_events_satisfy_a_wait_at_once(live_server) -> None:
    first = pixel(live_server.url, e="pv", aid="early")
    response = requests.get(f"{live_server.url}/api/wait?app_id=early&timeout=30", timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["events"][0]["row"]["event_id"] == first
    assert body["cursor"] == body["events"][0]["row"]["id"]
    assert set(body["events"][0]) == {"row", "event", "flat", "parameters", "entities", "failures", "request", "curl"}


def test_wait_returns_when_events_arrive_from_another_thread(live_server) -> None:
    url = live_server.url
    since = cursor(url)
    sender = threading.Thread(target=lambda: [pixel(url, e="se", se_ac=f"step{i}", aid="late") for i in range(3)])
    sender.start()
    response = requests.get(f"{url}/api/wait?app_id=late&count=3&timeout=60&since={since}", timeout=90)
    sender.join()
    assert response.status_code == 200
    body = response.json()
    assert [e["row"]["se_action"] for e in body["events"]] == ["step0", "step1", "step2"]  # oldest first
    assert body["count"] == 3 and body["cursor"] == body["events"][-1]["row"]["id"]


def test_non_matching_events_do_not_release_a_waiter(live_server) -> None:
    url = live_server.url
    since = cursor(url)

    def send() -> None:
        tp2(url, {"e": "pv", "aid": "noise"}, {"e": "pv", "aid": "noise"})
        pixel(url, e="se", se_ac="wanted", aid="signal")

    sender = threading.Thread(target=send)
    sender.start()
    response = requests.get(f"{url}/api/wait?search=app:signal&timeout=60&since={since}", timeout=90)
    sender.join()
    assert response.status_code == 200
    assert [e["row"]["se_action"] for e in response.json()["events"]] == ["wanted"]


def test_wait_times_out_with_408_and_what_did_arrive(live_server) -> None:
    url = live_server.url
    since = cursor(url)
    pixel(url, e="pv", aid="partial")
    response = requests.get(f"{url}/api/wait?app_id=partial&count=3&timeout=0.5&since={since}", timeout=30)
    assert response.status_code == 408
    body = response.json()
    assert body["count"] == 1 and len(body["events"]) == 1
    assert body["error"] == "timed out waiting for 3 events; 1 arrived"
    assert body["cursor"] == body["events"][0]["row"]["id"]


def test_timeout_with_nothing_keeps_the_cursor(live_server) -> None:
    since = cursor(live_server.url)
    response = requests.get(f"{live_server.url}/api/wait?app_id=nobody&timeout=0&since={since}", timeout=30)
    assert response.status_code == 408
    assert response.json()["events"] == [] and response.json()["cursor"] == since


def test_cursor_chains_waits(live_server) -> None:
    url = live_server.url
    pixel(url, e="pv", aid="chain")
    first = requests.get(f"{url}/api/wait?app_id=chain&timeout=10", timeout=30).json()
    pixel(url, e="se", se_ac="second", aid="chain")
    second = requests.get(f"{url}/api/wait?app_id=chain&timeout=10&since={first['cursor']}", timeout=30).json()
    assert [e["row"]["se_action"] for e in second["events"]] == ["second"]


@pytest.mark.parametrize("query", ["timeout=soon", "count=many", "nope=1"])
def test_bad_wait_parameters_are_400(live_server, query: str) -> None:
    response = requests.get(f"{live_server.url}/api/wait?{query}", timeout=10)
    assert response.status_code == 400 and response.json()["error"]


@pytest.fixture
def roomy_server(make_live_server: Callable[..., Any]) -> str:
    """Serve an app with enough threads for 50 waiters and the senders; return its URL."""
    return make_live_server(threads=80).url


def test_fifty_concurrent_waiters_are_all_released(roomy_server: str) -> None:
    url = roomy_server
    since = cursor(url)
    pixel(url, e="pv", aid="warmup")

    def wait(i: int) -> requests.Response:
        return requests.get(f"{url}/api/wait?app_id=crowd&count=2&timeout=60&since={since}", timeout=120)

    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(wait, i) for i in range(50)]
        tp2(url, {"e": "se", "se_ac": "one", "aid": "crowd"})
        pixel(url, e="se", se_ac="two", aid="crowd")
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 50
    assert {tuple(e["row"]["se_action"] for e in r.json()["events"]) for r in responses} == {("one", "two")}
