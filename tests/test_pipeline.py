"""The pure pipeline: a RawPayload in, canonical events and typed failures out (protocol.md sections 2-6, 8)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from snowplow_checks import bad_row_errors
from support import CONTEXTS, LINK_CLICK, PAYLOAD_DATA, UNSTRUCT, WEB_PAGE

from micro_dashboard import __version__
from micro_dashboard.pipeline import Event, Outcome, RawPayload, Verdict, process
from micro_dashboard.pipeline.fields import FIELDS, flat_key, iso_timestamp, to_flat_form, to_json_form, to_tsv_line
from micro_dashboard.pipeline.model import Problem

SNOWPLOW = "com.snowplowanalytics.snowplow"
CONTEXTS_101 = f"iglu:{SNOWPLOW}/contexts/jsonschema/1-0-1"
ATOMIC = f"iglu:{SNOWPLOW}/atomic/jsonschema/1-0-0"
NUID = "c0ffee00-0000-4000-8000-000000000001"
EID = "5b2f6c0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
RECEIVED = 1_763_787_661_441  # 2025-11-22T05:01:01.441Z
NOW = RECEIVED + 250
TOOL = f"micro-dashboard-{__version__}"
BASE = {"e": "pv", "p": "web", "tv": "js-4.0.0", "eid": EID}


def raw(method: str = "GET", query: str = "", body: bytes | None = None, content_type: str | None = None,
        vendor: str | None = SNOWPLOW, version: str | None = "tp2", **extra: Any) -> RawPayload:
    """Return a raw request as the collector would build it."""
    values = dict(
        method=method, path=f"/{vendor}/{version}", vendor=vendor, version=version, querystring=query, body=body,
        content_type=content_type, headers=[("Host", "collector.test"), ("User-Agent", "pytest-agent")],
        ip="203.0.113.9", useragent="pytest-agent", referer=None, hostname="collector.test", network_userid=NUID,
        timestamp=RECEIVED, body_size=len(body or b""),
    )
    values.update(extra)
    return RawPayload(**values)


def get(params: dict[str, str] | str, checker: Any = None, **extra: Any) -> Outcome:
    """Process a GET with these parameters."""
    query = params if isinstance(params, str) else urlencode(params)
    return process(raw("GET", query, **extra), checker, now=NOW)


def post(items: Any, query: str = "", content_type: str = "application/json; charset=utf-8",
         schema: str = PAYLOAD_DATA) -> Outcome:
    """Process a tp2 POST whose body is payload_data with these items (or any JSON when items is not a list)."""
    body = {"schema": schema, "data": items} if isinstance(items, list) else items
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return process(raw("POST", query, data, content_type), now=NOW)


def one(outcome: Outcome) -> Event:
    """Return the only event of an outcome."""
    assert not outcome.failures, outcome.failures
    assert len(outcome.events) == 1
    return outcome.events[0]


def good(params: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Return the fields of the valid event decoded from a GET."""
    event = one(get({**BASE, **params}, **extra))
    assert event.valid, [p.message for f in event.failures for p in f.problems]
    return event.fields


def failure_of(event: Event) -> tuple[str, dict[str, Any], list[Problem]]:
    """Return the type, bad row and problems of an event's only failure, checking the bad row's shape."""
    assert len(event.failures) == 1, event.failures
    failure = event.failures[0]
    assert bad_row_errors(failure.bad_row, long_values_allowed=True) == []
    return failure.type, failure.bad_row, failure.problems


