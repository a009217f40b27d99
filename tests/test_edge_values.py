"""Values at the edges of the protocol: out-of-range numbers, NaN, deep nesting, loose digits, extra keys."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from support import CONTEXTS, PAYLOAD_DATA, WEB_PAGE

from micro_dashboard.pipeline import Event, RawPayload, ingest

SNOWPLOW = "com.snowplowanalytics.snowplow"
PV = {"e": "pv", "p": "web", "tv": "t"}
UUID = "c6ef3124-b53a-4b13-a233-0088f79dcbcb"


def decode(params: dict[str, str], network_userid: str = "11111111-1111-4111-8111-111111111111") -> Event:
    """Run one GET event through the pipeline."""
    raw = RawPayload("GET", "/i", SNOWPLOW, "tp1", urlencode({**PV, **params}), None, None, [], "127.0.0.1",
                     None, None, "localhost", network_userid, 1763787600000)
    [event] = ingest(raw).events
    return event


def contexts_text(entity_data: str) -> str:
    """Return a contexts JSON text holding one web_page entity whose data is the given JSON text."""
    return '{"schema": "' + CONTEXTS + '", "data": [{"schema": "' + WEB_PAGE + '", "data": ' + entity_data + "}]}"


def problems(event: Event) -> list[str]:
    """Return the plain sentences of an event's failures."""
    return [p.message for f in event.failures for p in f.problems]


@pytest.mark.parametrize(("param", "value"), [
    ("sid", UUID + "\n"),  # a trailing newline is not part of a UUID
    ("eid", UUID + "\n"),
    ("vid", "\u0663"),  # an Arabic-Indic digit
    ("vid", "99999999999"),  # beyond a 32-bit int, as Enrich parses it
    ("res", "\u0661x\u0662"),
    ("se_va", "1e999"),  # infinite
    ("se_va", "NaN"),
    ("dtm", "1763787600000\n"),
])
def test_values_enrich_rejects_are_rejected_naming_the_parameter(param: str, value: str) -> None:
    event = decode({param: value})
    assert not event.valid
    assert any(f"(parameter {param})" in sentence for sentence in problems(event)), problems(event)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_inside_contexts_are_not_json(constant: str) -> None:
    co = contexts_text('{"id": ' + constant + "}")
    event = decode({"co": co})
    assert not event.valid and any(s.startswith("co is not JSON") for s in problems(event))


def test_an_entity_with_keys_besides_schema_and_data_is_not_self_describing() -> None:
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": WEB_PAGE, "data": {"id": "x"}, "extra": 1}]})
    event = decode({"co": co})
    assert not event.valid and any("has extra besides schema and data" in s for s in problems(event))


def test_device_clock_far_off_keeps_derived_tstamp_at_or_after_the_epoch() -> None:
    event = decode({"dtm": "0", "stm": "253402300799999"})
    assert event.valid and event.fields["derived_tstamp"] == 0


def test_sp_anonymous_keeps_the_zero_network_user_id_over_an_nuid_parameter() -> None:
    event = decode({"nuid": "from-nuid"}, network_userid="00000000-0000-0000-0000-000000000000")
    assert event.fields["network_userid"] == "00000000-0000-0000-0000-000000000000"
    assert decode({"nuid": "n", "tnuid": "t"}, "00000000-0000-0000-0000-000000000000").fields["network_userid"] == "t"


def test_an_explicit_port_zero_is_kept() -> None:
    assert decode({"url": "http://example.com:0/a"}).fields["page_urlport"] == 0


def nested(depth: int) -> Any:
    """Return a JSON text nested `depth` arrays deep."""
    return "[" * depth + "]" * depth


def test_one_event_nested_too_deep_fails_alone_and_the_batch_is_kept(live_server: Any) -> None:
    deep = contexts_text(nested(100_000))
    body = {"schema": PAYLOAD_DATA, "data": [{**PV, "eid": UUID, "co": deep}, {**PV, "aid": "fine"}]}
    answer = requests.post(f"{live_server.url}/{SNOWPLOW}/tp2", json=body, timeout=30)
    assert answer.status_code == 200
    good = requests.get(f"{live_server.url}/micro/good", timeout=10).json()
    assert [g["event"]["app_id"] for g in good] == ["fine"]
    [bad] = requests.get(f"{live_server.url}/micro/bad", timeout=10).json()
    assert bad["rawEvent"]["parameters"]["eid"] == UUID


def test_absurd_timestamps_are_stored_and_answered_not_500(live_server: Any) -> None:
    answer = requests.get(f"{live_server.url}/i", params={**PV, "dtm": "0", "stm": "253402300799999"}, timeout=10)
    assert answer.status_code == 200
    [good] = requests.get(f"{live_server.url}/micro/good", timeout=10).json()
    assert good["event"]["derived_tstamp"] == "1970-01-01T00:00:00Z"


def test_micro_good_stays_strict_json_when_a_tracker_sends_infinity(live_server: Any) -> None:
    requests.get(f"{live_server.url}/i", params={**PV, "e": "se", "se_va": "1e999"}, timeout=10)
    text = requests.get(f"{live_server.url}/micro/bad", timeout=10).text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the answer"))
