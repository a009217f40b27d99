"""Snowplow Micro's classic API, field by field against micro-api.md."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft4Validator
from snowplow_checks import IGLU_DIRS, bad_row_errors
from support import CONTEXTS, IGLU_CENTRAL, LINK_CLICK, PAYLOAD_DATA, UNSTRUCT, WEB_PAGE

from micro_dashboard import __version__
from micro_dashboard.pipeline.fields import FIELDS

pytestmark = pytest.mark.needs_iglu_central

SNOWPLOW = "com.snowplowanalytics.snowplow"
TP2 = f"/{SNOWPLOW}/tp2"
CHECKOUT = "iglu:com.acme/checkout/jsonschema/1-0-0"
PAGE_VIEW_SCHEMA = f"iglu:{SNOWPLOW}/page_view/jsonschema/1-0-0"
STRUCT_SCHEMA = "iglu:com.google.analytics/event/jsonschema/1-0-0"
FAILURE = f"iglu:{SNOWPLOW}/failure/jsonschema/1-0-0"
WHOLE = "Error while extracting event(s) from collector payload and validating it/them."
ONE = "Error while validating the event."
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
JSON = "application/json; charset=utf-8"
WEB_PAGE_ENTITY = {"schema": WEB_PAGE, "data": {"id": "0b8e4c7e-2f1c-4a52-9a4e-1f0d0e6b2c3a"}}
CHECKOUT_ENTITY = {"schema": CHECKOUT, "data": {"orderId": "o-1", "items": [{"sku": "a"}]}}


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Return test settings: a temporary database and Iglu schemas from disk only."""
    return {"db": str(tmp_path / "events.db"), "iglu_defaults": False, "iglu_dirs": IGLU_DIRS}


def co(*entities: dict[str, Any]) -> str:
    """Return a plain contexts parameter."""
    return json.dumps({"schema": CONTEXTS, "data": list(entities)})


def ue(schema: str, data: dict[str, Any]) -> str:
    """Return a plain self-describing event parameter."""
    return json.dumps({"schema": UNSTRUCT, "data": {"schema": schema, "data": data}})


def post(client, *items: dict[str, str]):
    """POST a tp2 batch."""
    response = client.post(TP2, data=json.dumps({"schema": PAYLOAD_DATA, "data": list(items)}), content_type=JSON)
    assert response.status_code == 200
    return response


def good(client, body: Any = None) -> list[dict[str, Any]]:
    """Return /micro/good, filtered by a POST body when one is given."""
    response = client.get("/micro/good") if body is None else client.post("/micro/good", json=body)
    assert response.status_code == 200, response.data
    return response.get_json()


PV = {"e": "pv", "p": "web", "tv": "js-4.0.0", "eid": "8c7d0c4b-3f4e-4a7e-9d3b-2a1b0c9d8e7f",
      "dtm": "1763787600000", "stm": "1763787601000", "url": "http://localhost:3000/shop?x=1", "page": "Shop",
      "aid": "shop", "res": "1920x1080", "cookie": "1", "co": co(WEB_PAGE_ENTITY)}


@pytest.fixture
def seeded(client):
    """Send a page view, a struct event, a link click with two contexts and a checkout over GET, in that order."""
    post(client, PV)
    post(client, {"e": "se", "p": "web", "tv": "py-1.1.0", "se_ca": "shop", "se_ac": "add", "se_va": "2.5"})
    post(client, {"e": "ue", "p": "web", "tv": "js-4.0.0", "ue_pr": ue(LINK_CLICK, {"targetUrl": "https://a.test/"}),
                  "co": co(WEB_PAGE_ENTITY, CHECKOUT_ENTITY)})
    client.get("/i?" + urlencode({"e": "ue", "p": "web", "tv": "js-4.0.0",
                                  "ue_px": base64.urlsafe_b64encode(ue(CHECKOUT, CHECKOUT_ENTITY["data"]).encode())
                                  .decode().rstrip("=")}))
    return client


# -- /micro/all -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_all_counts_good_and_bad_and_total_is_their_sum(client, method):
    post(client, PV)
    post(client, {**PV, "eid": "bad-uuid"})
    client.get("/i")
    response = client.open("/micro/all", method=method)
    assert response.get_json() == {"total": 3, "good": 1, "bad": 2}
    assert list(response.get_json()) == ["total", "good", "bad"]


