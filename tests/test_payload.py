"""What a request holds: GET and tp2 POST rules, the Iglu webhook, the size limit (protocol.md sections 2 and 8)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from pipeline_runs import BASE, EID, NOW, SNOWPLOW, get, one, post, raw
from snowplow_checks import bad_row_errors
from support import PAYLOAD_DATA

from micro_dashboard.pipeline import Outcome, ingest
from micro_dashboard.pipeline.model import Problem

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
    outcome = ingest(raw("POST", "", b"{}", "application/json", vendor="com.acme", version="v9"), now=NOW)
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
    event = one(ingest(raw("GET", query, vendor="com.snowplowanalytics.iglu", version="v1"), now=NOW))
    f = event.fields
    assert f["event"] == "unstruct" and f["platform"] == "app" and f["v_tracker"] == "com.snowplowanalytics.iglu-v1"
    assert f["unstruct_event"] == {"schema": "iglu:com.acme/signup/jsonschema/1-0-0",
                                   "data": {"plan": "pro", "seats": "3"}}
    assert (f["event_vendor"], f["event_name"]) == ("com.acme", "signup")


def test_iglu_webhook_post_takes_a_self_describing_json_body():
    body = json.dumps({"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"seats": 3}}).encode()
    event = one(ingest(raw("POST", "", body, "application/json", vendor="com.snowplowanalytics.iglu",
                            version="v1"), now=NOW))
    assert event.fields["unstruct_event"] == {"schema": "iglu:com.acme/signup/jsonschema/1-0-0",
                                              "data": {"seats": 3}}


def test_iglu_webhook_post_takes_the_schema_from_the_query_and_a_form_body():
    event = one(ingest(raw("POST", "schema=iglu:com.acme/signup/jsonschema/1-0-0", b"plan=pro&seats=3",
                            "application/x-www-form-urlencoded", vendor="com.snowplowanalytics.iglu",
                            version="v1"), now=NOW))
    assert event.fields["unstruct_event"]["data"] == {"plan": "pro", "seats": "3"}


def test_iglu_webhook_without_a_schema_is_an_adapter_failure():
    outcome = ingest(raw("GET", "plan=pro", vendor="com.snowplowanalytics.iglu", version="v1"), now=NOW)
    [failure] = outcome.failures
    assert failure.type == "adapter_failures" and bad_row_errors(failure.bad_row) == []
    assert failure.problems[0].path == "schema"


# -- size -----------------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_size_violation_with_both_sizes():
    payload = raw("POST", "", b"x" * 1024, "application/json", body_size=3 * 1024 * 1024)
    outcome = ingest(payload, now=NOW)
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
    assert ingest(payload, now=NOW, max_body_bytes=payload.body_size).events[0].valid
