"""Hostile and broken input over real HTTP: answered per protocol (never 5xx), a typed failure, the request kept."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from dashboards import Dashboards, LiveServer, base_settings
from snowplow_checks import IGLU_DIRS, bad_row_errors
from support import PAYLOAD_DATA, sql

TP2 = "/com.snowplowanalytics.snowplow/tp2"
BADROWS = "iglu:com.snowplowanalytics.snowplow.badrows"
WHOLE = "Error while extracting event(s) from collector payload and validating it/them."
ONE = "Error while validating the event."
JSON = "application/json; charset=utf-8"
PV = {"e": "pv", "p": "web", "tv": "js-4.0.0"}
COLLECTOR_PAYLOAD_KEYS = {"vendor", "version", "querystring", "contentType", "body", "collector", "encoding",
                          "hostname", "timestamp", "ipAddress", "useragent", "refererUri", "headers", "networkUserId"}
RAW_EVENT_KEYS = {"vendor", "version", "parameters", "contentType", "loaderName", "encoding", "hostname",
                  "timestamp", "ipAddress", "useragent", "refererUri", "headers", "userId"}


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve one app with the real server for the whole module (stopping a server takes a while)."""
    with Dashboards(base_settings(tmp_path_factory.mktemp("hostile"))) as dashboards:
        yield dashboards.live_server(iglu_dirs=IGLU_DIRS)


@pytest.fixture
def live_server(shared_server: LiveServer) -> LiveServer:
    """Return the module's server, emptied through Micro's reset."""
    assert requests.post(f"{shared_server.url}/micro/reset", timeout=5).ok
    return shared_server


def payload(*items: Any) -> bytes:
    """Return a payload_data body with these items."""
    return json.dumps({"schema": PAYLOAD_DATA, "data": list(items)}).encode()


def get_query(**params: str) -> str:
    """Return a query string with the page view parameters and these."""
    return requests.models.RequestEncodingMixin._encode_params({**PV, **params})


@dataclass
class Case:
    """One broken request and what the collector must make of it."""

    id: str
    method: str
    path: str
    body: bytes | None
    content_type: str | None
    status: int
    kind: str  # the bad row type
    field: str  # the field the failure must name (the Problem's path)
    words: str  # words the plain sentence must contain
    whole: bool = True  # rejected as a whole payload (no raw event) or as one event


