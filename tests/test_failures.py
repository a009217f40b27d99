"""A failed event's bad row: fields that do not parse or are too long, raw parameters, partial event (protocol.md 6)."""

from __future__ import annotations

import pytest
from pipeline_runs import BASE, NUID, SNOWPLOW, atomic_reports, failure_of, get, good, one

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


def test_partially_enriched_event_in_a_bad_row_has_the_types_snowplow_gives_it():
    event = one(get({**BASE, "eid": "x", "cookie": "1", "f_pdf": "0", "tid": "42", "se_va": "2.5", "tr_tt": "9.99",
                     "ti_pr": "1", "res": "10x20", "vid": "3", "url": "https://a.test:8443/x"}))
    enriched = failure_of(event)[1]["data"]["payload"]["enriched"]
    assert (enriched["br_cookies"], enriched["br_features_pdf"], enriched["txn_id"]) == (1, 0, "42")
    assert (enriched["se_value"], enriched["tr_total"], enriched["ti_price"]) == ("2.5", "9.99", "1.0")
    assert (enriched["dvce_screenwidth"], enriched["domain_sessionidx"], enriched["page_urlport"]) == (10, 3, 8443)
