"""The collector's HTTP answers, byte for byte as protocol.md sections 1-3 say, and what each request records."""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from snowplow_checks import IGLU_DIRS, bad_row_errors
from support import LINK_CLICK, PAYLOAD_DATA, sql

PIXEL_B64 = "R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw=="
PIXEL = base64.b64decode(PIXEL_B64)
NO_CACHE = "no-cache, no-store, must-revalidate"
TP2 = "/com.snowplowanalytics.snowplow/tp2"
ZERO_NUID = "00000000-0000-0000-0000-000000000000"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PV = {"e": "pv", "p": "web", "tv": "js-4.0.0", "url": "http://localhost:3000/"}
ORIGIN = "http://localhost:3000"


def tp2_body(*items: dict[str, str]) -> str:
    """Return a payload_data body with these events."""
    return json.dumps({"schema": PAYLOAD_DATA, "data": list(items)})


def good_events(client) -> list[dict[str, Any]]:
    """Return /micro/good."""
    return client.get("/micro/good").get_json()


def bad_events(client) -> list[dict[str, Any]]:
    """Return /micro/bad."""
    return client.get("/micro/bad").get_json()


def only_bad_row(client) -> dict[str, Any]:
    """Return the bad row of the only bad event, checked against its Snowplow schema."""
    [bad] = bad_events(client)
    assert len(bad["errors"]) == 2
    row = json.loads(bad["errors"][1])
    assert bad_row_errors(row) == []
    return row


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Return test settings: a temporary database and Iglu schemas from disk only."""
    return {"db": str(tmp_path / "events.db"), "iglu_defaults": False, "iglu_dirs": IGLU_DIRS}


@pytest.fixture
def make_client(make_app: Callable[..., Any]) -> Callable[..., Any]:
    """Return a factory of test clients for apps with extra settings."""
    return lambda **settings: make_app(**settings).test_client()


# -- answers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/i", "/ice.png", TP2])
def test_get_answers_the_43_byte_gif_without_caching(client, path):
    response = client.get(f"{path}?{urlencode(PV)}")
    assert response.status_code == 200
    assert response.data == PIXEL and len(response.data) == 43
    assert base64.b64encode(response.data).decode() == PIXEL_B64
    assert response.headers["Content-Type"] == "image/gif"
    assert response.headers["Cache-Control"] == NO_CACHE
    assert good_events(client)[0]["event"]["event"] == "page_view"


def test_head_answers_the_pixel_headers_and_records_the_event(client):
    response = client.head(f"/i?{urlencode(PV)}")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/gif"
    assert good_events(client)[0]["rawEvent"]["api"] == {"vendor": "com.snowplowanalytics.snowplow", "version": "tp1"}


def test_post_answers_ok_as_plain_text(client):
    response = client.post(TP2, data=tp2_body(PV), content_type="application/json; charset=utf-8")
    assert response.status_code == 200 and response.data == b"ok"
    assert response.mimetype == "text/plain"
    assert good_events(client)[0]["rawEvent"]["api"] == {"vendor": "com.snowplowanalytics.snowplow", "version": "tp2"}


def test_real_server_sends_the_gif_byte_exact_with_its_length(live_server):
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    conn.request("GET", f"/i?{urlencode(PV)}")
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 200 and body == PIXEL
    assert response.getheader("Content-Length") == "43"
    assert response.getheader("Content-Type") == "image/gif"
    assert response.getheader("Cache-Control") == NO_CACHE


def test_health_answers_ok(client):
    response = client.get("/health")
    assert (response.status_code, response.data, response.mimetype) == (200, b"ok", "text/plain")


# -- CORS -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cors_echoes_the_origin_with_credentials(client, method):
    if method == "GET":
        response = client.get(f"/i?{urlencode(PV)}", headers={"Origin": ORIGIN})
    else:
        response = client.post(TP2, data=tp2_body(PV), content_type="application/json", headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_cors_without_an_origin_allows_any(client):
    response = client.get(f"/i?{urlencode(PV)}")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("path", [TP2, "/i", "/com.acme/track"])
def test_preflight_allows_content_type_and_sp_anonymous_for_an_hour(client, path):
    response = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type,sp-anonymous"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, SP-Anonymous"
    assert response.headers["Access-Control-Max-Age"] == "3600"
    assert client.get("/micro/all").get_json()["total"] == 0


# -- network user id: the sp cookie, nuid and SP-Anonymous ----------------------------------------------------


def sp_cookie(response) -> str:
    """Return the one Set-Cookie header of a response, checking it is the sp cookie."""
    [header] = response.headers.getlist("Set-Cookie")
    assert header.startswith("sp=")
    return header


def test_first_request_gets_a_fresh_sp_cookie_for_a_year_samesite_lax_not_secure(client):
    header = sp_cookie(client.get(f"/i?{urlencode(PV)}"))
    value = header.split(";")[0][len("sp="):]
    assert UUID.match(value)
    attributes = [a.strip() for a in header.split(";")[1:]]
    assert "Max-Age=31536000" in attributes and "Path=/" in attributes and "SameSite=Lax" in attributes
    assert "Secure" not in attributes
    assert any(a.startswith("Expires=") for a in attributes)
    event = good_events(client)[0]
    assert event["event"]["network_userid"] == value and event["rawEvent"]["context"]["userId"] == value


def test_sp_cookie_sent_back_is_the_network_user_id_and_is_renewed(client):
    client.set_cookie("sp", "11111111-2222-4333-8444-555555555555")
    header = sp_cookie(client.post(TP2, data=tp2_body(PV), content_type="application/json"))
    assert header.startswith("sp=11111111-2222-4333-8444-555555555555;")
    assert good_events(client)[0]["event"]["network_userid"] == "11111111-2222-4333-8444-555555555555"


def test_nuid_parameter_wins_over_the_cookie(client):
    client.set_cookie("sp", "11111111-2222-4333-8444-555555555555")
    header = sp_cookie(client.get(f"/i?{urlencode({**PV, 'nuid': 'aaaaaaaa-0000-4000-8000-000000000000'})}"))
    assert header.startswith("sp=aaaaaaaa-0000-4000-8000-000000000000;")
    assert good_events(client)[0]["event"]["network_userid"] == "aaaaaaaa-0000-4000-8000-000000000000"


def test_sp_anonymous_zeroes_the_user_id_hides_the_ip_drops_headers_and_sets_no_cookie(client):
    client.set_cookie("sp", "11111111-2222-4333-8444-555555555555")
    response = client.post(TP2, data=tp2_body(PV), content_type="application/json",
                           headers={"SP-Anonymous": "*", "X-Forwarded-For": "198.51.100.7",
                                    "X-Real-Ip": "198.51.100.8"})
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    event = good_events(client)[0]
    assert event["event"]["network_userid"] == ZERO_NUID
    assert event["event"]["user_ipaddress"] == "unknown"
    context = event["rawEvent"]["context"]
    assert context["userId"] == ZERO_NUID and context["ipAddress"] == "unknown"
    names = {h.split(":")[0].lower() for h in context["headers"]}
    assert {"x-forwarded-for", "x-real-ip", "cookie"}.isdisjoint(names)
    assert "sp-anonymous" in names


def test_tnuid_from_the_tracker_overrides_the_cookie_in_the_event(client):
    client.set_cookie("sp", "11111111-2222-4333-8444-555555555555")
    client.get(f"/i?{urlencode({**PV, 'tnuid': 'tracker-set-id'})}")
    assert good_events(client)[0]["event"]["network_userid"] == "tracker-set-id"


# -- IP -------------------------------------------------------------------------------------------------------


def test_first_x_forwarded_for_entry_is_the_ip(client):
    client.get(f"/i?{urlencode(PV)}", headers={"X-Forwarded-For": "198.51.100.7, 10.0.0.1"})
    event = good_events(client)[0]
    assert event["event"]["user_ipaddress"] == "198.51.100.7"
    assert event["rawEvent"]["context"]["ipAddress"] == "198.51.100.7"


def test_peer_address_is_the_ip_without_x_forwarded_for(live_server):
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    conn.request("GET", f"/i?{urlencode(PV)}", headers={"User-Agent": "collector-test/1.0"})
    conn.getresponse().read()
    conn.request("GET", "/micro/good")
    [event] = json.loads(conn.getresponse().read())
    conn.close()
    assert event["event"]["user_ipaddress"] == "127.0.0.1"
    assert event["event"]["useragent"] == "collector-test/1.0"
    assert f"Host: 127.0.0.1:{live_server.port}" in event["rawEvent"]["context"]["headers"]
    assert event["rawEvent"]["source"]["hostname"] == "127.0.0.1"


# -- paths ----------------------------------------------------------------------------------------------------


def test_path_alias_maps_onto_tp2(make_client):
    client = make_client(path_aliases={"/com.acme/track": TP2})
    response = client.post("/com.acme/track", data=tp2_body(PV), content_type="application/json")
    assert response.status_code == 200 and response.data == b"ok"
    [event] = good_events(client)
    assert event["rawEvent"]["api"] == {"vendor": "com.snowplowanalytics.snowplow", "version": "tp2"}


def test_path_alias_for_get_answers_the_pixel(make_client):
    client = make_client(path_aliases={"/com.acme/pixel": TP2})
    response = client.get(f"/com.acme/pixel?{urlencode(PV)}")
    assert response.data == PIXEL and len(good_events(client)) == 1


def test_redirect_path_is_404_when_disabled(client):
    response = client.get("/r/tp2?u=https%3A%2F%2Fexample.test%2F")
    assert response.status_code == 404 and response.data == b"redirects disabled"
    assert response.headers.get("Location") is None


def test_redirect_path_when_enabled_answers_302_to_u_and_records_the_click(make_client):
    client = make_client(enable_redirect=True)
    response = client.get(f"/r/tp2?{urlencode({**PV, 'u': 'https://example.test/landing?x=1'})}")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.test/landing?x=1"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    header = sp_cookie(response)
    assert client.get("/micro/all").get_json()["total"] == 1
    assert header.startswith(f"sp={good_events(client)[0]['event']['network_userid']};")


def test_unknown_vendor_is_answered_200_and_recorded_as_an_adapter_failure(client):
    response = client.post("/com.acme/v1", data='{"hello": "world"}', content_type="application/json")
    assert response.status_code == 200 and response.data == b"ok"
    row = only_bad_row(client)
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/adapter_failures/jsonschema/1-0-0"
    assert row["data"]["failure"]["vendor"] == "com.acme" and row["data"]["failure"]["version"] == "v1"
    assert row["data"]["payload"]["body"] == '{"hello": "world"}'


def test_unknown_vendor_get_answers_the_pixel(client):
    response = client.get("/com.acme/v2?a=1")
    assert response.status_code == 200 and response.data == PIXEL
    assert client.get("/micro/all").get_json() == {"total": 1, "good": 0, "bad": 1}


# -- Iglu webhook ---------------------------------------------------------------------------------------------


CHECKOUT = "iglu:com.acme/checkout/jsonschema/1-0-0"


@pytest.mark.needs_iglu_central
def test_iglu_webhook_get_records_a_self_describing_event(client):
    query = urlencode({"schema": LINK_CLICK, "targetUrl": "https://example.test/", "elementId": "buy"})
    response = client.get(f"/com.snowplowanalytics.iglu/v1?{query}")
    assert response.status_code == 200 and response.data == PIXEL
    [event] = good_events(client)
    assert event["eventType"] == "unstruct" and event["schema"] == LINK_CLICK
    assert event["event"]["unstruct_event"]["data"] == {
        "schema": LINK_CLICK, "data": {"targetUrl": "https://example.test/", "elementId": "buy"}}
    assert event["rawEvent"]["api"] == {"vendor": "com.snowplowanalytics.iglu", "version": "v1"}


def test_iglu_webhook_post_records_a_self_describing_event(client):
    body = {"schema": CHECKOUT, "data": {"orderId": "o-1", "items": [{"sku": "a", "price": 2.5}]}}
    response = client.post("/com.snowplowanalytics.iglu/v1", json=body)
    assert response.status_code == 200 and response.data == b"ok"
    [event] = good_events(client)
    assert event["schema"] == CHECKOUT
    assert event["event"]["unstruct_event"]["data"]["data"] == {"orderId": "o-1", "items": [{"sku": "a", "price": 2.5}]}


def test_iglu_webhook_event_that_breaks_its_schema_is_a_bad_event(client):
    client.post("/com.snowplowanalytics.iglu/v1", json={"schema": CHECKOUT, "data": {"orderId": "o-1"}})
    row = only_bad_row(client)
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1"
    assert row["data"]["failure"]["messages"][0]["schemaKey"] == CHECKOUT


# -- size -----------------------------------------------------------------------------------------------------


def test_body_over_2_mib_gets_413_and_a_stored_size_violation(client, app):
    body = b"x" * (2 * 1024 * 1024 + 1)
    response = client.post(TP2, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    row = only_bad_row(client)
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0"
    assert row["data"]["failure"]["actualSizeBytes"] == len(body)
    assert row["data"]["failure"]["maximumAllowedSizeBytes"] == 2 * 1024 * 1024
    [stored] = sql(app.config["STORE"], "SELECT method, path, body_size FROM requests")
    assert (stored["method"], stored["path"], stored["body_size"]) == ("POST", TP2, len(body))


def test_body_of_exactly_2_mib_is_accepted(client):
    item = {**PV, "page": ""}
    overhead = len(tp2_body(item))
    item["page"] = "p" * (2 * 1024 * 1024 - overhead)
    body = tp2_body(item)
    assert len(body) == 2 * 1024 * 1024
    response = client.post(TP2, data=body, content_type="application/json")
    assert response.status_code == 200
    assert client.get("/micro/all").get_json()["total"] == 1


# -- the lean path ----------------------------------------------------------------------------------------------

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0", "Origin": ORIGIN,
           "Cookie": "_ga=1; sp=11111111-2222-4333-8444-555555555555", "Referer": f"{ORIGIN}/shop"}
LEAN_CASES = [  # method, path, body, headers, and whether the answer sets a fresh network user id
    ("GET", f"/i?{urlencode(PV)}", None, BROWSER, False),
    ("GET", f"/ice.png?{urlencode({**PV, 'nuid': 'aaaaaaaa-0000-4000-8000-000000000000'})}", None, {}, False),
    ("GET", f"/i?%6Euid=bbbbbbbb-0000-4000-8000-000000000000&{urlencode(PV)}", None, BROWSER, False),  # encoded key
    ("GET", f"/i?{urlencode(PV)}", None, {**BROWSER, "SP-Anonymous": "*", "X-Forwarded-For": "203.0.113.9"}, False),
    ("GET", "/i", None, {"X-Forwarded-For": "203.0.113.9, 10.0.0.1", "Cookie": "sp="}, True),
    ("POST", TP2, tp2_body(PV).encode(), {**BROWSER, "Content-Type": "application/json; charset=UTF-8"}, False),
    ("POST", TP2, b"", {"Cookie": "sp=cccccccc-0000-4000-8000-000000000000"}, False),
    ("POST", TP2, b"x" * (2 * 1024 * 1024 + 1), {"Content-Type": "application/json"}, True),
]


def comparable(headers: list[tuple[str, str]], fresh: bool) -> list[tuple[str, str]]:
    """Drop a Set-Cookie's Expires date (the two answers may be a second apart) and a fresh id."""
    headers = [(k, re.sub(r"Expires=[^;]+; ", "", v)) for k, v in headers]
    return [(k, re.sub(r"^sp=[0-9a-f-]{36};", "sp=fresh;", v)) if fresh else (k, v) for k, v in headers]