LONG = "x" * 1001
CASES = [
    Case("wrong content type", "POST", TP2, payload(PV), "text/plain", 200, "tracker_protocol_violations",
         "contentType", "application/json"),
    Case("form content type", "POST", TP2, b"e=pv&p=web&tv=1", "application/x-www-form-urlencoded", 200,
         "tracker_protocol_violations", "contentType", "application/json"),
    Case("non-JSON body", "POST", TP2, b"{'e': 'pv'", JSON, 200, "tracker_protocol_violations", "body",
         "not JSON"),
    Case("empty POST body", "POST", TP2, b"", JSON, 200, "tracker_protocol_violations", "body", "empty"),
    Case("JSON that is not payload_data", "POST", TP2, b'{"events": [{"e": "pv"}]}', JSON, 200,
         "tracker_protocol_violations", "$.schema", "payload_data"),
    Case("JSON array body", "POST", TP2, b'[{"e": "pv"}]', JSON, 200, "tracker_protocol_violations", "$",
         "JSON object"),
    Case("non-string value", "POST", TP2, payload(PV, {**PV, "vid": 3}), JSON, 200, "tracker_protocol_violations",
         "$.data[1].vid", "must be a string, got number 3"),
    Case("null value", "POST", TP2, payload({**PV, "uid": None}), JSON, 200, "tracker_protocol_violations",
         "$.data[0].uid", "must be a string, got null"),
    Case("unknown key", "POST", TP2, payload({**PV, "user": "u1"}), JSON, 200, "tracker_protocol_violations",
         "$.data[0].user", "unknown field 'user'"),
    Case("missing tv", "POST", TP2, payload({"e": "pv", "p": "web"}), JSON, 200, "tracker_protocol_violations",
         "$.data[0].tv", "missing the required field 'tv'"),
    Case("missing p", "POST", TP2, payload({"e": "pv", "tv": "t"}), JSON, 200, "tracker_protocol_violations",
         "$.data[0].p", "missing the required field 'p'"),
    Case("missing e", "POST", TP2, payload({"p": "web", "tv": "t"}), JSON, 200, "tracker_protocol_violations",
         "$.data[0].e", "missing the required field 'e'"),
    Case("non-UTF-8 body", "POST", TP2, b'{"schema": "\xff\xfe"}', JSON, 200, "tracker_protocol_violations", "body",
         "not UTF-8"),
    Case("bad UUID eid", "POST", TP2, payload({**PV, "eid": "1234"}), JSON, 200, "schema_violations", "eid",
         "not a valid UUID", whole=False),
    Case("bad dtm", "GET", "/i?" + get_query(dtm="2026-11-22T05:01:01Z"), None, None, 200, "schema_violations",
         "dtm", "not a timestamp", whole=False),
    Case("invalid base64 cx", "GET", "/i?" + get_query(cx="%%%not*base64"), None, None, 200, "schema_violations",
         "cx", "base64", whole=False),
    Case("empty cx", "GET", "/i?" + get_query(cx=""), None, None, 200, "schema_violations", "cx", "empty",
         whole=False),
    Case("ue without ue_pr", "POST", TP2, payload({**PV, "e": "ue"}), JSON, 200, "schema_violations", "ue_pr",
         "ue_pr or ue_px", whole=False),
    Case("bad se_va", "GET", "/i?" + get_query(e="se", se_ca="c", se_ac="a", se_va="ten"), None, None, 200,
         "schema_violations", "se_va", 'se_value "ten" is not a number', whole=False),
    Case("too-long se_property", "POST", TP2, payload({**PV, "e": "se", "se_ca": "c", "se_ac": "a", "se_pr": LONG}),
         JSON, 200, "schema_violations", "se_pr", "too long (1001 characters, at most 1000)", whole=False),
    Case("non-UTF-8 percent-encoded query", "GET", "/i?e=pv&p=web&tv=t&page=%FF%FE", None, None, 200,
         "collector_payload_format_violation", "path", "not valid UTF-8"),
    Case("empty GET", "GET", "/i", None, None, 200, "adapter_failures", "querystring", "empty querystring"),
    Case("unknown vendor", "POST", "/com.acme.unknown/v3", b'{"a": 1}', JSON, 200, "adapter_failures",
         "vendor/version", "com.acme.unknown/v3 is not supported"),
    Case("3 MiB body", "POST", TP2, b"[" + b" " * (3 * 1024 * 1024) + b"]", JSON, 413, "size_violation", "body",
         "at most 2097152 bytes"),
]


def send(base: str, case: Case, headers: dict[str, str] | None = None) -> requests.Response:
    """Send a case's request as is."""
    headers = dict(headers or {})
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return requests.request(case.method, base + case.path, data=case.body, headers=headers, timeout=30)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input_is_answered_per_protocol_and_kept_as_a_typed_failure(live_server, case):
    response = send(live_server.url, case, {"Origin": "http://localhost:3000"})
    assert response.status_code == case.status, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"

    assert requests.get(f"{live_server.url}/micro/all", timeout=5).json() == {"total": 1, "good": 0, "bad": 1}
    [bad] = requests.get(f"{live_server.url}/micro/bad", timeout=5).json()
    summary, bad_row_text = bad["errors"]
    assert summary == (WHOLE if case.whole else ONE)
    assert (bad["rawEvent"] is None) == case.whole
    vendor = "com.snowplowanalytics.snowplow" if case.path.startswith("/i") else case.path.split("/")[1]
    assert bad["collectorPayload"]["api"]["vendor"] == vendor

    bad_row = json.loads(bad_row_text)
    assert bad_row["schema"].startswith(f"{BADROWS}/{case.kind}/jsonschema/")
    assert bad_row_errors(bad_row, long_values_allowed=True) == []
    assert bad_row["data"]["processor"] == {"artifact": "micro-dashboard", "version": "0.1.0"}
    assert_payload_shape(case.kind, bad_row["data"]["payload"])

    [row] = sql(live_server.store, "SELECT problems FROM events")
    problems = json.loads(row["problems"])
    assert any(p["type"] == case.kind and p["path"] == case.field and case.words in p["message"]
               for p in problems), problems

    [stored] = sql(live_server.store, "SELECT method, path, CAST(unpack(querystring) AS TEXT) AS querystring, "
                   "unpack(body) AS body, body_size FROM requests")
    assert stored["method"] == case.method
    assert stored["querystring"] == case.path.partition("?")[2]
    if case.status == 200 and case.body is not None:
        assert bytes(stored["body"]) == case.body
    if case.status == 413:
        assert stored["body_size"] == len(case.body)


