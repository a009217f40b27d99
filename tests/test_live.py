"""The /ws feed and long-lived requests: retention is pushed, bad cursors are refused, the collector never starves."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import simple_websocket

from micro_dashboard.policy.slots import RESERVED_THREADS

PV = {"e": "pv", "p": "web", "tv": "t"}


def envelopes(ws: simple_websocket.Client, wanted: str, timeout: float = 5.0) -> dict[str, Any]:
    """Read envelopes until one of the wanted type arrives."""
    while True:
        envelope = json.loads(ws.receive(timeout=timeout))
        if envelope["type"] == wanted:
            return envelope["data"]


@pytest.fixture
def retaining(make_live_server: Callable[..., Any]) -> str:
    """Serve an app that keeps at most 3 events; return its host:port."""
    return f"127.0.0.1:{make_live_server(max_events=3).port}"


def test_retention_pushes_the_oldest_remaining_row_to_live_clients(retaining: str) -> None:
    ws = simple_websocket.Client.connect(f"ws://{retaining}/ws?since=0")
    try:
        for n in range(5):
            requests.get(f"http://{retaining}/i", params={**PV, "aid": f"a{n}"}, timeout=10)
        listed = requests.get(f"http://{retaining}/api/events", timeout=10).json()["events"]
        oldest = min(e["id"] for e in listed)
        assert oldest > 1
        while (pruned := envelopes(ws, "pruned"))["oldest_id"] < oldest:
            pass  # an earlier prune; the one after the last write says what is left now
        assert pruned["oldest_id"] == oldest and pruned["counts"]["total"] <= 3
    finally:
        ws.close()


def test_a_websocket_with_a_cursor_that_is_not_a_row_id_is_refused(live_server: Any) -> None:
    answer = requests.get(f"{live_server.url}/ws", params={"since": "yesterday"}, timeout=10,
                          headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert answer.status_code == 400 and "since" in answer.json()["error"]


@pytest.fixture
def small(make_live_server: Callable[..., Any]) -> str:
    """Serve an app with few threads (room for only two long-lived requests); return its host:port."""
    return f"127.0.0.1:{make_live_server(threads=RESERVED_THREADS + 2).port}"


def test_sockets_and_waits_beyond_their_share_get_503_and_the_collector_still_answers(small) -> None:
    host = small
    sockets = [simple_websocket.Client.connect(f"ws://{host}/ws") for _ in range(2)]
    try:
        refused = requests.get(f"http://{host}/api/wait", params={"timeout": 5}, timeout=10)
        assert refused.status_code == 503 and "--threads" in refused.json()["error"]
        assert refused.headers["Retry-After"] == "1"
        assert requests.get(f"http://{host}/i", params=PV, timeout=10).status_code == 200
    finally:
        for ws in sockets:
            ws.close()
    # A slot comes back when its socket closes (the server notices within a second).
    deadline = time.monotonic() + 10
    while (answer := requests.get(f"http://{host}/api/wait", params={"timeout": 0}, timeout=10)).status_code == 503:
        assert time.monotonic() < deadline, "the slots of closed websockets were never given back"
        time.sleep(0.1)
    assert answer.status_code in (200, 408)


@pytest.mark.browser
def test_the_page_drops_rows_that_retention_deleted(retaining: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"http://{retaining}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
    for n in range(6):
        requests.get(f"http://{retaining}/i", params={**PV, "aid": f"kept-or-not-{n}"}, timeout=10)
    rows = page.locator("#list .row[data-id]:not([hidden])")
    expect(rows.filter(has_text="kept-or-not-5")).to_have_count(1, timeout=10_000)
    expect(rows).to_have_count(3, timeout=10_000)
    expect(rows.filter(has_text="kept-or-not-0")).to_have_count(0)


def handshake(url: str, origin: str | None) -> requests.Response:
    """Ask for a websocket upgrade of /ws with an Origin, answering nothing after the handshake."""
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if origin:
        headers["Origin"] = origin
    return requests.get(f"{url}/ws", headers=headers, timeout=10, stream=True)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1.evil.example", "null"])
def test_pages_from_other_sites_cannot_open_the_live_feed(live_server: Any, origin: str) -> None:
    answer = handshake(live_server.url, origin)
    assert answer.status_code == 403 and "--cors-origin" in answer.json()["error"]


@pytest.mark.parametrize("origin", [None, "http://localhost:3000", "own"])
def test_the_dashboards_own_pages_local_pages_and_tools_open_the_live_feed(live_server: Any, origin: Any) -> None:
    answer = handshake(live_server.url, live_server.url if origin == "own" else origin)
    assert answer.status_code == 101
    answer.close()


@pytest.mark.browser
def test_a_link_to_one_event_opens_it_and_bad_saved_columns_do_not_break_the_page(live_server: Any, page: Any):
    from playwright.sync_api import expect

    for n in range(3):
        requests.get(f"{live_server.url}/i", params={**PV, "aid": f"linked-{n}"}, timeout=10)
    row = requests.get(f"{live_server.url}/api/events", params={"app_id": "linked-1"}, timeout=10).json()
    target = row["events"][0]["id"]
    page.goto(f"{live_server.url}/")
    page.evaluate("localStorage.setItem('micro-dashboard.columns', '{not json')")
    page.goto(f"{live_server.url}/?event={target}")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#detail")).to_be_visible(timeout=10_000)
    expect(page.locator("#detail")).to_contain_text("linked-1")
    assert f"event={target}" in page.url
