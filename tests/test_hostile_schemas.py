"""Hostile schemas, registries and data: each bounded, each making the entity unverified (or invalid) with a sentence,
never freezing the process, crashing the pipeline or giving a false verdict. Loopback only."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests
from snowplow_tracker import Emitter, SelfDescribing, SelfDescribingJson, Tracker
from support import SP, QuietServer, sql

from micro_dashboard.iglu import EmbeddedRegistry, HttpRegistry, IgluChecker, Lookup, Registry, Resolver, SchemaKey
from micro_dashboard.iglu.limits import MAX_DATA_DEPTH, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, REMEMBERED_URIS

pytestmark = pytest.mark.hostile

WORD = "iglu:com.acme/word/jsonschema/1-0-0"
HTTP_TIMEOUT = 10  # seconds a test waits for an answer at most; never a timing assertion
DECODED_WITHIN = 20  # seconds the pipeline has to decode what was sent; a frozen process never does
# Exponential for a backtracking engine: thirty letters and a character that is not one.
CATASTROPHIC = "a" * 30 + "!"


def self_describing(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    """Return an Iglu schema for com.acme/word 1-0-0 with these properties."""
    return {"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
            "self": {"vendor": "com.acme", "name": "word", "format": "jsonschema", "version": "1-0-0"},
            "type": "object", "properties": properties, **more}


def repository(root: Path, text: str, uri: str = WORD) -> Path:
    """Write one schema's text into a static repository at `root` and return the root."""
    key = SchemaKey.parse(uri)
    file = root / "schemas" / key.vendor / key.name / key.format / key.version
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return root


def nested(levels: int, innermost: str, wrap: Callable[[str], str]) -> str:
    """Return JSON text nesting `innermost` in `wrap` `levels` times, built without recursion."""
    text = innermost
    for _ in range(levels):
        text = wrap(text)
    return text


def deep_value(levels: int) -> Any:
    """Return a value `levels` arrays deep, built without recursion."""
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def track(live: Any, data: dict[str, Any], schema: str = WORD) -> str:
    """Send one self-describing event with the real Snowplow tracker; return its event id."""
    failed: list[Any] = []
    emitter = Emitter("127.0.0.1", protocol="http", port=live.port, method="post", batch_size=1,
                      request_timeout=HTTP_TIMEOUT, on_failure=lambda count, events: failed.extend(events))
    tracker = Tracker("hostile", emitter, app_id="hostile")
    event_id = tracker.track(SelfDescribing(SelfDescribingJson(schema, data)))
    tracker.flush()
    assert not failed and event_id, "the collector did not answer 200"
    return event_id


def decoded_while_healthy(live: Any) -> None:
    """Wait (within a deadline) until the pipeline has decoded everything, checking the collector answers meanwhile."""
    store = live.store
    deadline = time.monotonic() + DECODED_WITHIN
    while not store.wait_decoded(store.acknowledged_through, 0.1):
        assert requests.get(live.url + "/health", timeout=HTTP_TIMEOUT).status_code == 200
        assert time.monotonic() < deadline, "the pipeline did not decode the event"
    assert requests.get(live.url + "/health", timeout=HTTP_TIMEOUT).status_code == 200