def atomic_reports(bad_row: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the dataReports of the atomic-field message of a schema_violations bad row."""
    messages = [m for m in bad_row["data"]["failure"]["messages"] if m.get("schemaKey") == ATOMIC]
    assert len(messages) == 1, bad_row
    assert messages[0]["error"]["error"] == "ValidationError"
    return messages[0]["error"]["dataReports"]


def b64(value: Any, alphabet: str = "url", padding: bool = True) -> str:
    """Encode JSON as base64 in either alphabet, with or without padding."""
    data = json.dumps(value).encode()
    text = (base64.urlsafe_b64encode if alphabet == "url" else base64.b64encode)(data).decode()
    return text if padding else text.rstrip("=")


# -- event types ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "event", "schema"), [
    ("pv", "page_view", (SNOWPLOW, "page_view", "jsonschema", "1-0-0")),
    ("pp", "page_ping", (SNOWPLOW, "page_ping", "jsonschema", "1-0-0")),
    ("se", "struct", ("com.google.analytics", "event", "jsonschema", "1-0-0")),
    ("ev", "struct", ("com.google.analytics", "event", "jsonschema", "1-0-0")),
    ("tr", "transaction", (SNOWPLOW, "transaction", "jsonschema", "1-0-0")),
    ("ti", "transaction_item", (SNOWPLOW, "transaction_item", "jsonschema", "1-0-0")),
])
def test_event_type_code_maps_to_event_name_and_schema_parts(code, event, schema):
    fields = good({"e": code})
    assert fields["event"] == event
    assert (fields["event_vendor"], fields["event_name"], fields["event_format"], fields["event_version"]) == schema


def test_self_describing_event_takes_its_schema_parts_from_the_inner_schema():
    ue = {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": {"targetUrl": "https://a.test/"}}}
    event = one(get({**BASE, "e": "ue", "ue_pr": json.dumps(ue)}))
    assert event.valid
    f = event.fields
    assert (f["event"], f["event_vendor"], f["event_name"], f["event_format"], f["event_version"]) == (
        "unstruct", SNOWPLOW, "link_click", "jsonschema", "1-0-1")
    assert f["unstruct_event"] == {"schema": LINK_CLICK, "data": {"targetUrl": "https://a.test/"}}
    assert [(e.kind, e.position, e.schema) for e in event.entities] == [("unstruct", 0, LINK_CLICK)]


def test_unknown_event_type_is_a_schema_violation_naming_e():
    event = one(get({**BASE, "e": "zz"}))
    kind, bad_row, problems = failure_of(event)
    assert kind == "schema_violations"
    assert atomic_reports(bad_row) == [
        {"message": "Not a valid event type", "path": "e", "keyword": "atomic_field_parse_error", "targets": []}]
    assert problems[0].path == "e" and '"zz"' in problems[0].message and "not a valid event type" in problems[0].message


def test_legacy_ad_impression_is_an_enrichment_failure():
    event = one(get({**BASE, "e": "ad"}))
    kind, bad_row, problems = failure_of(event)
    assert kind == "enrichment_failures"
    assert bad_row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/enrichment_failures/jsonschema/2-0-1"
    assert bad_row["data"]["failure"]["messages"][0]["message"]["field"] == "e"
    assert problems[0].path == "e"


# -- parameters to canonical fields --------------------------------------------------------------------------


def test_every_simple_parameter_lands_in_its_canonical_field_with_its_type():
    params = {
        "aid": "shop", "tna": "sp1", "tz": "Europe/Berlin", "lang": "de-DE", "cs": "UTF-8", "cd": "24",
        "uid": "user-7", "duid": "duid-1", "sid": "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE", "vid": "3",
        "dtm": "1763787600000", "stm": "1763787601000", "page": "Home", "tid": "123456", "fp": "fingerprint",
        "cookie": "1", "f_pdf": "1", "f_fla": "0", "f_java": "0", "f_dir": "0", "f_qt": "1", "f_realp": "0",
        "f_wma": "0", "f_gears": "0", "f_ag": "1", "res": "1920x1080", "vp": "1280x720", "ds": "1200x3000",
    }
    f = good(params)
    assert f["app_id"] == "shop" and f["platform"] == "web" and f["v_tracker"] == "js-4.0.0"
    assert f["name_tracker"] == "sp1" and f["os_timezone"] == "Europe/Berlin" and f["br_lang"] == "de-DE"
    assert f["doc_charset"] == "UTF-8" and f["br_colordepth"] == "24"
    assert f["user_id"] == "user-7" and f["domain_userid"] == "duid-1"
    assert f["domain_sessionid"] == "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    assert f["domain_sessionidx"] == 3 and f["txn_id"] == 123456
    assert f["dvce_created_tstamp"] == 1763787600000 and f["dvce_sent_tstamp"] == 1763787601000
    assert f["page_title"] == "Home" and f["user_fingerprint"] == "fingerprint"
    assert f["br_cookies"] is True and f["br_features_pdf"] is True and f["br_features_flash"] is False
    assert f["br_features_quicktime"] is True and f["br_features_silverlight"] is True
    assert (f["dvce_screenwidth"], f["dvce_screenheight"]) == (1920, 1080)
    assert (f["br_viewwidth"], f["br_viewheight"]) == (1280, 720)
    assert (f["doc_width"], f["doc_height"]) == (1200, 3000)
    assert f["event_id"] == EID


def test_structured_event_fields_and_decimal_value():
    f = good({"e": "se", "se_ca": "cat", "se_ac": "act", "se_la": "lab", "se_pr": "prop", "se_va": "12.5"})
    assert (f["se_category"], f["se_action"], f["se_label"], f["se_property"]) == ("cat", "act", "lab", "prop")
    assert f["se_value"] == 12.5 and isinstance(f["se_value"], float)


def test_page_ping_offsets_are_integers():
    f = good({"e": "pp", "pp_mix": "0", "pp_max": "100", "pp_miy": "-5", "pp_may": "2000"})
    assert (f["pp_xoffset_min"], f["pp_xoffset_max"], f["pp_yoffset_min"], f["pp_yoffset_max"]) == (0, 100, -5, 2000)


def test_transaction_fields_decimals_and_strings():
    f = good({"e": "tr", "tr_id": "order-1", "tr_af": "web", "tr_tt": "99.90", "tr_tx": "8.5", "tr_sh": "4",
              "tr_ci": "Berlin", "tr_st": "BE", "tr_co": "DE", "tr_cu": "EUR"})
    assert (f["tr_orderid"], f["tr_affiliation"], f["tr_city"], f["tr_state"], f["tr_country"], f["tr_currency"]) == (
        "order-1", "web", "Berlin", "BE", "DE", "EUR")
    assert (f["tr_total"], f["tr_tax"], f["tr_shipping"]) == (99.9, 8.5, 4.0)
    assert all(isinstance(f[k], float) for k in ("tr_total", "tr_tax", "tr_shipping"))


def test_transaction_item_fields_and_legacy_name_spelling():
    f = good({"e": "ti", "ti_id": "order-1", "ti_sk": "sku-9", "ti_na": "Widget", "ti_ca": "tools", "ti_pr": "19.99",
              "ti_qu": "2", "ti_cu": "EUR"})
    assert (f["ti_orderid"], f["ti_sku"], f["ti_name"], f["ti_category"], f["ti_currency"]) == (
        "order-1", "sku-9", "Widget", "tools", "EUR")
    assert f["ti_price"] == 19.99 and f["ti_quantity"] == 2 and isinstance(f["ti_quantity"], int)


def test_event_id_is_stored_lower_case():
    assert good({"eid": EID.upper()})["event_id"] == EID


def test_missing_event_id_is_generated_as_a_uuid():
    params = {k: v for k, v in BASE.items() if k != "eid"}
    f = one(get(params)).fields
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", f["event_id"])


def test_pipeline_sets_collector_and_etl_fields():
    f = good({})
    assert f["collector_tstamp"] == RECEIVED and f["etl_tstamp"] == NOW
    assert f["v_collector"] == TOOL and f["v_etl"] == TOOL


def test_cv_parameter_overrides_the_collector_version():
    assert good({"cv": "ssc-2.9.0-kinesis"})["v_collector"] == "ssc-2.9.0-kinesis"


def test_page_and_referrer_urls_are_split_into_parts():
    f = good({"url": "https://shop.test/cart/view?item=1&x=2#reviews", "refr": "http://search.test:8080/q?s=a"})
    assert f["page_url"] == "https://shop.test/cart/view?item=1&x=2#reviews"
    assert (f["page_urlscheme"], f["page_urlhost"], f["page_urlport"], f["page_urlpath"], f["page_urlquery"],
            f["page_urlfragment"]) == ("https", "shop.test", 443, "/cart/view", "item=1&x=2", "reviews")
    assert f["page_referrer"] == "http://search.test:8080/q?s=a"
    assert (f["refr_urlscheme"], f["refr_urlhost"], f["refr_urlport"], f["refr_urlpath"], f["refr_urlquery"],
            f["refr_urlfragment"]) == ("http", "search.test", 8080, "/q", "s=a", None)


def test_plain_http_url_defaults_to_port_80():
    assert good({"url": "http://localhost/"})["page_urlport"] == 80


def test_page_url_falls_back_to_the_referer_header():
    f = good({}, referer="https://app.test/page?a=1")
    assert f["page_url"] == "https://app.test/page?a=1"
    assert (f["page_urlhost"], f["page_urlpath"], f["page_urlquery"]) == ("app.test", "/page", "a=1")


def test_request_ip_and_user_agent_are_used_unless_the_tracker_sends_ip_and_ua():
    f = good({})
    assert (f["user_ipaddress"], f["useragent"]) == ("203.0.113.9", "pytest-agent")
    f = good({"ip": "198.51.100.4", "ua": "Tracker UA/1.0"})
    assert (f["user_ipaddress"], f["useragent"]) == ("198.51.100.4", "Tracker UA/1.0")


def test_network_user_id_comes_from_the_collector_then_nuid_then_tnuid():
    assert good({})["network_userid"] == NUID
    assert good({"nuid": "from-nuid"})["network_userid"] == "from-nuid"
    assert good({"nuid": "from-nuid", "tnuid": "from-tnuid"})["network_userid"] == "from-tnuid"


# -- timestamps ----------------------------------------------------------------------------------------------


def test_derived_tstamp_is_true_tstamp_when_present():
    f = good({"ttm": "1763787000000", "dtm": "1763787600000", "stm": "1763787601000"})
    assert f["true_tstamp"] == 1763787000000 and f["derived_tstamp"] == 1763787000000


def test_derived_tstamp_corrects_collector_time_for_device_clock_skew():
    f = good({"dtm": "1763787600000", "stm": "1763787601500"})
    assert f["derived_tstamp"] == RECEIVED - 1500


@pytest.mark.parametrize("params", [{"dtm": "1763787600000", "stm": "1763787600000"}, {"dtm": "1763787600000"},
                                    {}, {"dtm": "1763787601000", "stm": "1763787600000"}])
def test_derived_tstamp_is_collector_tstamp_without_a_strictly_earlier_device_time(params):
    assert good(params)["derived_tstamp"] == RECEIVED


# -- self-describing JSON: contexts and the event ------------------------------------------------------------

ENTITIES = [{"schema": WEB_PAGE, "data": {"id": "4f4c0b29-0d19-4f4b-a48a-2f2bd8c9d0e7"}},
            {"schema": "iglu:com.acme/thing/jsonschema/1-0-0", "data": {"v": " ???>>>???>>>\u00fc"}}]


def test_plain_contexts_are_split_into_one_entity_per_item():
    event = one(get({**BASE, "co": json.dumps({"schema": CONTEXTS, "data": ENTITIES})}))
    assert event.valid
    assert event.fields["contexts"] == ENTITIES
    assert [(e.kind, e.position, e.schema, e.data) for e in event.entities] == [
        ("context", 0, WEB_PAGE, ENTITIES[0]["data"]), ("context", 1, ENTITIES[1]["schema"], ENTITIES[1]["data"])]


@pytest.mark.parametrize(("alphabet", "padding"), [("url", True), ("url", False), ("std", True), ("std", False)])
def test_base64_contexts_decode_in_either_alphabet_with_or_without_padding(alphabet, padding):
    wrapper = {"schema": CONTEXTS, "data": ENTITIES}
    encoded = b64(wrapper, alphabet, padding)
    assert encoded.endswith("=") == padding
    assert any(c in encoded for c in ("-_" if alphabet == "url" else "+/"))
    event = one(get({**BASE, "cx": encoded}))
    assert event.valid and event.fields["contexts"] == ENTITIES


def test_contexts_1_0_1_wrapper_from_the_python_tracker_is_accepted():
    event = one(get({**BASE, "cx": b64({"schema": CONTEXTS_101, "data": ENTITIES[:1]})}))
    assert event.valid and event.fields["contexts"] == ENTITIES[:1]


def test_base64_self_describing_event_without_padding_decodes():
    ue = {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": {"targetUrl": "https://a.test/?q=\u00e9"}}}
    event = one(get({**BASE, "e": "ue", "ue_px": b64(ue, padding=False)}))
    assert event.valid and event.fields["unstruct_event"]["data"]["targetUrl"] == "https://a.test/?q=\u00e9"


def test_unstruct_event_comes_before_contexts_in_entities():
    ue = {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": {"targetUrl": "https://a.test/"}}}
    event = one(get({**BASE, "e": "ue", "ue_pr": json.dumps(ue), "co": json.dumps({"schema": CONTEXTS,
                                                                                     "data": ENTITIES})}))
    assert [e.kind for e in event.entities] == ["unstruct", "context", "context"]


def schema_messages(params: dict[str, str]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Return the schema_violations messages and problems of a GET event that must fail."""
    event = one(get({**BASE, **params}))
    kind, bad_row, problems = failure_of(event)
    assert kind == "schema_violations"
    return bad_row["data"]["failure"]["messages"], problems


def test_contexts_that_are_not_json_are_a_not_json_violation():
    messages, problems = schema_messages({"co": "{not json"})
    assert messages[0]["field"] == "co" and messages[0]["value"] == "{not json"
    assert problems[0].path == "co" and "is not JSON" in problems[0].message


def test_empty_cx_is_not_absent_but_a_not_json_violation():
    messages, problems = schema_messages({"cx": ""})
    assert messages == [{"field": "cx", "value": "", "error": messages[0]["error"]}]
    assert "empty" in problems[0].message and problems[0].path == "cx"


def test_invalid_base64_is_a_not_json_violation_naming_the_parameter():
    messages, problems = schema_messages({"cx": "!!!not-base64!!!"})
    assert messages[0]["field"] == "cx"
    assert problems[0].path == "cx" and "base64" in problems[0].message


def test_contexts_not_self_describing_is_a_not_iglu_violation():
    messages, problems = schema_messages({"co": json.dumps({"data": []})})
    assert messages == [{"json": {"data": []}, "error": "INVALID_DATA_PAYLOAD"}]
    assert problems[0].path == "co" and "self-describing" in problems[0].message


def test_entity_with_a_malformed_iglu_uri_is_named_by_its_index():
    wrapper = {"schema": CONTEXTS, "data": [ENTITIES[0], {"schema": "com.acme/thing/1", "data": {}}]}
    messages, problems = schema_messages({"co": json.dumps(wrapper)})
    assert messages[0]["error"] == "INVALID_IGLUURI"
    assert problems[0].path == "co[1]" and "not an iglu URI" in problems[0].message


def test_empty_contexts_1_0_0_array_is_a_violation():
    _messages, problems = schema_messages({"co": json.dumps({"schema": CONTEXTS, "data": []})})
    assert problems[0].path == "co" and "non-empty array" in problems[0].message


def test_unstruct_wrapper_with_the_wrong_schema_is_a_criterion_mismatch():
    messages, problems = schema_messages({"e": "ue", "ue_pr": json.dumps({"schema": CONTEXTS, "data": {}})})
    assert messages == [{"schemaKey": CONTEXTS, "schemaCriterion": f"iglu:{SNOWPLOW}/unstruct_event/jsonschema/1-*-*"}]
    assert problems[0].path == "ue_pr" and UNSTRUCT in problems[0].message


def test_self_describing_event_without_ue_pr_or_ue_px_is_a_violation():
    messages, problems = schema_messages({"e": "ue"})
    assert messages[0]["field"] == "ue_pr"
    assert problems[0].path == "ue_pr" and "ue_pr or ue_px" in problems[0].message


class RejectLinkClicks:
    """A schema checker (the pipeline's plug-in point for Iglu) that finds every link_click invalid."""

    def check(self, schema: str, data: Any) -> Verdict:
        """Reject link_click events missing targetUrl; accept everything else."""
        if "link_click" in schema and "targetUrl" not in data:
            error = {"error": "ValidationError", "dataReports": [
                {"message": "$.targetUrl: is missing but it is required", "path": "$", "keyword": "required",
                 "targets": ["targetUrl"]}]}
            return Verdict("invalid", error, [Problem("$.targetUrl", "required property missing")])
        return Verdict("valid")


def test_a_schema_checker_verdict_makes_the_event_invalid_with_its_sentence():
    ue = {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": {"elementId": "x"}}}
    event = one(get({**BASE, "e": "ue", "ue_pr": json.dumps(ue)}, checker=RejectLinkClicks()))
    kind, bad_row, problems = failure_of(event)
    assert kind == "schema_violations"
    assert bad_row["data"]["failure"]["messages"][0]["schemaKey"] == LINK_CLICK
    assert event.entities[0].status == "invalid"
    assert problems[0].path == "$.targetUrl" and problems[0].schema == LINK_CLICK


# -- atomic field checks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("param", "value", "field", "words"), [
    ("eid", "not-a-uuid", "event_id", "not a valid UUID"),
    ("dtm", "yesterday", "dvce_created_tstamp", "not a timestamp"),
    ("stm", "-5", "dvce_sent_tstamp", "not a timestamp"),
    ("ttm", "1.5", "true_tstamp", "not a timestamp"),
    ("se_va", "abc", "se_value", "is not a number"),
    ("vid", "first", "domain_sessionidx", "not an integer"),
    ("tid", "x1", "txn_id", "not an integer"),
    ("ti_qu", "2.5", "ti_quantity", "not an integer"),
    ("tr_tt", "9,99", "tr_total", "not a number"),
    ("p", "desktop", "platform", "not a valid platform"),
    ("sid", "session-1", "domain_sessionid", "not a valid UUID"),
    ("cookie", "yes", "br_cookies", "not a boolean"),
    ("res", "1920*1080", "dvce_screen", "not a size"),
])
def test_a_parameter_that_does_not_parse_is_an_atomic_field_parse_error_naming_it(param, value, field, words):
    event = one(get({**BASE, "e": "se", param: value}))
    kind, bad_row, problems = failure_of(event)
    assert kind == "schema_violations"
    [report] = atomic_reports(bad_row)
    assert report["path"] == param and report["keyword"] == "atomic_field_parse_error"
    assert report["targets"] == []
    [problem] = problems
    assert problem.path == param and problem.keyword == "atomic_field_parse_error"
    assert problem.message.startswith(f'{field}') and f'"{value}"' in problem.message and words in problem.message