# -- good events ----------------------------------------------------------------------------------------------


def test_good_event_has_exactly_micros_keys_in_order(client):
    post(client, PV)
    [event] = good(client)
    assert list(event) == ["rawEvent", "eventType", "schema", "contexts", "event", "incomplete"]
    assert event["incomplete"] is False


def test_raw_event_has_the_api_every_parameter_as_a_string_and_the_source(client):
    post(client, PV)
    [event] = good(client)
    raw = event["rawEvent"]
    assert list(raw) == ["api", "parameters", "contentType", "source", "context"]
    assert raw["api"] == {"vendor": SNOWPLOW, "version": "tp2"}
    assert raw["parameters"] == PV
    assert all(isinstance(v, str) for v in raw["parameters"].values())
    assert raw["contentType"] == JSON
    assert raw["source"] == {"name": f"micro-dashboard-{__version__}", "encoding": "UTF-8", "hostname": "localhost"}


def test_raw_event_context_says_when_and_from_whom(client):
    client.set_cookie("sp", "11111111-2222-4333-8444-555555555555")
    client.post(TP2, data=json.dumps({"schema": PAYLOAD_DATA, "data": [PV]}), content_type=JSON,
                headers={"User-Agent": "Browser/1.0", "Referer": "http://localhost:3000/shop",
                         "X-Forwarded-For": "198.51.100.7"})
    context = good(client)[0]["rawEvent"]["context"]
    assert list(context) == ["timestamp", "ipAddress", "useragent", "refererUri", "headers", "userId"]
    assert ISO.match(context["timestamp"])
    assert context["ipAddress"] == "198.51.100.7" and context["useragent"] == "Browser/1.0"
    assert context["refererUri"] == "http://localhost:3000/shop"
    assert "User-Agent: Browser/1.0" in context["headers"] and "X-Forwarded-For: 198.51.100.7" in context["headers"]
    assert all(re.match(r"^[A-Za-z0-9-]+: ", h) for h in context["headers"])
    assert context["userId"] == "11111111-2222-4333-8444-555555555555"


def test_get_event_has_no_content_type_and_tp1_api(client):
    client.get("/i?" + urlencode({k: v for k, v in PV.items()}))
    raw = good(client)[0]["rawEvent"]
    assert raw["contentType"] is None and raw["api"] == {"vendor": SNOWPLOW, "version": "tp1"}
    assert raw["context"]["refererUri"] is None


def test_event_type_is_the_enriched_name_and_schema_is_filled_for_every_event(seeded):
    events = good(seeded)
    assert [(e["eventType"], e["schema"]) for e in events] == [
        ("unstruct", CHECKOUT), ("unstruct", LINK_CLICK), ("struct", STRUCT_SCHEMA), ("page_view", PAGE_VIEW_SCHEMA)]


def test_contexts_lists_the_entity_uris(seeded):
    events = good(seeded)
    assert [e["contexts"] for e in events] == [[], [WEB_PAGE, CHECKOUT], [], [WEB_PAGE]]


def test_event_has_all_131_fields_in_order_with_nulls_and_typed_values(client):
    post(client, PV)
    event = good(client)[0]["event"]
    assert list(event) == list(FIELDS) and len(event) == 131
    assert event["app_id"] == "shop" and event["platform"] == "web" and event["event"] == "page_view"
    assert event["event_id"] == PV["eid"] and event["page_title"] == "Shop"
    assert event["dvce_created_tstamp"] == "2025-11-22T05:00:00Z"
    assert event["dvce_sent_tstamp"] == "2025-11-22T05:00:01Z"
    assert ISO.match(event["collector_tstamp"]) and ISO.match(event["etl_tstamp"])
    assert ISO.match(event["derived_tstamp"])
    assert event["dvce_screenwidth"] == 1920 and event["br_cookies"] is True
    assert event["page_urlhost"] == "localhost" and event["page_urlport"] == 3000 and event["page_urlquery"] == "x=1"
    assert event["contexts"] == {"schema": CONTEXTS, "data": [WEB_PAGE_ENTITY]}
    assert event["unstruct_event"] is None and event["derived_contexts"] == {}
    assert event["se_value"] is None and event["geo_country"] is None
    assert (event["event_vendor"], event["event_name"], event["event_format"], event["event_version"]) == (
        SNOWPLOW, "page_view", "jsonschema", "1-0-0")
    assert event["v_collector"] == f"micro-dashboard-{__version__}"