def assert_payload_shape(kind: str, payload: Any) -> None:
    """Check a bad row's payload has the shape protocol.md section 8 gives for its type."""
    if kind in ("adapter_failures", "tracker_protocol_violations"):
        assert set(payload) == COLLECTOR_PAYLOAD_KEYS
        assert all(set(q) == {"name", "value"} for q in payload["querystring"])
        assert all(isinstance(h, str) and ": " in h for h in payload["headers"])
    elif kind in ("schema_violations", "enrichment_failures"):
        assert set(payload) == {"enriched", "raw"}
        assert set(payload["raw"]) == RAW_EVENT_KEYS
        assert isinstance(payload["raw"]["parameters"], list)
        assert all(set(p) == {"name", "value"} for p in payload["raw"]["parameters"])
    else:
        assert isinstance(payload, str)


def test_a_bad_event_in_a_batch_leaves_the_others_good(live_server):
    body = payload(PV, {**PV, "eid": "nope"}, {**PV, "e": "se", "se_ca": "c", "se_ac": "a"})
    response = requests.post(live_server.url + TP2, data=body, headers={"Content-Type": JSON}, timeout=10)
    assert response.status_code == 200
    assert requests.get(f"{live_server.url}/micro/all", timeout=5).json() == {"total": 3, "good": 2, "bad": 1}
    [bad] = requests.get(f"{live_server.url}/micro/bad", timeout=5).json()
    assert bad["rawEvent"]["parameters"]["eid"] == "nope"
    assert bad["errors"][0] == ONE


def test_a_whole_batch_is_rejected_for_one_bad_item(live_server):
    body = payload(PV, PV, {**PV, "res": 1920})
    assert requests.post(live_server.url + TP2, data=body, headers={"Content-Type": JSON}, timeout=10).ok
    assert requests.get(f"{live_server.url}/micro/all", timeout=5).json() == {"total": 1, "good": 0, "bad": 1}
    [bad] = requests.get(f"{live_server.url}/micro/bad", timeout=5).json()
    assert bad["rawEvent"] is None and bad["errors"][0] == WHOLE
    assert bad["collectorPayload"]["body"] == body.decode()


def test_non_utf8_body_is_kept_as_base64_in_the_collector_payload(live_server):
    body = b'{"data": "\xff"}'
    requests.post(live_server.url + TP2, data=body, headers={"Content-Type": JSON}, timeout=10)
    [bad] = requests.get(f"{live_server.url}/micro/bad", timeout=5).json()
    assert bad["collectorPayload"]["body"] == "base64:" + base64.b64encode(body).decode()


def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes to the server and return everything it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_raw_non_ascii_bytes_in_the_request_line_get_400_not_5xx(live_server):
    answer = raw_request(live_server.port, b"GET /i?e=pv&p=web&tv=t&page=\xff\xfe HTTP/1.1\r\nHost: x\r\n"
                                           b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert requests.get(f"{live_server.url}/health", timeout=5).text == "ok"


def test_garbage_instead_of_http_gets_400_and_the_server_keeps_serving(live_server):
    answer = raw_request(live_server.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")
    assert requests.get(f"{live_server.url}/health", timeout=5).text == "ok"


def test_chunked_post_without_content_length_is_read_and_judged(live_server):
    answer = raw_request(live_server.port, b"POST " + TP2.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                         b"5\r\nhello\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nok")
    [bad] = requests.get(f"{live_server.url}/micro/bad", timeout=5).json()
    assert bad["collectorPayload"]["body"] == "hello"