def test_se_value_sentence_reads_plainly():
    event = one(get({**BASE, "e": "se", "se_va": "abc"}))
    assert event.failures[0].problems[0].message.startswith('se_value "abc" is not a number')


@pytest.mark.parametrize(("param", "field", "limit"), [
    ("se_pr", "se_property", 1000), ("se_ca", "se_category", 1000), ("se_ac", "se_action", 1000),
    ("se_la", "se_label", 4096), ("aid", "app_id", 255), ("tr_cu", "tr_currency", 3), ("ua", "useragent", 1000),
])
def test_a_value_longer_than_the_atomic_limit_is_atomic_field_length_exceeded(param, field, limit):
    assert good({"e": "se", param: "x" * limit})[field] == "x" * limit
    event = one(get({**BASE, "e": "se", param: "x" * (limit + 1)}))
    _kind, bad_row, problems = failure_of(event)
    [report] = atomic_reports(bad_row)
    assert (report["path"], report["keyword"]) == (param, "atomic_field_length_exceeded")
    assert problems[0].path == param and f"({limit + 1} characters, at most {limit})" in problems[0].message


def test_page_url_may_be_up_to_10000_characters():
    url = "https://a.test/" + "p" * 2980 + "?" + "q" * 5990 + "#" + "f" * 1013  # every part within its own limit
    assert len(url) == 10000
    assert good({"url": url})["page_url"] == url
    event = one(get({**BASE, "url": url + "p"}))
    assert atomic_reports(failure_of(event)[1])[0]["path"] == "url"