def test_event_keeps_structured_values_and_the_unstruct_wrapper(seeded):
    checkout, click, struct, _pv = (e["event"] for e in good(seeded))
    assert struct["se_category"] == "shop" and struct["se_action"] == "add" and struct["se_value"] == 2.5
    assert struct["contexts"] == {}
    assert click["unstruct_event"] == {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK,
                                                                   "data": {"targetUrl": "https://a.test/"}}}
    assert click["contexts"]["data"] == [WEB_PAGE_ENTITY, CHECKOUT_ENTITY]
    assert checkout["unstruct_event"]["data"] == CHECKOUT_ENTITY


def test_good_events_are_newest_first(seeded):
    assert [e["eventType"] for e in good(seeded)] == ["unstruct", "unstruct", "struct", "page_view"]


# -- POST /micro/good filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    ({}, ["unstruct", "unstruct", "struct", "page_view"]),
    ({"event_type": "page_view"}, ["page_view"]),
    ({"event_type": "unstruct"}, ["unstruct", "unstruct"]),
    ({"event_type": "pv"}, []),
    ({"schema": LINK_CLICK}, ["unstruct"]),
    ({"schema": PAGE_VIEW_SCHEMA}, ["page_view"]),
    ({"schema": "com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"}, []),
    ({"contexts": [WEB_PAGE]}, ["unstruct", "page_view"]),
    ({"contexts": [WEB_PAGE, CHECKOUT]}, ["unstruct"]),
    ({"contexts": [CHECKOUT, "iglu:com.acme/missing/jsonschema/1-0-0"]}, []),
    ({"contexts": []}, ["unstruct", "unstruct", "struct", "page_view"]),
    ({"limit": 2}, ["unstruct", "unstruct"]),
    ({"limit": 0}, []),
    ({"event_type": "unstruct", "contexts": [WEB_PAGE], "limit": 5}, ["unstruct"]),
    ({"event_type": "page_view", "colour": "blue"}, ["page_view"]),
])
def test_post_good_filters_by_event_type_schema_contexts_and_limit(seeded, body, expected):
    assert [e["eventType"] for e in good(seeded, body)] == expected