def stored(live: Any, event_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the stored event (valid, unverified, problems) and its self-describing entity."""
    [event] = sql(live.store, "SELECT id, valid, unverified, problems FROM events WHERE event_id = ?", (event_id,))
    [entity] = sql(live.store, "SELECT status, note FROM entities WHERE event_row = ? AND kind = 'unstruct'",
                   (event["id"],))
    event = dict(event)
    event["problems"] = [p["message"] for p in json.loads(event["problems"] or "[]")]
    return event, dict(entity)


# --- regular expressions ------------------------------------------------------------------------------------

def test_a_backtracking_pattern_gets_a_correct_verdict_while_the_collector_keeps_answering(
        make_live_server: Callable[..., Any], tmp_path: Path) -> None:
    schema = self_describing({"word": {"type": "string", "pattern": "^([a-z]+)+$"}})
    live = make_live_server(iglu_dirs=[str(repository(tmp_path / "acme", json.dumps(schema)))])
    bad = track(live, {"word": CATASTROPHIC})
    good = track(live, {"word": "a" * 30})
    decoded_while_healthy(live)
    event, entity = stored(live, bad)
    assert (event["valid"], event["unverified"], entity["status"]) == (0, 0, "invalid")
    assert event["problems"] == [f'word 1-0-0: $.word "{CATASTROPHIC}" does not match the pattern ^([a-z]+)+$ '
                                 "(the self-describing event)"]
    event, entity = stored(live, good)
    assert (event["valid"], event["unverified"], entity["status"]) == (1, 0, "valid")


@pytest.mark.parametrize(("pattern", "feature"), [
    ("^(?=([a-z]+)+$)", "a lookahead or lookbehind"),
    (r"^([a-z])\1$", "a backreference"),
])
def test_a_pattern_re2_cannot_run_makes_the_entity_unverified_with_the_reason(
        make_live_server: Callable[..., Any], tmp_path: Path, pattern: str, feature: str) -> None:
    schema = self_describing({"word": {"type": "string", "pattern": pattern}})
    live = make_live_server(iglu_dirs=[str(repository(tmp_path / "acme", json.dumps(schema)))])
    event_id = track(live, {"word": CATASTROPHIC})
    decoded_while_healthy(live)
    event, entity = stored(live, event_id)
    assert (event["valid"], event["unverified"], entity["status"]) == (1, 1, "unverified")
    assert entity["note"].startswith(f"word 1-0-0: the pattern {pattern!r} uses {feature}, which the linear-time ")
    assert "(RE2) cannot run" in entity["note"]


def test_pattern_properties_and_formats_run_on_the_linear_engine(tmp_path: Path) -> None:
    schema = self_describing({}, patternProperties={"^([a-z]+)+$": {"type": "integer"}}, additionalProperties=False)
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, json.dumps(schema)))]))
    verdict = checker.check(WORD, {CATASTROPHIC: 1})
    assert verdict.status == "invalid"
    assert [p.message for p in verdict.problems] == [
        f'word 1-0-0: "{CATASTROPHIC}" is not allowed (additionalProperties: false)']
    assert checker.check(WORD, {"abc": 1}).status == "valid"
    assert checker.check(WORD, {"abc": "one"}).status == "invalid"
    dated = self_describing({"at": {"type": "string", "format": "date-time"}})
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path / "dated", json.dumps(dated)))]))
    assert checker.check(WORD, {"at": "2026-01-31T12:00:00Z"}).status == "valid"
    assert checker.check(WORD, {"at": "2026-01-31T12:00:00Z" + "0" * 100_000}).status == "invalid"


def test_a_lone_surrogate_against_a_pattern_is_unverified_not_a_crash(tmp_path: Path) -> None:
    schema = self_describing({"word": {"type": "string", "pattern": "^[a-z]+$"}})
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, json.dumps(schema)))]))
    verdict = checker.check(WORD, json.loads('{"word": "ab\\ud800"}'))
    assert verdict.status == "unverified"
    assert "lone UTF-16 surrogate" in verdict.note


# --- registries: deadline and size cap ------------------------------------------------------------------------

class Dripping(BaseHTTPRequestHandler):
    """Answers one byte a second: the status line and headers (when told), or a body that never ends."""

    drip_headers = False

    def do_GET(self) -> None:  # noqa: N802
        head = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
        if not self.drip_headers:
            self.wfile.write(head)
            self.wfile.flush()
        for byte in (head if self.drip_headers else b"") + b'{"type": "object"' + b" " * 60:
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up: the point of the test
                return
            time.sleep(1)


class DrippingHeaders(Dripping):
    drip_headers = True


@pytest.mark.parametrize("handler", [Dripping, DrippingHeaders], ids=["body", "headers"])
def test_a_dripping_registry_is_cut_off_by_the_deadline(serve: Callable[..., QuietServer], handler: type) -> None:
    registry = serve(handler=handler)
    checker = IgluChecker(Resolver([HttpRegistry(registry.url, name="Drip", timeout=0.5)]))
    verdict = checker.check(WORD, {})
    assert verdict.status == "unverified"
    assert verdict.note == f"could not reach Drip ({registry.url}): timed out after 0.5 s"


class Huge(BaseHTTPRequestHandler):
    """Answers 600 MiB of JSON string, with its size declared or not, counting what it managed to send."""

    declared = True
    sent: list[int]
    done: threading.Event
    SIZE = 600 * 1024 * 1024

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.declared:
            self.send_header("Content-Length", str(self.SIZE))
        self.end_headers()
        chunk = b" " * (64 * 1024)
        try:
            while self.sent[0] < self.SIZE:
                self.wfile.write(chunk)
                self.sent[0] += len(chunk)
        except OSError:  # the client closed the connection: what it should do
            pass
        finally:
            self.done.set()


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_an_answer_bigger_than_the_cap_is_refused_without_reading_it_whole(
        serve: Callable[..., QuietServer], declared: bool) -> None:
    handler = type("HugeAnswer", (Huge,), {"declared": declared, "sent": [0], "done": threading.Event()})
    registry = serve(handler=handler)
    checker = IgluChecker(Resolver([HttpRegistry(registry.url, name="Huge", timeout=HTTP_TIMEOUT)]))
    verdict = checker.check(WORD, {})
    assert verdict.status == "unverified"
    assert verdict.note.startswith(f"Huge ({registry.url}) answered with a schema micro-dashboard does not read: "
                                   f"the answer from {registry.url}/schemas/com.acme/word/jsonschema/1-0-0 is ")
    assert f"more than the {MAX_SCHEMA_BYTES:,}" in verdict.note
    assert handler.done.wait(HTTP_TIMEOUT), "the server is still sending: the answer is being read"
    # What the kernel's socket buffers take is all that left the server: a few MiB, nowhere near 600.
    assert handler.sent[0] < 64 * 1024 * 1024
    # The refusal is remembered like a missing schema: the next event does not fetch it again.
    assert checker.check(WORD, {}).status == "unverified"
    assert len(registry.requests) == 1


# --- references -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["absolute", "relative to the schema's id"])
def test_a_remote_ref_is_never_fetched_and_the_entity_is_unverified(
        serve: Callable[..., QuietServer], tmp_path: Path, where: str) -> None:
    target = serve(handler=BaseHTTPRequestHandler)
    if where == "absolute":
        ref, extra = f"{target.url}/word.json", {}
    else:
        ref, extra = "word.json#/definitions/word", {"id": f"{target.url}/schemas/word"}
    schema = self_describing({"word": {"$ref": ref}}, **extra)
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, json.dumps(schema)))]))
    verdict = checker.check(WORD, {"word": "x"})
    assert verdict.status == "unverified"
    assert verdict.note == (f"word 1-0-0: the schema refers to {ref!r} ($ref), which micro-dashboard does not "
                            "fetch: only references within the same schema are followed")
    assert target.requests == []


def test_a_reference_within_the_same_schema_is_followed(tmp_path: Path) -> None:
    schema = self_describing({"word": {"$ref": "#/definitions/word"}},
                             definitions={"word": {"type": "string", "maxLength": 3}})
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, json.dumps(schema)))]))
    assert checker.check(WORD, {"word": "abc"}).status == "valid"
    assert checker.check(WORD, {"word": "abcd"}).status == "invalid"


def test_a_reference_to_itself_without_end_is_unverified(tmp_path: Path) -> None:
    schema = self_describing({}, allOf=[{"$ref": "#"}])
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, json.dumps(schema)))]))
    verdict = checker.check(WORD, {})
    assert verdict.status == "unverified"
    assert "refers to itself more deeply than micro-dashboard follows" in verdict.note


# --- depth ------------------------------------------------------------------------------------------------------

def deep_schema(levels: int) -> str:
    """Return a schema whose properties nest `levels` times: {"properties": {"a": {"properties": ...}}}."""
    inner = nested(levels, '{"type": "object"}', lambda text: '{"type": "object", "properties": {"a": ' + text + "}}")
    return json.dumps(self_describing({}))[:-1] + ', "allOf": [' + inner + "]}"


def test_a_5000_deep_schema_leaves_a_valid_event_valid_and_unverified(
        make_live_server: Callable[..., Any], tmp_path: Path) -> None:
    root = repository(tmp_path / "acme", deep_schema(5000))
    live = make_live_server(iglu_dirs=[str(root)])
    event_id = track(live, {"a": {}})
    decoded_while_healthy(live)
    event, entity = stored(live, event_id)
    assert (event["valid"], event["unverified"], entity["status"]) == (1, 1, "unverified")
    assert entity["note"].startswith(f"local {root} ({root / 'schemas'}) answered with a schema micro-dashboard "
                                     "does not read: the schema at ")
    assert entity["note"].endswith("is nested too deeply to read")
    assert requests.get(live.url + "/micro/bad", timeout=HTTP_TIMEOUT).json() == []


def test_a_schema_deeper_than_the_limit_is_unverified_with_the_limit(tmp_path: Path) -> None:
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, deep_schema(MAX_SCHEMA_DEPTH)))]))
    verdict = checker.check(WORD, {"a": {}})
    assert verdict.status == "unverified"
    assert verdict.note == (f"word 1-0-0: the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep, more than "
                            "micro-dashboard checks")


def test_a_5000_deep_datum_is_invalid_with_a_sentence(tmp_path: Path) -> None:
    schema = self_describing({"word": {"type": "array"}})
    checker = IgluChecker(Resolver([EmbeddedRegistry(repository(tmp_path, json.dumps(schema)))]))
    verdict = checker.check(WORD, {"word": deep_value(5000)})
    assert verdict.status == "invalid"
    assert [p.message for p in verdict.problems] == [
        f"word 1-0-0: the data is nested more than {MAX_DATA_DEPTH} levels deep, more than micro-dashboard checks"]
    assert verdict.error["dataReports"][0]["keyword"] == "maxDepth"
    assert checker.check(WORD, {"word": deep_value(MAX_DATA_DEPTH - 2)}).status == "valid"


def test_deep_data_through_a_live_dashboard_is_a_bad_row_with_a_sentence(
        make_live_server: Callable[..., Any], tmp_path: Path) -> None:
    schema = self_describing({"word": {"type": "array"}})
    live = make_live_server(iglu_dirs=[str(repository(tmp_path / "acme", json.dumps(schema)))])
    ids = {}
    for levels in (100, 5000):  # 100 parses and meets our limit; 5000 is too deep for the JSON reader itself
        data = nested(levels, '"bottom"', lambda text: "[" + text + "]")
        ue = '{"schema": "' + f"{SP}/unstruct_event/jsonschema/1-0-0" + '", "data": {"schema": "' + WORD + \
            '", "data": {"word": ' + data + "}}}"
        ids[levels] = f"00000000-0000-4000-8000-{levels:012d}"
        body = {"schema": f"{SP}/payload_data/jsonschema/1-0-4",
                "data": [{"e": "ue", "p": "web", "tv": "t", "eid": ids[levels], "ue_pr": ue}]}
        answer = requests.post(live.url + "/com.snowplowanalytics.snowplow/tp2", json=body, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200
    decoded_while_healthy(live)
    event, entity = stored(live, ids[100])
    assert (event["valid"], entity["status"]) == (0, "invalid")
    assert event["problems"] == [f"word 1-0-0: the data is nested more than {MAX_DATA_DEPTH} levels deep, more "
                                 "than micro-dashboard checks (the self-describing event)"]
    [deepest] = sql(live.store, "SELECT valid, problems FROM events WHERE event_id = ?", (ids[5000],))
    assert deepest["valid"] == 0 and "nested too deeply to read" in deepest["problems"]


# --- memory -----------------------------------------------------------------------------------------------------

class Everything(Registry):
    """A registry that has a schema for every URI (as a catch-all server would)."""

    kind = "embedded"

    @property
    def location(self) -> str:
        return "everywhere"

    def lookup(self, key: SchemaKey) -> Lookup:
        return Lookup("found", schema={"type": "object", "properties": {"n": {"type": "integer"}}})


def test_the_resolvers_maps_stay_bounded_after_50000_distinct_unknown_uris(tmp_path: Path) -> None:
    checker = IgluChecker(Resolver([EmbeddedRegistry(tmp_path, name="empty")]))
    for n in range(50_000):
        assert checker.check(f"iglu:com.acme/made_up_{n}/jsonschema/1-0-0", {}).status == "invalid"
    assert checker.resolver.footprint() == {"resolved": 0, "settled": REMEMBERED_URIS, "attempts": REMEMBERED_URIS,
                                            "down": 0}
    assert checker.footprint() == 0
    # A registry that is down as well: every URI is unverified, its attempts recorded, the registry backed off once.
    backing_off = IgluChecker(Resolver([EmbeddedRegistry(tmp_path, name="empty"),
                                        HttpRegistry("http://127.0.0.1:9", name="down", timeout=0.5)]))
    for n in range(REMEMBERED_URIS * 4):
        assert backing_off.check(f"iglu:com.acme/made_up_{n}/jsonschema/1-0-0", {}).status == "unverified"
    assert backing_off.resolver.footprint() == {"resolved": 0, "settled": 0, "attempts": REMEMBERED_URIS, "down": 1}


def test_resolved_schemas_and_compiled_validators_stay_bounded() -> None:
    checker = IgluChecker(Resolver([Everything("everything")]))
    for n in range(REMEMBERED_URIS * 2):
        assert checker.check(f"iglu:com.acme/found_{n}/jsonschema/1-0-0", {"n": n}).status == "valid"
    assert checker.resolver.footprint()["resolved"] == REMEMBERED_URIS
    assert checker.footprint() == REMEMBERED_URIS
    # The first ones were pushed out and resolve again, with the same verdicts.
    assert checker.check("iglu:com.acme/found_0/jsonschema/1-0-0", {"n": "zero"}).status == "invalid"