def test_several_bad_fields_are_all_reported_in_one_bad_row():
    event = one(get({**BASE, "eid": "x", "dtm": "y", "e": "se", "se_va": "z"}))
    _kind, bad_row, problems = failure_of(event)
    assert {r["path"] for r in atomic_reports(bad_row)} == {"eid", "dtm", "se_va"}
    assert {p.path for p in problems} == {"eid", "dtm", "se_va"}


def test_schema_violation_payload_keeps_the_raw_parameters_and_partial_event():
    event = one(get({**BASE, "e": "se", "se_ca": "c", "se_va": "abc", "dtm": "1763787600000"}))
    payload = failure_of(event)[1]["data"]["payload"]
    assert {"name": "se_va", "value": "abc"} in payload["raw"]["parameters"]
    assert payload["raw"]["vendor"] == SNOWPLOW and payload["raw"]["version"] == "tp2"
    assert payload["raw"]["userId"] == NUID and payload["raw"]["ipAddress"] == "203.0.113.9"
    assert payload["raw"]["headers"] == ["Host: collector.test", "User-Agent: pytest-agent"]
    assert payload["enriched"]["se_category"] == "c"
    assert payload["enriched"]["dvce_created_tstamp"] == "2025-11-22 05:00:00.000"
    assert payload["enriched"]["collector_tstamp"] == "2025-11-22 05:01:01.441"


