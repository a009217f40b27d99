"""From parameters to the canonical event: types, typed fields, timestamps, contexts and the event (protocol.md 3-5)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pipeline_runs import (
    BASE,
    CONTEXTS_101,
    EID,
    ENTITIES,
    NOW,
    NUID,
    RECEIVED,
    SNOWPLOW,
    TOOL,
    atomic_reports,
    b64,
    failure_of,
    get,
    good,
    one,
)
from support import CONTEXTS, LINK_CLICK, UNSTRUCT, WEB_PAGE

from micro_dashboard.pipeline import Verdict
from micro_dashboard.pipeline.model import Problem

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