@pytest.mark.parametrize("case", LEAN_CASES, ids=lambda case: f"{case[0]} {case[1][:40]}")
def test_the_lean_path_answers_and_stores_exactly_as_the_flask_routes(app, case):
    from werkzeug.test import Client

    method, path, body, headers, fresh = case
    flask_calls = []
    flask_wsgi_app = app.wsgi_app.flask_wsgi_app
    app.wsgi_app.flask_wsgi_app = lambda environ, start: flask_calls.append(environ) or flask_wsgi_app(environ, start)
    lean, routes = Client(app, use_cookies=False), Client(flask_wsgi_app, use_cookies=False)
    first = lean.open(path, method=method, data=body, headers=headers)
    assert flask_calls == []  # answered by the lean path itself
    second = routes.open(path, method=method, data=body, headers=headers)
    assert (first.status, first.data) == (second.status, second.data)
    assert comparable(first.headers.to_wsgi_list(), fresh) == comparable(second.headers.to_wsgi_list(), fresh)
    columns = ("method, path, vendor, version, querystring, body, body_size, content_type, headers, ip, useragent, "
               "referer, hostname" + ("" if fresh else ", network_userid"))
    stored = [tuple(row) for row in sql(app.config["STORE"], f"SELECT {columns} FROM requests ORDER BY id")]
    assert len(stored) == 2 and stored[0] == stored[1]


def test_the_lean_path_leaves_preflights_head_and_other_paths_to_flask(app):
    from werkzeug.test import Client

    lean = Client(app)
    assert lean.options("/i", headers={"Origin": ORIGIN}).headers["Access-Control-Max-Age"] == "3600"
    assert lean.head(f"/i?{urlencode(PV)}").headers["Content-Type"] == "image/gif"
    assert lean.get(f"{TP2}?{urlencode(PV)}").data == PIXEL  # tp2 over GET: Flask's route, the pixel
    assert lean.get("/api/events").status_code == 200
    assert len(sql(app.config["STORE"], "SELECT id FROM requests")) == 2