# -- GET rules ------------------------------------------------------------------------------------------------


def test_get_query_splits_on_semicolons_reads_plus_as_space_and_keeps_the_last_value():
    f = one(get("e=se&p=web;tv=t&se_ca=a+b&se_ac=c%20d&se_la=first&se_la=last")).fields
    assert (f["se_category"], f["se_action"], f["se_label"]) == ("a b", "c d", "last")


def test_get_ignores_unknown_parameters_and_keeps_them_raw():
    event = one(get({**BASE, "custom_thing": "1"}))
    assert event.valid and event.parameters["custom_thing"] == "1"


def test_empty_get_is_an_adapter_failure():
    outcome = get("")
    assert outcome.events == []
    [failure] = outcome.failures
    assert failure.type == "adapter_failures" and bad_row_errors(failure.bad_row) == []
    assert failure.bad_row["data"]["failure"]["messages"][0]["field"] == "querystring"
    assert "empty querystring" in failure.problems[0].message


def test_unknown_vendor_is_an_adapter_failure_naming_vendor_and_version():
    outcome = process(raw("POST", "", b"{}", "application/json", vendor="com.acme", version="v9"), now=NOW)
    [failure] = outcome.failures
    assert failure.type == "adapter_failures" and bad_row_errors(failure.bad_row) == []
    assert failure.bad_row["data"]["failure"]["vendor"] == "com.acme"
    assert "com.acme/v9" in failure.problems[0].message
    assert failure.bad_row["data"]["payload"]["body"] == "{}"


