"""The canonical event's forms: JSON in enriched order, the enriched TSV line, the Analytics SDKs' flattened form."""

from __future__ import annotations

import json

import pytest
from pipeline_runs import BASE, CONTEXTS_101, ENTITIES, get, good, one
from support import CONTEXTS, LINK_CLICK, UNSTRUCT, WEB_PAGE

from micro_dashboard.pipeline import Event
from micro_dashboard.pipeline.fields import FIELDS, flat_key, iso_timestamp, to_flat_form, to_json_form, to_tsv_line

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
