"""Properties of pipeline.ingest on generated requests: it never raises, always says something, and repeats itself."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_runs import NOW, raw
from snowplow_checks import bad_row_errors
from support import IGLU_CENTRAL, PAYLOAD_DATA, WEB_PAGE

from micro_dashboard.iglu import EmbeddedRegistry, IgluChecker, Resolver
from micro_dashboard.pipeline import Failure, Outcome, RawPayload, ingest
from micro_dashboard.pipeline.enrich import DIMENSION_PARAMS, SIMPLE_PARAMS
from micro_dashboard.snowplow import CONTEXTS_SCHEMA, IGLU_VENDOR, LINK_CLICK_SCHEMA, SNOWPLOW_VENDOR, UNSTRUCT_SCHEMA

pytestmark = [pytest.mark.hostile, pytest.mark.needs_iglu_central]

# Every tracker parameter the pipeline reads, so generated requests reach each parser.
PARAMETERS = sorted({*SIMPLE_PARAMS, *DIMENSION_PARAMS, "e", "eid", "url", "refr", "ua", "ip", "nuid", "tnuid",
                     "co", "cx", "ue_pr", "ue_px", "schema"})
# Real schemas (validated against Iglu Central) beside made-up and malformed URIs.
SCHEMAS = [WEB_PAGE, LINK_CLICK_SCHEMA, "iglu:com.acme/thing/jsonschema/1-0-0", "iglu:nope", "not a uri", ""]
# Bounded so the file runs in a few seconds; derandomized so CI tries the same inputs each time.
BOUNDED = settings(max_examples=300, derandomize=True, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Where trackers send: tp1 and tp2, the Iglu webhook (its `schema` parameter too), and a vendor nobody serves.
ENDPOINTS = [(SNOWPLOW_VENDOR, "tp1"), (SNOWPLOW_VENDOR, "tp2"), (IGLU_VENDOR, "v1"), ("com.acme", "v9")]
INTERNAL_ERROR = "micro-dashboard failed"  # the start of the sentence a bug of ours becomes (pipeline.ingest)

texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)  # a query string holds no surrogates
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
self_describing = st.fixed_dictionaries({"schema": st.sampled_from(SCHEMAS) | texts, "data": json_values})
contexts = st.one_of(st.fixed_dictionaries({"schema": st.just(CONTEXTS_SCHEMA), "data": st.lists(self_describing,
                                                                                                  max_size=3)}),
                     json_values)
unstruct = st.one_of(st.fixed_dictionaries({"schema": st.just(UNSTRUCT_SCHEMA), "data": self_describing}),
                     json_values)


def base64_of(value: Any, urlsafe: bool) -> str:
    """Return JSON as a tracker base64-encodes it (URL-safe or not, padding kept)."""
    encoded = json.dumps(value).encode()
    return (base64.urlsafe_b64encode(encoded) if urlsafe else base64.b64encode(encoded)).decode()


@st.composite
def parameters(draw: st.DrawFn) -> dict[str, str]:
    """Return tracker parameters: known names with arbitrary text, contexts and events as JSON or base64."""
    params = draw(st.dictionaries(st.sampled_from(PARAMETERS), texts, max_size=8))
    if draw(st.booleans()):
        params["e"] = draw(st.sampled_from(["pv", "pp", "se", "ue", "tr", "ti", "s"]) | texts)
    if draw(st.booleans()):
        value, urlsafe = draw(contexts), draw(st.booleans())
        params.update({"cx": base64_of(value, urlsafe)} if draw(st.booleans()) else {"co": json.dumps(value)})
    if draw(st.booleans()):
        value, urlsafe = draw(unstruct), draw(st.booleans())
        params.update({"ue_px": base64_of(value, urlsafe)} if draw(st.booleans()) else {"ue_pr": json.dumps(value)})
    return params


endpoints = st.sampled_from(ENDPOINTS)
gets = st.builds(lambda query, endpoint: raw("GET", query, None, None, *endpoint),
                 st.one_of(parameters().map(urlencode), texts), endpoints)
payload_data = st.fixed_dictionaries({"schema": st.just(PAYLOAD_DATA) | texts,
                                      "data": st.lists(parameters() | json_values, max_size=3)})
bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                   payload_data.map(lambda v: json.dumps(v).encode()),
                   parameters().map(lambda params: urlencode(params).encode()))
content_types = st.sampled_from(["application/json; charset=utf-8", "application/x-www-form-urlencoded",
                                 "text/plain", None]) | texts
posts = st.builds(lambda query, body, content_type, endpoint: raw("POST", query, body, content_type, *endpoint),
                  st.just("") | parameters().map(urlencode), bodies, content_types, endpoints)
raw_requests = gets | posts

CHECKER = IgluChecker(Resolver([EmbeddedRegistry(IGLU_CENTRAL)])) if IGLU_CENTRAL.is_dir() else None


def all_failures(outcome: Outcome) -> list[Failure]:
    """Return the request's failures and every event's."""
    return outcome.failures + [failure for event in outcome.events for failure in event.failures]


def without_generated(outcome: Outcome) -> dict[str, Any]:
    """Return the outcome as plain data with the event ids the pipeline makes up removed."""
    plain = dataclasses.asdict(outcome)
    for event in plain["events"]:
        if "eid" not in event["parameters"]:
            event["fields"].pop("event_id", None)
        for failure in event["failures"]:
            failure["bad_row"]["data"]["payload"]["enriched"].pop("event_id", None)
    return plain


@BOUNDED
@given(raw_requests)
def test_ingest_never_raises_and_always_answers(request: RawPayload) -> None:
    """Every generated request gives events or failures, never neither, and no bug of ours as a bad row."""
    outcome = ingest(request, CHECKER, now=NOW)
    assert outcome.events or outcome.failures
    for failure in all_failures(outcome):
        assert not any(p.message.startswith(INTERNAL_ERROR) for p in failure.problems), failure.problems


@BOUNDED
@given(raw_requests)
def test_every_failure_is_a_snowplow_bad_row_with_a_sentence_naming_its_field(request: RawPayload) -> None:
    """Each failure validates against its badrows schema and says, per problem, which field it is about."""
    for failure in all_failures(ingest(request, CHECKER, now=NOW)):
        assert bad_row_errors(failure.bad_row, long_values_allowed=True) == []
        assert failure.problems, failure.bad_row
        for problem in failure.problems:
            assert problem.path and problem.message.strip(), problem


@BOUNDED
@given(raw_requests)
def test_ingest_is_deterministic_apart_from_generated_ids(request: RawPayload) -> None:
    """The same request decoded twice gives the same events and failures, except the event ids it makes up."""
    assert without_generated(ingest(request, CHECKER, now=NOW)) == without_generated(ingest(request, CHECKER,
                                                                                            now=NOW))