def test_query_string_that_is_not_utf8_is_a_collector_payload_format_violation():
    outcome = get("e=pv&p=web&tv=t&page=%FF%FE")
    [failure] = outcome.failures
    assert failure.type == "collector_payload_format_violation" and bad_row_errors(failure.bad_row) == []
    assert "UTF-8" in failure.problems[0].message


def test_one_bad_event_in_a_batch_does_not_affect_the_others():
    items = [{**BASE, "eid": str(i) * 8 + EID[8:]} for i in range(1, 4)]
    items[1]["dtm"] = "not-a-time"
    outcome = post(items)
    assert [e.valid for e in outcome.events] == [True, False, True]
    assert outcome.failures == []


# -- POST (tp2) rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/json; charset=UTF-8", "application/json;charset=utf-8",
                                          "Application/JSON; Charset=UTF-8", "application/json ;  charset=utf-8"])
def test_post_accepts_json_content_types(content_type):
    assert one(post([BASE], content_type=content_type)).valid


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=latin-1", ""])
def test_post_with_another_content_type_is_a_tracker_protocol_violation(content_type):
    outcome = post([BASE], content_type=content_type)
    assert outcome.events == []
    [failure] = outcome.failures
    assert failure.type == "tracker_protocol_violations" and bad_row_errors(failure.bad_row) == []
    assert failure.problems[0].path == "contentType" and "application/json" in failure.problems[0].message


@pytest.mark.parametrize("version", ["1-0-0", "1-0-1", "1-0-2", "1-0-3", "1-0-4"])
def test_post_accepts_every_payload_data_1_0_revision(version):
    event = one(post([BASE], schema=f"iglu:{SNOWPLOW}/payload_data/jsonschema/{version}"))
    assert event.valid and event.vendor == SNOWPLOW and event.version == "tp2"


def test_post_query_parameters_apply_to_every_event_and_win():
    outcome = post([{**BASE, "aid": "body"}, {**BASE, "aid": "body", "eid": EID.replace("5b", "6c")}],
                   query="aid=query&uid=u1")
    assert [(e.fields["app_id"], e.fields["user_id"]) for e in outcome.events] == [("query", "u1")] * 2


def protocol_failure(outcome: Outcome) -> list[Problem]:
    """Return the problems of a POST rejected as a whole, checking that nothing was extracted."""
    assert outcome.events == []
    [failure] = outcome.failures
    assert failure.type == "tracker_protocol_violations"
    assert failure.bad_row["schema"] == (
        "iglu:com.snowplowanalytics.snowplow.badrows/tracker_protocol_violations/jsonschema/1-0-1")
    assert bad_row_errors(failure.bad_row) == []
    assert failure.bad_row["data"]["payload"]["vendor"] == SNOWPLOW
    return failure.problems


def test_one_non_string_value_rejects_the_whole_batch_naming_item_and_field():
    problems = protocol_failure(post([BASE, {**BASE, "se_va": 5}, BASE]))
    assert [(p.path, p.message) for p in problems] == [
        ("$.data[1].se_va", "event 1 field 'se_va' must be a string, got number 5")]


@pytest.mark.parametrize("value", [True, None, 1.5, ["a"], {"a": 1}])
def test_booleans_nulls_numbers_arrays_and_objects_are_not_strings(value):
    [problem] = protocol_failure(post([{**BASE, "aid": value}]))
    assert problem.path == "$.data[0].aid" and "must be a string" in problem.message


