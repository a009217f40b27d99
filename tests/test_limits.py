"""Hostile requests meet Snowplow's caps: an oversized request line or headers, a huge declared body, a dropped
upload, slow senders (of a head or of a body) and redirects that would leave the site or inject headers. Loopback
only, bounded."""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from snowplow_checks import bad_row_errors
from support import PAYLOAD_DATA, sql, wait_for

from micro_dashboard import collector, request_limits
from micro_dashboard import server as server_module
from micro_dashboard.pipeline.failures import HEAD_LIMITS

pytestmark = pytest.mark.hostile
SIZE_VIOLATION = "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0"
TP2_HEAD = (b"POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\n")
SHORT_BODY_SECONDS = 2.0  # instead of 30 s, so that a test can outlast it


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes to the server and return everything it answers before closing (bounded by `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def everything_received(conn: socket.socket) -> bytes:
    """Return what the server sends until it closes the connection (a reset ends it too)."""
    answer = b""
    try:
        while chunk := conn.recv(65536):
            answer += chunk
    except OSError:  # the server closed with the client's later bytes unread, which resets the connection
        pass
    return answer


def drip_until_cut_off(conns: list[socket.socket], most: int) -> dict[socket.socket, bytes]:
    """Send each connection a byte a second until the server answers or closes it, at most `most` bytes; return
    what each received (connections still open after `most` bytes are left out)."""
    received: dict[socket.socket, bytes] = {}
    for _ in range(most):
        open_ = [conn for conn in conns if conn not in received]
        if not open_:
            break
        for conn in open_:
            try:
                conn.sendall(b"x")
            except OSError:
                received[conn] = b""
        readable, _, _ = select.select([conn for conn in open_ if conn not in received], [], [], 1.0)
        for conn in readable:
            received[conn] = everything_received(conn)
    return received


def status_of(answer: bytes) -> int:
    """Return the status code of a raw HTTP answer."""
    return int(answer.split(b" ", 2)[1])


def the_only_bad_row(url: str) -> dict[str, Any]:
    """Return the bad row of the only stored row, checked against Snowplow's schema."""
    assert requests.get(f"{url}/micro/all", timeout=5).json() == {"total": 1, "good": 0, "bad": 1}
    [bad] = requests.get(f"{url}/micro/bad", timeout=5).json()
    row = json.loads(bad["errors"][1])
    assert bad_row_errors(row, long_values_allowed=True) == []
    return row


def stored_trackers(url: str) -> list[str]:
    """Return the tracker of each stored event, once decoded, after checking that no bad row was stored."""
    assert requests.get(f"{url}/micro/all", timeout=5).json()["bad"] == 0
    return [event["event"]["v_tracker"] for event in requests.get(f"{url}/micro/good", timeout=5).json()]


def test_a_request_line_over_20_kib_is_a_414_and_a_stored_size_violation(live_server):
    target = "/i?e=pv&page=" + "x" * (HEAD_LIMITS["request-line"] + 5000)
    line = f"GET {target} HTTP/1.1\r\n".encode()
    answer = exchange(live_server.port, line + b"Host: localhost\r\nUser-Agent: hostile\r\n\r\n")
    assert status_of(answer) == 414

    row = the_only_bad_row(live_server.url)
    assert row["schema"] == SIZE_VIOLATION
    assert row["data"]["failure"]["actualSizeBytes"] == len(line)
    assert row["data"]["failure"]["maximumAllowedSizeBytes"] == HEAD_LIMITS["request-line"]
    assert row["data"]["payload"].startswith("GET /i?e=pv&page=xxx")
    [stored] = sql(live_server.store, "SELECT path, vendor, version, length(querystring) AS q, length(body) AS b, "
                                      "body_size FROM requests")
    assert (stored["path"], stored["vendor"], stored["version"]) == ("/i", "com.snowplowanalytics.snowplow", "tp1")
    assert stored["q"] <= collector.OVERSIZED_KEPT_BYTES and stored["b"] <= collector.OVERSIZED_KEPT_BYTES
    assert stored["body_size"] == len(line)


def test_headers_over_40_kib_are_a_431_and_a_stored_size_violation(live_server):
    headers = b"".join(f"X-Filler-{i}: {'y' * 1000}\r\n".encode() for i in range(50))
    head = b"POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\nHost: localhost\r\n"
    answer = exchange(live_server.port, head + headers + b"Content-Length: 2\r\n\r\n{}")
    assert status_of(answer) == 431

    row = the_only_bad_row(live_server.url)
    assert row["schema"] == SIZE_VIOLATION
    assert row["data"]["failure"]["maximumAllowedSizeBytes"] == HEAD_LIMITS["headers"]
    # Everything after the request line, up to and including the blank line that ends the headers.
    real = len(head) - len(head.split(b"\r\n")[0]) - 2 + len(headers) + len(b"Content-Length: 2\r\n\r\n")
    assert row["data"]["failure"]["actualSizeBytes"] == real
    [stored] = sql(live_server.store, "SELECT vendor, version, length(body) AS b, body_size FROM requests")
    assert (stored["vendor"], stored["version"]) == ("com.snowplowanalytics.snowplow", "tp2")
    assert stored["b"] <= collector.OVERSIZED_KEPT_BYTES


def test_a_declared_body_of_2_gib_is_refused_without_waiting_for_it(live_server):
    # The body never comes: were the server to read it, no answer would arrive before the client's timeout.
    head = (b"POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n{}")
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as conn:
        conn.sendall(head)
        answer = conn.recv(65536)
    assert status_of(answer) == 413

    row = the_only_bad_row(live_server.url)
    assert row["data"]["failure"]["actualSizeBytes"] == 2**30  # the schema's maximum
    assert "it was 2147483648" in row["data"]["failure"]["expectation"]


def test_an_upload_cut_short_is_dropped_and_counted_not_stored(live_server):
    dropped = collector.DROPPED_UPLOADS[0]
    head = (b"POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as conn:
        conn.sendall(head + b'{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data')
        conn.shutdown(socket.SHUT_WR)  # the client goes away mid-upload
        conn.recv(65536)
    assert wait_for(lambda: collector.DROPPED_UPLOADS[0] > dropped)
    # A request sent afterwards is stored; the dropped one never was (not even as an empty body).
    assert requests.get(f"{live_server.url}/i", params={"e": "pv", "p": "web", "tv": "t"}, timeout=5).ok
    assert stored_trackers(live_server.url) == ["t"]


def test_slow_senders_cannot_take_every_thread(make_live_server, monkeypatch):
    monkeypatch.setattr(server_module, "HEAD_SECONDS", 3.0)  # instead of 10 s: two rounds of cut-offs, not 20 s
    server = make_live_server(threads=20)
    slow = []
    for _ in range(30):  # more slow connections than server threads, each sending its head a byte at a time
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        conn.sendall(b"GET /i?e=pv HTTP/1.1\r\nHost: local")
        slow.append(conn)
    try:
        # The head deadline closes them; until then, the health check may queue, afterwards it answers.
        assert requests.get(f"{server.url}/health", timeout=30).text == "ok"
        closed = 0
        for conn in slow:
            try:
                conn.sendall(b"h")
                closed += conn.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == len(slow)
    finally:
        for conn in slow:
            conn.close()


@pytest.mark.parametrize("target", ["//other.host/", "javascript:alert(1)", "/relative", "https://ok.example/\r\nX: 1",
                                    "ftp://files.example/", "http:///no-host"])
def test_a_redirect_target_that_is_not_an_http_url_is_a_400_and_nothing_is_stored(make_live_server, target):
    server = make_live_server(enable_redirect=True)
    response = requests.get(f"{server.url}/r/tp2", params={"u": target, "e": "pv"}, allow_redirects=False,
                            timeout=5)
    assert response.status_code == 400 and "Location" not in response.headers
    assert sql(server.store, "SELECT id FROM requests") == []


def test_a_redirect_to_any_http_url_is_followed_and_stored_once(make_live_server):
    server = make_live_server(enable_redirect=True)
    response = requests.get(f"{server.url}/r/tp2", params={"u": "https://elsewhere.example/a?b=c", "e": "pv"},
                            allow_redirects=False, timeout=5)
    assert response.status_code == 302 and response.headers["Location"] == "https://elsewhere.example/a?b=c"
    assert len(sql(server.store, "SELECT id FROM requests")) == 1


def test_a_body_dripped_a_byte_a_second_is_cut_off_and_dropped_while_others_are_answered(make_live_server,
                                                                                         monkeypatch):
    monkeypatch.setattr(request_limits, "BODY_SECONDS", SHORT_BODY_SECONDS)
    server = make_live_server(threads=4)
    dropped = collector.DROPPED_UPLOADS[0]
    drippers = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(4)]
    try:
        for conn in drippers[:3]:  # a declared body of 100 bytes, and a chunked one of 100: as many as threads
            conn.sendall(TP2_HEAD + b"Content-Length: 100\r\n\r\n")
        drippers[3].sendall(TP2_HEAD + b"Transfer-Encoding: chunked\r\n\r\n64\r\n")
        with ThreadPoolExecutor(2) as meanwhile:
            health = meanwhile.submit(requests.get, f"{server.url}/health", timeout=15)
            tracker = meanwhile.submit(requests.get, f"{server.url}/i", params={"e": "pv", "p": "web", "tv": "t"},
                                       timeout=15)
            received = drip_until_cut_off(drippers, most=20)  # far fewer bytes than the bodies declare
            assert health.result().text == "ok"
            assert tracker.result().status_code == 200
    finally:
        for conn in drippers:
            conn.close()
    assert len(received) == len(drippers)  # every one was cut off
    # A client still there hears that its upload was dropped (never a 5xx); a reset means it no longer could.
    assert all(answer == b"" or status_of(answer) == 400 for answer in received.values()), received
    assert wait_for(lambda: collector.DROPPED_UPLOADS[0] - dropped == len(drippers))
    assert stored_trackers(server.url) == ["t"]  # the tracker's, sent meanwhile: nothing of the dripped bodies


def test_a_slow_body_finished_in_time_is_stored_and_its_connection_lives_on(make_live_server, monkeypatch):
    monkeypatch.setattr(request_limits, "BODY_SECONDS", SHORT_BODY_SECONDS)
    server = make_live_server()
    body = json.dumps({"schema": PAYLOAD_DATA, "data": [{"e": "pv", "p": "web", "tv": "slow"}]}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/com.snowplowanalytics.snowplow/tp2")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        for start in range(0, len(body), len(body) // 3 + 1):  # in three parts, well within the deadline
            time.sleep(SHORT_BODY_SECONDS / 6)
            conn.send(body[start:start + len(body) // 3 + 1])
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
        # Past the body's deadline: its clock stopped once the body was in, so the connection still serves.
        time.sleep(SHORT_BODY_SECONDS + 1)
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
    finally:
        conn.close()
    assert stored_trackers(server.url) == ["slow"]
