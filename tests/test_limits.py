"""Hostile requests meet Snowplow's caps: an oversized request line or headers, a huge declared body, a dropped
upload, slow senders and redirects that would leave the site or inject headers. Loopback only, bounded."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests
from snowplow_checks import bad_row_errors
from support import sql, wait_for

from micro_dashboard import collector
from micro_dashboard.pipeline.failures import HEAD_LIMITS

pytestmark = pytest.mark.hostile
SIZE_VIOLATION = "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0"


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes to the server and return everything it answers before closing (bounded by `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


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
    assert [r["querystring"] for r in sql(live_server.store, "SELECT querystring FROM requests")] == \
        ["e=pv&p=web&tv=t"]


def test_slow_senders_cannot_take_every_thread(make_live_server):
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