def test_unknown_key_rejects_the_whole_batch():
    [problem] = protocol_failure(post([BASE, {**BASE, "colour": "red"}]))
    assert problem.path == "$.data[1].colour" and "unknown field 'colour'" in problem.message


@pytest.mark.parametrize("missing", ["tv", "p", "e"])
def test_missing_required_field_rejects_the_whole_batch(missing):
    item = {k: v for k, v in BASE.items() if k != missing}
    [problem] = protocol_failure(post([item]))
    assert problem.path == f"$.data[0].{missing}" and f"missing the required field '{missing}'" in problem.message


@pytest.mark.parametrize(("body", "path", "words"), [
    (b"", "body", "empty"),
    (b"{not json", "body", "not JSON"),
    (b"\xff\xfe{}", "body", "not UTF-8"),
    (b"[1, 2]", "$", "must be a JSON object"),
    (json.dumps({"schema": "iglu:com.acme/other/jsonschema/1-0-0", "data": [BASE]}).encode(), "$.schema",
     "payload_data"),
    (json.dumps({"schema": PAYLOAD_DATA, "data": []}).encode(), "$.data", "non-empty array"),
    (json.dumps({"schema": PAYLOAD_DATA, "data": {"e": "pv"}}).encode(), "$.data", "non-empty array"),
    (json.dumps({"schema": PAYLOAD_DATA, "data": ["e=pv"]}).encode(), "$.data[0]", "must be an object"),
])
def test_a_body_that_is_not_payload_data_is_rejected_naming_where(body, path, words):
    problems = protocol_failure(post(body))
    assert problems[0].path == path and words in problems[0].message


# -- Iglu webhook ---------------------------------------------------------------------------------------------