def test_limit_keeps_the_most_recent_matches(seeded):
    [latest] = good(seeded, {"event_type": "unstruct", "limit": 1})
    assert latest["schema"] == CHECKOUT


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"page_view"'])
def test_post_good_with_a_body_that_is_not_a_json_object_is_400(client, data):
    response = client.post("/micro/good", data=data, content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


@pytest.mark.parametrize(("body", "field"), [
    ({"limit": "ten"}, "limit"), ({"limit": -1}, "limit"), ({"limit": True}, "limit"),
    ({"event_type": 5}, "event_type"), ({"schema": ["x"]}, "schema"),
    ({"contexts": WEB_PAGE}, "contexts"), ({"contexts": [1]}, "contexts"),
])
def test_post_good_with_a_wrongly_typed_filter_is_422_naming_it(client, body, field):
    response = client.post("/micro/good", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"].startswith(field)


# -- bad events -----------------------------------------------------------------------------------------------


def test_bad_event_from_a_rejected_payload_has_no_raw_event_and_the_payload_summary(client):
    body = json.dumps({"schema": PAYLOAD_DATA, "data": [{**PV, "se_va": 1}]})
    client.post(TP2, data=body, content_type=JSON, query_string={"aid": "q"})
    [bad] = client.get("/micro/bad").get_json()
    assert list(bad) == ["collectorPayload", "rawEvent", "errors"]
    assert bad["rawEvent"] is None
    payload = bad["collectorPayload"]
    assert list(payload) == ["api", "querystring", "contentType", "body", "source", "context"]
    assert payload["api"] == {"vendor": SNOWPLOW, "version": "tp2"}
    assert payload["querystring"] == ["aid=q"] and payload["contentType"] == JSON and payload["body"] == body
    assert payload["source"]["name"] == f"micro-dashboard-{__version__}"
    assert ISO.match(payload["context"]["timestamp"])
    assert bad["errors"][0] == WHOLE and len(bad["errors"]) == 2
    row = json.loads(bad["errors"][1])
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/tracker_protocol_violations/jsonschema/1-0-1"
    assert bad_row_errors(row) == []


def test_bad_event_that_failed_validation_has_its_raw_event_and_the_event_summary(client):
    post(client, PV, {**PV, "eid": "not-a-uuid", "co": co({"schema": CHECKOUT, "data": {"orderId": ""}})})
    [bad] = client.get("/micro/bad").get_json()
    assert bad["rawEvent"]["parameters"]["eid"] == "not-a-uuid"
    assert bad["collectorPayload"]["api"] == {"vendor": SNOWPLOW, "version": "tp2"}
    assert bad["errors"][0] == ONE
    row = json.loads(bad["errors"][1])
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1"
    assert bad_row_errors(row) == []
    keys = [m.get("schemaKey") for m in row["data"]["failure"]["messages"]]
    assert f"iglu:{SNOWPLOW}/atomic/jsonschema/1-0-0" in keys and CHECKOUT in keys
    assert client.get("/micro/all").get_json() == {"total": 2, "good": 1, "bad": 1}


def test_bad_row_strings_are_compact_json(client):
    client.get("/i")
    [bad] = client.get("/micro/bad").get_json()
    text = bad["errors"][1]
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


@pytest.fixture
def mixed_bad(client):
    """Store bad events from three vendor/versions, oldest first: tp2, com.acme/v1, tp1."""
    post(client, {**PV, "eid": "x"})
    client.post("/com.acme/v1", json={"a": 1})
    client.get("/i")
    return client


@pytest.mark.parametrize(("body", "expected"), [
    (None, [(SNOWPLOW, "tp1"), ("com.acme", "v1"), (SNOWPLOW, "tp2")]),
    ({}, [(SNOWPLOW, "tp1"), ("com.acme", "v1"), (SNOWPLOW, "tp2")]),
    ({"vendor": SNOWPLOW}, [(SNOWPLOW, "tp1"), (SNOWPLOW, "tp2")]),
    ({"vendor": SNOWPLOW, "version": "tp2"}, [(SNOWPLOW, "tp2")]),
    ({"version": "v1"}, [("com.acme", "v1")]),
    ({"limit": 1}, [(SNOWPLOW, "tp1")]),
    ({"vendor": "com.nobody"}, []),
])
def test_bad_events_newest_first_filtered_by_vendor_version_and_limit(mixed_bad, body, expected):
    response = mixed_bad.get("/micro/bad") if body is None else mixed_bad.post("/micro/bad", json=body)
    assert [tuple(b["collectorPayload"]["api"].values()) for b in response.get_json()] == expected


def test_post_bad_with_a_wrongly_typed_filter_is_422(client):
    assert client.post("/micro/bad", json={"limit": "1"}).status_code == 422
    assert client.post("/micro/bad", data=b"{", content_type="application/json").status_code == 400


# -- reset, ui, unknown paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_reset_deletes_everything_and_answers_the_zero_summary(seeded, method):
    seeded.get("/i")
    response = seeded.open("/micro/reset", method=method)
    assert response.status_code == 200 and response.get_json() == {"total": 0, "good": 0, "bad": 0}
    assert list(response.get_json()) == ["total", "good", "bad"]
    assert seeded.get("/micro/all").get_json() == {"total": 0, "good": 0, "bad": 0}
    assert good(seeded) == [] and seeded.get("/micro/bad").get_json() == []


def test_micro_ui_redirects_to_the_dashboard(client):
    response = client.get("/micro/ui")
    assert response.status_code == 302 and response.headers["Location"] == "/"


MICRO_404 = "Path for micro has to be one of: /events /all /good /bad /reset /iglu"


@pytest.mark.parametrize(("method", "path"), [("GET", "/micro/everything"), ("POST", "/micro/nothing/here"),
                                              ("GET", "/micro/"), ("POST", "/micro"), ("PUT", "/micro/all"),
                                              ("DELETE", "/micro/events")])
def test_an_unknown_micro_path_gets_micros_404_sentence(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 404 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == MICRO_404


# -- GET /micro/events (Micro 3.0): good and incomplete events in the lossy JSON form ---------------------------


def micro_events(client) -> list[dict[str, Any]]:
    """Return GET /micro/events."""
    response = client.get("/micro/events")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_get_micro_events_lists_good_events_newest_first_as_micro_4_flattens_them(seeded):
    events = micro_events(seeded)
    assert [e["event"] for e in events] == ["unstruct", "unstruct", "struct", "page_view"]
    paged = seeded.post("/micro/events", json={"filters": [], "page": 1, "pageSize": 10}).get_json()["events"]
    assert events == paged  # both are the Analytics SDK's lossy form, newest first
    link_click = events[1]
    assert link_click["unstruct_event_com_snowplowanalytics_snowplow_link_click_1"] == {"targetUrl": "https://a.test/"}
    assert [c["orderId"] for c in link_click["contexts_com_acme_checkout_1"]] == ["o-1"]
    assert "contexts" not in link_click and "unstruct_event" not in link_click


@pytest.mark.needs_iglu_central
def test_get_micro_events_shows_a_failed_event_as_micros_incomplete_event(client):
    bad_entity = {"schema": WEB_PAGE, "data": {"id": 5}}
    post(client, {"e": "ue", "p": "web", "tv": "js-4.0.0", "ue_pr": ue(LINK_CLICK, {"elementId": "nav"}),
                  "co": co(WEB_PAGE_ENTITY, bad_entity)})
    [event] = micro_events(client)
    # Enrich drops the invalid parts from an incomplete event and says why in failure entities.
    assert "unstruct_event_com_snowplowanalytics_snowplow_link_click_1" not in event
    assert [c["id"] for c in event["contexts_com_snowplowanalytics_snowplow_web_page_1"]] == [
        WEB_PAGE_ENTITY["data"]["id"]]
    unstruct, context = event["contexts_com_snowplowanalytics_snowplow_failure_1"]
    assert unstruct["failureType"] == "ValidationError" and unstruct["schema"] == LINK_CLICK
    assert unstruct["data"] == {"elementId": "nav"} and unstruct["componentName"] == "micro-dashboard"
    assert unstruct["errors"] == [{"message": "$.targetUrl: is missing but it is required", "source": "unstruct",
                                   "path": "$", "keyword": "required", "targets": ["targetUrl"]}]
    assert context["schema"] == WEB_PAGE and context["data"] == {"id": 5}
    assert context["errors"] == [{"message": "$.id: integer found, string expected", "source": "contexts",
                                  "path": "$.id", "keyword": "type", "targets": ["integer", "string"]}]
    assert ISO.match(unstruct["timestamp"])
    failure_schema = json.loads((IGLU_CENTRAL / "schemas" / FAILURE[len("iglu:"):]).read_text())
    for failure in (unstruct, context):
        entity = {k: v for k, v in failure.items() if k != "_schema_version"}
        assert list(Draft4Validator(failure_schema).iter_errors(entity)) == []


def test_get_micro_events_lists_an_event_with_a_bad_atomic_field_and_skips_unreadable_requests(client):
    client.get("/i?e=pp&p=web&tv=lol&eid=invalidEventId")
    client.post(TP2, data=b"{", content_type=JSON)
    [event] = micro_events(client)
    [failure] = event["contexts_com_snowplowanalytics_snowplow_failure_1"]
    assert failure["schema"] == f"iglu:{SNOWPLOW}/atomic/jsonschema/1-0-0"
    assert failure["data"] == {"eid": "invalidEventId"}
    assert [(e["source"], e["path"]) for e in failure["errors"]] == [("atomic_field", "eid")]
    assert client.get("/micro/all").get_json() == {"total": 2, "good": 0, "bad": 2}


def test_post_micro_events_is_still_micro_4s_paged_api(seeded):
    answer = seeded.post("/micro/events", json={"filters": [], "page": 1, "pageSize": 1}).get_json()
    assert answer["totalItems"] == 4 and answer["totalPages"] == 4 and len(answer["events"]) == 1


def test_post_good_with_a_limit_beyond_sqlite_integers_or_thousands_of_contexts(seeded):
    assert [e["eventType"] for e in good(seeded, {"limit": 10**23})] == ["unstruct", "unstruct", "struct", "page_view"]
    assert [e["eventType"] for e in good(seeded, {"contexts": [WEB_PAGE] * 3000})] == ["unstruct", "page_view"]
    assert good(seeded, {"contexts": [WEB_PAGE, *(f"iglu:com.acme/x{i}/jsonschema/1-0-0" for i in range(3000))]}) == []


def test_post_bad_with_a_limit_beyond_sqlite_integers(mixed_bad):
    response = mixed_bad.post("/micro/bad", json={"limit": 10**23})
    assert response.status_code == 200 and len(response.get_json()) == 3
