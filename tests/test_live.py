"""The /ws feed and long-lived requests: retention is pushed, bad cursors are refused, the collector never starves."""

from __future__ import annotations

import base64
import json
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import simple_websocket
from sending import pixel, tp2

from micro_dashboard import live_loop
from micro_dashboard.policy.slots import RESERVED_THREADS

PV = {"e": "pv", "p": "web", "tv": "t"}


def envelopes(ws: simple_websocket.Client, wanted: str, timeout: float = 5.0) -> dict[str, Any]:
    """Read envelopes until one of the wanted type arrives."""
    while True:
        envelope = json.loads(ws.receive(timeout=timeout))
        if envelope["type"] == wanted:
            return envelope["data"]


def connect(url: str) -> simple_websocket.Client:
    """Open a websocket, retrying while the server's long-lived slots are all taken by handshakes (503)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return simple_websocket.Client.connect(url)
        except simple_websocket.ConnectionError as exc:
            if exc.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # a handshake still replaying holds its slot until it hands the socket over


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


def hold_a_wait(url: str, app_id: str) -> requests.Response:
    """Wait for an event of `app_id`, trying again while the slots are taken (by the test's own probe)."""
    while (answer := requests.get(f"{url}/api/wait", params={"app_id": app_id, "timeout": 30},
                                  timeout=60)).status_code == 503:
        time.sleep(0.05)
    return answer


def test_websockets_hold_no_thread_and_waits_beyond_their_share_get_503(small) -> None:
    host = small
    sockets = [connect(f"ws://{host}/ws") for _ in range(10)]  # more than the 2 slots
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            held = [pool.submit(hold_a_wait, f"http://{host}", "slot-holder") for _ in range(2)]
            deadline = time.monotonic() + 10
            while (refused := requests.get(f"http://{host}/api/wait", params={"timeout": 0},
                                           timeout=10)).status_code != 503:
                assert time.monotonic() < deadline, "the two held waits never took both slots"
                time.sleep(0.05)
            assert "--threads" in refused.json()["error"] and refused.headers["Retry-After"] == "1"
            assert requests.get(f"http://{host}/i", params={**PV, "aid": "slot-holder"}, timeout=10).status_code == 200
            assert [f.result().status_code for f in held] == [200, 200]
        for ws in sockets:  # every socket is still served, by the live loop rather than a thread each
            assert envelopes(ws, "event")["app_id"] == "slot-holder"
    finally:
        for ws in sockets:
            ws.close()
    # The slots come back when the waits answer.
    assert requests.get(f"http://{host}/api/wait", params={"timeout": 0}, timeout=10).status_code in (200, 408)


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


class RawFeed:
    """A websocket opened over a plain socket, read only when asked: one thread can hold hundreds of them."""

    def __init__(self, port: int, path: str, receive_buffer: int | None = None) -> None:
        deadline = time.monotonic() + 30
        while True:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            if receive_buffer:  # a small receive buffer fills fast, as a stalled browser tab's would
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            key = base64.b64encode(os.urandom(16)).decode()
            self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                              .encode())
            self.buffer = b""
            while b"\r\n\r\n" not in self.buffer:
                chunk = self.sock.recv(4096)
                assert chunk, "the server closed the connection during the handshake"
                self.buffer += chunk
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            if not head.startswith(b"HTTP/1.1 503") or time.monotonic() > deadline:
                break
            self.sock.close()  # every long-lived slot is taken by handshakes still replaying: try again
            time.sleep(0.05)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.closed = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Take bytes read from the socket; return the envelopes they complete (b"" means the server closed)."""
        self.closed = self.closed or not data
        self.buffer += data
        found = []
        while len(self.buffer) >= 2:
            opcode, size, start = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < start + size:
                break
            payload, self.buffer = self.buffer[start:start + size], self.buffer[start + size:]
            if opcode == 1:
                found.append(json.loads(payload))
        return found

    def read_until(self, wanted: Callable[[dict[str, Any]], bool], seconds: float = 30) -> list[dict[str, Any]]:
        """Read envelopes until one is `wanted` (returned last) or the server closes; fail after `seconds`."""
        self.sock.settimeout(seconds)
        seen: list[dict[str, Any]] = []
        while not self.closed:
            seen += self.feed(self.sock.recv(65536))
            if seen and wanted(seen[-1]) or any(wanted(e) for e in seen):
                return seen
        return seen


def read_all(feeds: list[RawFeed], wanted: Callable[[dict[str, Any]], bool], seconds: float = 60) -> set[int]:
    """Read every feed from one thread until each has had a `wanted` envelope; return the indexes that had it."""
    selector = selectors.DefaultSelector()
    for i, feed in enumerate(feeds):
        feed.sock.setblocking(False)
        selector.register(feed.sock, selectors.EVENT_READ, i)
    done: set[int] = set()
    deadline = time.monotonic() + seconds
    while len(done) < len(feeds) and time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            feed = feeds[key.data]
            envelopes_read = feed.feed(feed.sock.recv(65536))
            if any(wanted(e) for e in envelopes_read):
                done.add(key.data)
            if feed.closed or key.data in done:
                selector.unregister(feed.sock)
    selector.close()
    return done


@pytest.fixture
def crowded(make_live_server: Callable[..., Any]) -> Any:
    """Serve an app with room for 100 held waits; return the live server."""
    return make_live_server(threads=RESERVED_THREADS + 110)


def test_hundreds_of_websockets_and_waits_all_get_the_next_event_and_add_no_thread(crowded: Any) -> None:
    port, hub, loop = crowded.port, crowded.app.config["HUB"], crowded.app.config["LIVE_LOOP"]
    since = requests.get(f"{crowded.url}/api/events?limit=1", timeout=10).json()["last_id"]
    feeds = [RawFeed(port, f"/ws?since={since}") for _ in range(10)]
    threads_with_ten = threading.active_count()
    feeds += [RawFeed(port, f"/ws?since={since}") for _ in range(290)]
    # The old design held a server thread and a reader thread per socket: 580 more here.
    assert threading.active_count() <= threads_with_ten + 1
    assert [f.read_until(lambda e: e["type"] == "hello")[-1]["type"] for f in feeds] == ["hello"] * 300
    with ThreadPoolExecutor(max_workers=100) as pool:
        waits = [pool.submit(requests.get, f"{crowded.url}/api/wait",
                             params={"app_id": "crowd", "since": since, "timeout": 60}, timeout=120)
                 for _ in range(100)]
        deadline = time.monotonic() + 30
        while hub.waits < 100:  # every wait is held (registered with the hub) before the event arrives
            assert time.monotonic() < deadline, f"only {hub.waits} of 100 waits were held"
            time.sleep(0.05)
        assert loop.clients == 300
        event_id = pixel(crowded.url, e="se", se_ac="for-everyone", aid="crowd")
        answers = [w.result() for w in waits]
    assert [a.status_code for a in answers] == [200] * 100
    assert {a.json()["events"][0]["row"]["event_id"] for a in answers} == {event_id}
    got_it = read_all(feeds, lambda e: e["type"] == "event" and e["data"]["event_id"] == event_id)
    assert len(got_it) == 300
    for feed in feeds:
        feed.sock.close()


def flood(url: str, count: int, label: str, size: int = 4000) -> None:
    """Send `count` structured events whose category is `size` characters long, in batches of 100."""
    for start in range(0, count, 100):
        tp2(url, *({"e": "se", "se_ca": "x" * size, "se_ac": f"{label}-{start + i}", "aid": label}
                   for i in range(min(100, count - start))))


def test_a_client_that_stops_reading_is_dropped_while_the_others_get_every_event(
        live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url, loop = live_server.url, live_server.app.config["LIVE_LOOP"]
    # A small send buffer fills with a burst or two, and what it held crawls to the stalled client at the end
    # through its 4 KiB window (a window update every ~0.2 s) in seconds, not half a minute.
    monkeypatch.setattr(live_loop, "SOCKET_SEND_BUFFER", 16 * 1024)
    stalled = RawFeed(live_server.port, "/ws", receive_buffer=4096)  # never read from here on, until the end
    reader = connect(f"ws://127.0.0.1:{live_server.port}/ws")
    try:
        deadline = time.monotonic() + 120
        while loop.clients < 2:  # both handed over to the loop
            assert time.monotonic() < deadline
            time.sleep(0.05)
        burst = 0
        while loop.clients > 1:  # the stalled client is dropped (5 s without taking a byte), the reader is not
            assert time.monotonic() < deadline, "a client that read nothing was never dropped"
            flood(url, 100, f"burst{burst}")
            while envelopes(reader, "event", timeout=30)["se_action"] != f"burst{burst}-99":
                pass  # the reader keeps up: it gets every event of the burst
            burst += 1
        last = pixel(url, e="se", se_ac="after-the-drop", aid="burst")
        while (event := envelopes(reader, "event", timeout=30))["event_id"] != last:
            pass
        assert event["se_action"] == "after-the-drop"
        # What the dropped client finds when it reads again: what was sent before the drop, then the end of the
        # connection; it reconnects with its cursor, and the replay gives it the rest.
        seen = stalled.read_until(lambda e: False)
        assert stalled.closed and all(e["data"]["se_action"] != "after-the-drop" for e in seen if e["type"] == "event")
    finally:
        reader.close()
        stalled.sock.close()


def test_a_client_too_slow_for_the_feed_is_told_to_resync_with_its_cursor(live_server: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    url, loop = live_server.url, live_server.app.config["LIVE_LOOP"]
    loop.send_timeout = 300  # this client is slow, not stalled: it reads again before anyone gives up on it
    # Small buffers, so that a little data fills them: through a 4 KiB receive window the bytes held for a slow
    # client crawl (a window update every ~0.2 s), and megabytes would take longer than the loop's ping allows.
    monkeypatch.setattr(live_loop, "SOCKET_SEND_BUFFER", 16 * 1024)
    monkeypatch.setattr(live_loop, "BACKLOG_BYTES", 32 * 1024)
    slow = RawFeed(live_server.port, "/ws", receive_buffer=4096)
    try:
        deadline = time.monotonic() + 30
        while loop.clients < 1:  # handed over to the loop
            assert time.monotonic() < deadline
            time.sleep(0.05)
        flood(url, 60, "fill")  # ~250 KB: more than the kernel's buffers and the loop's backlog hold
        flood(url, 2500, "more", size=1)  # then more envelopes than the hub's log keeps
        seen = slow.read_until(lambda e: False)
    finally:
        slow.sock.close()
    resyncs = [e for e in seen if e["type"] == "resync"]
    assert len(resyncs) == 1 and seen[-1] == resyncs[0] and slow.closed  # the last thing it is sent
    events = [e["data"]["id"] for e in seen if e["type"] == "event"]
    assert events == sorted(events) and resyncs[0]["data"]["since"] == events[-1]  # it goes on from the last row
    assert len(events) < 2560


def test_stopping_the_server_ends_every_websocket(make_live_server: Callable[..., Any]) -> None:
    live = make_live_server()
    feeds = [RawFeed(live.port, "/ws") for _ in range(50)]
    loop = live.app.config["LIVE_LOOP"]
    deadline = time.monotonic() + 30
    while loop.clients < 50:  # all handed over to the loop
        assert time.monotonic() < deadline
        time.sleep(0.05)
    live.server.stop()
    for feed in feeds:
        feed.read_until(lambda e: False, seconds=10)  # raises a timeout if the server left it open
        assert feed.closed
        feed.sock.close()
    assert loop.clients == 0