def test_iglu_webhook_get_turns_query_parameters_into_a_self_describing_event():
    query = urlencode({"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "plan": "pro", "seats": "3"})
    event = one(process(raw("GET", query, vendor="com.snowplowanalytics.iglu", version="v1"), now=NOW))
    f = event.fields
    assert f["event"] == "unstruct" and f["platform"] == "app" and f["v_tracker"] == "com.snowplowanalytics.iglu-v1"
    assert f["unstruct_event"] == {"schema": "iglu:com.acme/signup/jsonschema/1-0-0",
                                   "data": {"plan": "pro", "seats": "3"}}
    assert (f["event_vendor"], f["event_name"]) == ("com.acme", "signup")


def test_iglu_webhook_post_takes_a_self_describing_json_body():
    body = json.dumps({"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"seats": 3}}).encode()
    event = one(process(raw("POST", "", body, "application/json", vendor="com.snowplowanalytics.iglu",
                            version="v1"), now=NOW))
    assert event.fields["unstruct_event"] == {"schema": "iglu:com.acme/signup/jsonschema/1-0-0",
                                              "data": {"seats": 3}}


def test_iglu_webhook_post_takes_the_schema_from_the_query_and_a_form_body():
    event = one(process(raw("POST", "schema=iglu:com.acme/signup/jsonschema/1-0-0", b"plan=pro&seats=3",
                            "application/x-www-form-urlencoded", vendor="com.snowplowanalytics.iglu",
                            version="v1"), now=NOW))
    assert event.fields["unstruct_event"]["data"] == {"plan": "pro", "seats": "3"}


def test_iglu_webhook_without_a_schema_is_an_adapter_failure():
    outcome = process(raw("GET", "plan=pro", vendor="com.snowplowanalytics.iglu", version="v1"), now=NOW)
    [failure] = outcome.failures
    assert failure.type == "adapter_failures" and bad_row_errors(failure.bad_row) == []
    assert failure.problems[0].path == "schema"


# -- size -----------------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_size_violation_with_both_sizes():
    payload = raw("POST", "", b"x" * 1024, "application/json", body_size=3 * 1024 * 1024)
    outcome = process(payload, now=NOW)
    assert outcome.events == []
    [failure] = outcome.failures
    assert failure.type == "size_violation" and bad_row_errors(failure.bad_row) == []
    data = failure.bad_row["data"]
    assert data["failure"]["maximumAllowedSizeBytes"] == 2 * 1024 * 1024
    assert data["failure"]["actualSizeBytes"] == 3 * 1024 * 1024
    assert data["payload"] == "x" * 1000
    assert failure.problems[0].path == "body"


def test_a_body_exactly_at_the_limit_is_decoded():
    payload = raw("POST", "", json.dumps({"schema": PAYLOAD_DATA, "data": [BASE]}).encode(), "application/json")
    assert process(payload, now=NOW, max_body_bytes=payload.body_size).events[0].valid


# -- the canonical event's JSON, TSV and flattened forms -----------------------------------------------------


def full_event() -> Event:
    """Return a valid event with contexts, an unstruct event, booleans, integers and decimals."""
    ue = {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": {"targetUrl": "https://a.test/"}}}
    return one(get({**BASE, "e": "ue", "ue_pr": json.dumps(ue), "co": json.dumps({"schema": CONTEXTS,
                    "data": ENTITIES}), "dtm": "1763787600000", "stm": "1763787601000", "cookie": "1",
                    "res": "1920x1080", "url": "https://shop.test/a", "vid": "2", "se_va": "1.5"}))


def test_json_form_has_all_131_fields_in_enriched_order_with_nulls():
    form = to_json_form(full_event().fields)
    assert list(form) == list(FIELDS) and len(form) == 131
    assert form["geo_country"] is None and form["tr_total"] is None and form["event_fingerprint"] is None


def test_json_form_types_timestamps_booleans_numbers_and_wrappers():
    form = to_json_form(full_event().fields)
    assert form["collector_tstamp"] == "2025-11-22T05:01:01.441Z"
    assert form["dvce_created_tstamp"] == "2025-11-22T05:00:00Z"
    assert form["br_cookies"] is True and form["dvce_screenwidth"] == 1920 and form["domain_sessionidx"] == 2
    assert form["page_urlport"] == 443 and form["se_value"] == 1.5
    assert form["contexts"] == {"schema": CONTEXTS, "data": ENTITIES}
    assert form["derived_contexts"] == {}
    assert form["unstruct_event"] == {"schema": UNSTRUCT, "data": {"schema": LINK_CLICK,
                                                                  "data": {"targetUrl": "https://a.test/"}}}


def test_json_form_of_an_event_without_entities_has_empty_contexts_and_null_unstruct():
    form = to_json_form(good({}))
    assert form["contexts"] == {} and form["unstruct_event"] is None


def test_iso_timestamps_show_milliseconds_only_when_non_zero():
    assert iso_timestamp(1763787661441) == "2025-11-22T05:01:01.441Z"
    assert iso_timestamp(1763787661000) == "2025-11-22T05:01:01Z"
    assert iso_timestamp(1763787661007) == "2025-11-22T05:01:01.007Z"


def test_tsv_line_has_131_columns_tsv_timestamps_and_contexts_1_0_1():
    columns = to_tsv_line(to_json_form(full_event().fields)).split("\t")
    assert len(columns) == 131
    row = dict(zip(FIELDS, columns))
    assert row["collector_tstamp"] == "2025-11-22 05:01:01.441"
    assert row["dvce_created_tstamp"] == "2025-11-22 05:00:00.000"
    assert row["br_cookies"] == "1" and row["geo_country"] == "" and row["dvce_screenwidth"] == "1920"
    assert json.loads(row["contexts"]) == {"schema": CONTEXTS_101, "data": ENTITIES}
    assert json.loads(row["unstruct_event"])["schema"] == UNSTRUCT


def test_tsv_line_replaces_tabs_and_newlines_inside_values():
    columns = to_tsv_line(to_json_form(good({"page": "a\tb\nc"}))).split("\t")
    assert len(columns) == 131 and dict(zip(FIELDS, columns))["page_title"] == "a b c"


@pytest.mark.parametrize(("schema", "key"), [
    (WEB_PAGE, "contexts_com_snowplowanalytics_snowplow_web_page_1"),
    ("iglu:org.w3/PerformanceTiming/jsonschema/1-0-0", "contexts_org_w3_performance_timing_1"),
    ("iglu:org.ietf/HTTPClientHints/jsonschema/1-0-0", "contexts_org_ietf_httpclient_hints_1"),
    ("iglu:com.my-company/some.thing-x/jsonschema/2-1-0", "contexts_com_my_company_some_thing_x_2"),
])
def test_flattened_key_follows_the_analytics_sdk_rule(schema, key):
    assert flat_key("contexts", schema) == key


def test_flattened_form_removes_wrappers_and_tags_entities_with_their_schema():
    flat = to_flat_form(to_json_form(full_event().fields))
    assert "contexts" not in flat and "unstruct_event" not in flat
    assert flat["unstruct_event_com_snowplowanalytics_snowplow_link_click_1"] == {"targetUrl": "https://a.test/"}
    assert flat["contexts_com_snowplowanalytics_snowplow_web_page_1"] == [
        {"id": ENTITIES[0]["data"]["id"], "_schema_version": WEB_PAGE}]
    assert flat["contexts_com_acme_thing_1"][0]["_schema_version"] == ENTITIES[1]["schema"]


def test_flattened_form_adds_geo_location_when_both_coordinates_exist():
    form = to_json_form({**good({}), "geo_latitude": 52.5, "geo_longitude": 13.4})
    assert to_flat_form(form)["geo_location"] == "52.5,13.4"
    assert "geo_location" not in to_flat_form(to_json_form(good({})))


def test_partially_enriched_event_in_a_bad_row_has_the_types_snowplow_gives_it():
    event = one(get({**BASE, "eid": "x", "cookie": "1", "f_pdf": "0", "tid": "42", "se_va": "2.5", "tr_tt": "9.99",
                     "ti_pr": "1", "res": "10x20", "vid": "3", "url": "https://a.test:8443/x"}))
    enriched = failure_of(event)[1]["data"]["payload"]["enriched"]
    assert (enriched["br_cookies"], enriched["br_features_pdf"], enriched["txn_id"]) == (1, 0, "42")
    assert (enriched["se_value"], enriched["tr_total"], enriched["ti_price"]) == ("2.5", "9.99", "1.0")
    assert (enriched["dvce_screenwidth"], enriched["domain_sessionidx"], enriched["page_urlport"]) == (10, 3, 8443)
