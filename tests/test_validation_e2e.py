"""End to end: events from the real Python tracker, validated against Iglu schemas served over HTTP or from disk."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dashboards import Dashboards, LiveServer, base_settings
from snowplow_tracker import (
    Emitter,
    PageView,
    SelfDescribing,
    SelfDescribingJson,
    StructuredEvent,
    Tracker,
)
from support import (
    APPLICATION_ERROR,
    BAD_ROW_SCHEMA,
    CLIENT_SESSION,
    GITLAB_STANDARD,
    IGLU_CENTRAL,
    IGLU_GITLAB,
    LINK_CLICK,
    MOBILE_CONTEXT,
    SP,
    WEB_PAGE,
    QuietServer,
    free_port,
    sql,
    wait_for,
)

pytestmark = [pytest.mark.needs_iglu_central, pytest.mark.needs_iglu_gitlab]

THING = "iglu:com.acme/thing/jsonschema/1-0-0"
UNKNOWN = "iglu:com.acme/nothing_here/jsonschema/1-0-0"
THING_SCHEMA = {
    "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
    "self": {"vendor": "com.acme", "name": "thing", "format": "jsonschema", "version": "1-0-0"},
    "type": "object",
    "properties": {"colour": {"enum": ["red", "green"]}, "size": {"type": "integer", "minimum": 1}},
    "required": ["colour"],
    "additionalProperties": False,
}
SESSION = {"userId": "3c8f7e0e-2b4e-4c2a-9a3e-6f1d2c3b4a5e", "sessionId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
           "sessionIndex": 3, "previousSessionId": None, "storageMechanism": "COOKIE_1"}
MOBILE = {"osType": "android", "osVersion": "14", "deviceManufacturer": "Google", "deviceModel": "Pixel 8"}
GITLAB_OK = {"environment": "production", "source": "gitlab-rails", "project_id": 42, "namespace_id": 7}
HTTP_TIMEOUT = 10  # seconds a test waits for the collector at most; never a timing assertion
# Run a test with the schemas served over HTTP and again with the same repositories as --iglu-dir folders.
BOTH_SOURCES = pytest.mark.parametrize("app_config", ["http", "dirs"], indirect=True)


@pytest.fixture
def acme_dir(tmp_path: Path) -> Path:
    """Write a custom schema into a static repository on disk: schemas/com.acme/thing/jsonschema/1-0-0."""
    root = tmp_path / "acme"
    file = root / "schemas" / "com.acme" / "thing" / "jsonschema" / "1-0-0"
    file.parent.mkdir(parents=True)
    file.write_text(json.dumps(THING_SCHEMA), encoding="utf-8")
    return root


@pytest.fixture
def app_config(request: pytest.FixtureRequest, tmp_path: Path, acme_dir: Path) -> dict:
    """Configure the app with Iglu Central and GitLab as local HTTP registries, or ("dirs") as --iglu-dir folders."""
    config = {"db": str(tmp_path / "events.db"), "iglu_defaults": False, "iglu_timeout": 2.0}
    if getattr(request, "param", "http") == "http":
        central, gitlab = request.getfixturevalue("central"), request.getfixturevalue("gitlab")
        return {**config, "iglu_dirs": [str(acme_dir)], "iglu_registries": [central.url, gitlab.url]}
    return {**config, "iglu_dirs": [str(acme_dir), str(IGLU_CENTRAL), str(IGLU_GITLAB)]}


# --- a dashboard per scenario ---------------------------------------------------------------------------

@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start dashboards with given settings (on tmp_path/events.db unless told); stop them after the test."""
    with Dashboards(base_settings(tmp_path)) as dashboards:
        yield dashboards.live_server


# --- sending events -------------------------------------------------------------------------------------

def tracker_for(server: Any, method: str = "post") -> Tracker:
    """Return a real Snowplow Python tracker that sends each event at once to `server`."""
    failed: list[Any] = []
    emitter = Emitter("127.0.0.1", protocol="http", port=server.port, method=method, batch_size=1,
                      request_timeout=HTTP_TIMEOUT, on_failure=lambda count, events: failed.extend(events))
    tracker = Tracker("e2e", emitter, app_id="e2e-app")
    tracker.failed = failed  # type: ignore[attr-defined]
    return tracker


def track(server: Any, event: Any, method: str = "post") -> str:
    """Send one event with the real tracker and return its event id; fail if the collector did not accept it."""
    tracker = tracker_for(server, method)
    event_id = tracker.track(event)
    tracker.flush()
    assert not tracker.failed, "the collector did not answer 200"  # type: ignore[attr-defined]
    assert event_id
    return event_id


def sdj(schema: str, data: dict) -> SelfDescribingJson:
    """Return a self-describing JSON for the tracker."""
    return SelfDescribingJson(schema, data)


def link_click(**data: Any) -> SelfDescribing:
    """Return a link_click 1-0-1 self-describing event."""
    return SelfDescribing(sdj(LINK_CLICK, data))


def event_row(store: Any, event_id: str) -> dict[str, Any]:
    """Return the stored event row with its problems decoded, once the pipeline has decoded what was sent."""
    assert store.wait_decoded(store.acknowledged_through, 10), "the pipeline did not catch up"
    rows = sql(store, "SELECT id, valid, unverified, problems FROM events WHERE event_id = ?", (event_id,))
    assert len(rows) == 1, f"expected one stored event {event_id}, found {len(rows)}"
    row = dict(rows[0])
    row["problems"] = json.loads(row["problems"] or "[]")
    return row


def entities(store: Any, event_id: str) -> list[dict[str, Any]]:
    """Return the stored entities of an event, the self-describing event first."""
    row = event_row(store, event_id)
    return [dict(r) for r in sql(store, "SELECT * FROM entities WHERE event_row = ? ORDER BY kind != 'unstruct', "
                                        "position", (row["id"],))]


def sentences(store: Any, event_id: str) -> list[str]:
    """Return the plain sentences stored for an event."""
    return [p["message"] for p in event_row(store, event_id)["problems"]]


def bad_rows(base_url: str) -> list[dict[str, Any]]:
    """Return the schema_violations bad rows listed by /micro/bad, decoded."""
    answer = requests.get(base_url + "/micro/bad", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    rows = []
    for bad in answer.json():
        for error in bad["errors"][1:]:
            row = json.loads(error) if isinstance(error, str) else error
            rows.append(row)
    return rows


def validation_messages(base_url: str) -> list[dict[str, Any]]:
    """Return every failure message of every schema_violations bad row /micro/bad lists."""
    return [m for row in bad_rows(base_url) if "schema_violations" in row["schema"]
            for m in row["data"]["failure"]["messages"]]


def good_event_ids(base_url: str) -> list[str]:
    """Return the event ids /micro/good lists."""
    answer = requests.get(base_url + "/micro/good", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    return [e["event"]["event_id"] for e in answer.json()]


# --- Iglu Central and GitLab schemas, over HTTP and from directories --------------------------------------

@BOTH_SOURCES
def test_valid_link_click_is_good(live_server: Any) -> None:
    """A link_click 1-0-1 with targetUrl is stored valid and verified and listed by /micro/good."""
    event_id = track(live_server, link_click(targetUrl="https://example.com/a", elementId="go"))
    row = event_row(live_server.store, event_id)
    assert (row["valid"], row["unverified"]) == (1, 0)
    assert [(e["schema"], e["status"]) for e in entities(live_server.store, event_id)] == [(LINK_CLICK, "valid")]
    assert event_id in good_event_ids(live_server.url)
    assert requests.get(live_server.url + "/micro/all", timeout=HTTP_TIMEOUT).json() == \
        {"total": 1, "good": 1, "bad": 0}


@BOTH_SOURCES
def test_link_click_without_target_url_is_bad_with_a_validation_error_and_a_sentence(live_server: Any) -> None:
    """A link_click missing targetUrl lands in /micro/bad with a ValidationError at $.targetUrl and a plain sentence."""
    event_id = track(live_server, link_click(elementId="go"))
    assert event_row(live_server.store, event_id)["valid"] == 0
    assert event_id not in good_event_ids(live_server.url)
    rows = bad_rows(live_server.url)
    assert [r["schema"] for r in rows] == [BAD_ROW_SCHEMA]
    [message] = rows[0]["data"]["failure"]["messages"]
    assert message["schemaKey"] == LINK_CLICK
    assert message["error"]["error"] == "ValidationError"
    [report] = message["error"]["dataReports"]
    assert (report["path"], report["keyword"], report["targets"]) == ("$", "required", ["targetUrl"])
    assert any(p["name"] == "e" and p["value"] == "ue" for p in rows[0]["data"]["payload"]["raw"]["parameters"])
    [said] = sentences(live_server.store, event_id)
    assert said.startswith('link_click 1-0-1: required property "targetUrl" is missing')
    assert "the self-describing event" in said
    [entity] = entities(live_server.store, event_id)
    assert entity["status"] == "invalid"
    assert 'required property "targetUrl" is missing' in entity["note"]


def test_link_click_sent_with_get_is_validated_too(live_server: Any) -> None:
    """The tracker's GET requests are validated like POSTs: an empty targetUrl is too short."""
    event_id = track(live_server, link_click(targetUrl=""), method="get")
    assert event_row(live_server.store, event_id)["valid"] == 0
    [said] = sentences(live_server.store, event_id)
    assert said.startswith("link_click 1-0-1: $.targetUrl must not be empty")


def test_page_view_with_a_web_page_context_is_valid(live_server: Any) -> None:
    """A page view with a web_page context whose id is a UUID is valid."""
    context = sdj(WEB_PAGE, {"id": "7f1a0b8e-2f7d-4b8a-9c3e-1d2e3f4a5b6c"})
    event_id = track(live_server, PageView("https://example.com/", "Home", context=[context]))
    assert event_row(live_server.store, event_id)["valid"] == 1
    assert [(e["kind"], e["schema"], e["status"]) for e in entities(live_server.store, event_id)] == [
        ("context", WEB_PAGE, "valid")]


def test_web_page_context_with_a_bad_id_makes_the_page_view_invalid(live_server: Any) -> None:
    """A web_page id that is not a UUID makes the page view invalid, naming $.id and the context."""
    context = sdj(WEB_PAGE, {"id": "page-1"})
    event_id = track(live_server, PageView("https://example.com/", context=[context]))
    assert event_row(live_server.store, event_id)["valid"] == 0
    [said] = sentences(live_server.store, event_id)
    assert said.startswith('web_page 1-0-0: $.id "page-1" does not match the pattern')
    assert "(context 0)" in said
    [message] = validation_messages(live_server.url)
    assert message["schemaKey"] == WEB_PAGE
    assert [r["path"] for r in message["error"]["dataReports"]] == ["$.id"]


@BOTH_SOURCES
def test_struct_event_with_client_session_and_mobile_contexts_is_valid(live_server: Any) -> None:
    """A struct event with valid client_session 1-0-2 and mobile_context contexts is good."""
    event = StructuredEvent("shop", "add", label="sku-1", value=2,
                            context=[sdj(CLIENT_SESSION, SESSION), sdj(MOBILE_CONTEXT, MOBILE)])
    event_id = track(live_server, event)
    assert (event_row(live_server.store, event_id)["valid"], event_row(live_server.store, event_id)["unverified"]) \
        == (1, 0)
    assert [e["status"] for e in entities(live_server.store, event_id)] == ["valid", "valid"]
    assert event_id in good_event_ids(live_server.url)


def test_invalid_client_session_names_each_wrong_field(live_server: Any) -> None:
    """A client_session with a bad storageMechanism and a negative sessionIndex gets one sentence for each."""
    session = {**SESSION, "storageMechanism": "FLOPPY", "sessionIndex": -1}
    event_id = track(live_server, StructuredEvent("shop", "add", context=[sdj(CLIENT_SESSION, session)]))
    assert event_row(live_server.store, event_id)["valid"] == 0
    said = sentences(live_server.store, event_id)
    assert any(s.startswith("client_session 1-0-2: $.storageMechanism must be one of") and '"FLOPPY"' in s
               for s in said), said
    assert any(s.startswith("client_session 1-0-2: $.sessionIndex must be at least 0, got -1") for s in said), said
    [message] = validation_messages(live_server.url)
    assert sorted(r["path"] for r in message["error"]["dataReports"]) == ["$.sessionIndex", "$.storageMechanism"]


def test_mobile_context_without_device_model_is_invalid(live_server: Any) -> None:
    """A mobile_context missing deviceModel makes a screen-like struct event invalid, naming the context position."""
    mobile = {k: v for k, v in MOBILE.items() if k != "deviceModel"}
    event = StructuredEvent("app", "open", context=[sdj(CLIENT_SESSION, SESSION), sdj(MOBILE_CONTEXT, mobile)])
    event_id = track(live_server, event)
    assert event_row(live_server.store, event_id)["valid"] == 0
    assert [e["status"] for e in entities(live_server.store, event_id)] == ["valid", "invalid"]
    [said] = sentences(live_server.store, event_id)
    assert said == 'mobile_context 1-0-3: required property "deviceModel" is missing (context 1)'


def test_application_error_event_is_valid_and_an_unknown_language_is_not(live_server: Any) -> None:
    """An application_error with a known programmingLanguage is good; one with an unknown language is bad."""
    good = track(live_server, SelfDescribing(sdj(APPLICATION_ERROR, {
        "programmingLanguage": "PYTHON", "message": "division by zero", "lineNumber": 12, "isFatal": False})))
    bad = track(live_server, SelfDescribing(sdj(APPLICATION_ERROR, {
        "programmingLanguage": "COBOL", "message": "oops"})))
    assert event_row(live_server.store, good)["valid"] == 1
    assert event_row(live_server.store, bad)["valid"] == 0
    [said] = sentences(live_server.store, bad)
    assert said.startswith("application_error 1-0-2: $.programmingLanguage must be one of")
    assert '"COBOL"' in said


def test_struct_event_with_a_valid_gitlab_standard_context_is_good(live_server: Any) -> None:
    """A struct event with a gitlab_standard 1-1-8 context GitLab's registry resolves is valid."""
    event_id = track(live_server, StructuredEvent("projects", "create", context=[sdj(GITLAB_STANDARD, GITLAB_OK)]))
    assert event_row(live_server.store, event_id)["valid"] == 1
    assert [(e["schema"], e["status"]) for e in entities(live_server.store, event_id)] == [(GITLAB_STANDARD, "valid")]


@BOTH_SOURCES
@pytest.mark.parametrize(("change", "path", "words"), [
    ({"user_ids": [1, 2]}, "$", '"user_ids" is not allowed (additionalProperties: false)'),
    ({"environment": "production-" + "x" * 30}, "$.environment",
     "$.environment is too long (41 characters, at most 32)"),
    ({"project_id": "42"}, "$.project_id", '$.project_id must be integer or null, got string "42"'),
], ids=["unknown key", "long environment", "string project_id"])
def test_invalid_gitlab_standard_context_makes_the_struct_event_bad_with_a_sentence(
        live_server: Any, change: dict, path: str, words: str) -> None:
    """Each mistake in a gitlab_standard context makes the event invalid with a sentence naming the field."""
    context = sdj(GITLAB_STANDARD, {**GITLAB_OK, **change})
    event_id = track(live_server, StructuredEvent("projects", "create", context=[context]))
    assert event_row(live_server.store, event_id)["valid"] == 0
    [said] = sentences(live_server.store, event_id)
    assert said == f"gitlab_standard 1-1-8: {words} (context 0)"
    [message] = validation_messages(live_server.url)
    assert message["schemaKey"] == GITLAB_STANDARD
    assert [r["path"] for r in message["error"]["dataReports"]] == [path]


def test_custom_schema_from_a_local_directory_validates_events(live_server: Any) -> None:
    """A com.acme schema written to a local --iglu-dir validates a self-describing event and a context."""
    good = track(live_server, SelfDescribing(sdj(THING, {"colour": "red", "size": 2})))
    with_context = track(live_server, PageView("https://acme.test/", context=[sdj(THING, {"colour": "green"})]))
    bad = track(live_server, SelfDescribing(sdj(THING, {"colour": "blue", "size": 0})))
    assert event_row(live_server.store, good)["valid"] == 1
    assert event_row(live_server.store, with_context)["valid"] == 1
    assert event_row(live_server.store, bad)["valid"] == 0
    said = sentences(live_server.store, bad)
    assert any(s.startswith('thing 1-0-0: $.colour must be one of "red", "green"; got "blue"') for s in said), said
    assert any(s.startswith("thing 1-0-0: $.size must be at least 1, got 0") for s in said), said


@BOTH_SOURCES
def test_unknown_schema_is_bad_with_a_resolution_error_and_lookup_history(live_server: Any) -> None:
    """A schema no registry has makes the event invalid: ResolutionError with every registry's NotFound."""
    event_id = track(live_server, SelfDescribing(sdj(UNKNOWN, {"a": 1})))
    row = event_row(live_server.store, event_id)
    assert (row["valid"], row["unverified"]) == (0, 0)
    [message] = validation_messages(live_server.url)
    assert message["schemaKey"] == UNKNOWN
    assert message["error"]["error"] == "ResolutionError"
    history = message["error"]["lookupHistory"]
    configured = live_server.app.config["SETTINGS"]
    assert len(history) == len(configured.iglu_dirs) + len(configured.iglu_registries)
    for entry in history:
        assert entry["errors"] == [{"error": "NotFound"}]
        assert entry["attempts"] >= 1 and entry["lastAttempt"]
    [said] = sentences(live_server.store, event_id)
    assert f"schema {UNKNOWN} was not found in any registry" in said


# --- registries that are down or hang ---------------------------------------------------------------------

def test_refused_registry_keeps_the_event_valid_but_unverified_with_a_note(
        dashboard: Callable[..., LiveServer]) -> None:
    """A registry refusing connections leaves the event valid, marked unverified, with a note naming the registry."""
    down = f"http://127.0.0.1:{free_port()}"
    live = dashboard(iglu_registries=[down], iglu_timeout=0.5)
    event_id = track(live, link_click(elementId="no target, but nobody can tell"))
    row = event_row(live.store, event_id)
    assert (row["valid"], row["unverified"]) == (1, 1)
    assert row["problems"] == []
    [entity] = entities(live.store, event_id)
    assert entity["status"] == "unverified"
    assert down in entity["note"] and "connection refused" in entity["note"]
    assert event_id in good_event_ids(live.url)


def test_refused_registry_in_strict_mode_makes_the_event_invalid(dashboard: Callable[..., LiveServer]) -> None:
    """With strict on, a schema that could not be checked makes the event invalid with a ResolutionError."""
    down = f"http://127.0.0.1:{free_port()}"
    live = dashboard(iglu_registries=[down], iglu_timeout=0.5, strict=True)
    event_id = track(live, link_click(targetUrl="https://example.com/"))
    row = event_row(live.store, event_id)
    assert (row["valid"], row["unverified"]) == (0, 0)
    [message] = validation_messages(live.url)
    assert message["error"]["error"] == "ResolutionError"
    assert message["error"]["lookupHistory"][0]["errors"] == [{"error": "RepoFailure", "message": "connection refused"}]
    [said] = sentences(live.store, event_id)
    assert "could not be checked (strict mode)" in said and down in said


def test_hanging_registry_does_not_hold_up_the_collector_and_the_event_is_unverified(
        dashboard: Callable[..., LiveServer], hanging_url: str) -> None:
    """A registry that accepts and never answers times out: the collector still answers 200, the event is unverified."""
    live = dashboard(iglu_registries=[hanging_url], iglu_timeout=0.5)
    body = {"schema": f"{SP}/payload_data/jsonschema/1-0-4", "data": [{
        "e": "ue", "p": "web", "tv": "js-3.0.0", "eid": "5f2a8e6b-9c4d-4e1f-8a7b-2c3d4e5f6a7b",
        "ue_pr": json.dumps({"schema": f"{SP}/unstruct_event/jsonschema/1-0-0",
                             "data": {"schema": LINK_CLICK, "data": {"targetUrl": "https://example.com/"}}})}]}
    answer = requests.post(live.url + "/com.snowplowanalytics.snowplow/tp2", json=body, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    row = event_row(live.store, "5f2a8e6b-9c4d-4e1f-8a7b-2c3d4e5f6a7b")
    assert (row["valid"], row["unverified"]) == (1, 1)
    [entity] = entities(live.store, "5f2a8e6b-9c4d-4e1f-8a7b-2c3d4e5f6a7b")
    assert hanging_url in entity["note"] and "timed out" in entity["note"]


def test_unverified_events_are_revalidated_when_the_registry_comes_back(
        dashboard: Callable[..., LiveServer], serve: Callable[..., QuietServer]) -> None:
    """Events stored unverified while the registry was down are re-checked once a later event's schema resolves."""
    port = free_port()
    live = dashboard(iglu_registries=[f"http://127.0.0.1:{port}"], iglu_timeout=0.5)
    fine = track(live, link_click(targetUrl="https://example.com/"))
    broken = track(live, link_click(elementId="no target"))
    assert [event_row(live.store, e)["unverified"] for e in (fine, broken)] == [1, 1]

    serve(IGLU_CENTRAL, port=port)  # the network is back, on the same address
    live.app.config["CHECKER"].resolver.forget()  # as if the failed registry's back-off period had passed
    later = track(live, link_click(targetUrl="https://example.com/later"))
    assert event_row(live.store, later)["unverified"] == 0

    assert wait_for(lambda: event_row(live.store, broken)["unverified"] == 0
                    and event_row(live.store, fine)["unverified"] == 0)
    assert (event_row(live.store, fine)["valid"], [e["status"] for e in entities(live.store, fine)]) == (1, ["valid"])
    row = event_row(live.store, broken)
    assert row["valid"] == 0
    [entity] = entities(live.store, broken)
    assert entity["status"] == "invalid"
    [said] = [p["message"] for p in row["problems"]]
    assert said.startswith('link_click 1-0-1: required property "targetUrl" is missing')
    assert "checked after its schema became available" in said
    [bad] = bad_rows(live.url)
    assert bad["schema"] == BAD_ROW_SCHEMA
    [message] = bad["data"]["failure"]["messages"]
    assert (message["schemaKey"], message["error"]["dataReports"][0]["targets"]) == (LINK_CLICK, ["targetUrl"])
    payload = bad["data"]["payload"]  # the same {enriched, raw} payload as a bad row made on arrival
    assert payload["enriched"]["event_id"] == broken and payload["enriched"]["event"] == "unstruct"
    assert payload["raw"]["vendor"] == "com.snowplowanalytics.snowplow" and payload["raw"]["version"] == "tp2"
    assert {"name": "e", "value": "ue"} in payload["raw"]["parameters"]
    assert sorted(good_event_ids(live.url)) == sorted([fine, later])


def test_unverified_events_from_a_previous_run_are_revalidated_after_a_restart(
        dashboard: Callable[..., LiveServer], central: QuietServer) -> None:
    """A dashboard restarted with a reachable registry re-checks the events an earlier offline run left unverified."""
    offline = dashboard(iglu_registries=[f"http://127.0.0.1:{free_port()}"], iglu_timeout=0.5)
    broken = track(offline, link_click(elementId="no target"))
    assert event_row(offline.store, broken)["unverified"] == 1
    offline.close()

    online = dashboard(iglu_registries=[central.url])
    track(online, link_click(targetUrl="https://example.com/"))
    assert wait_for(lambda: event_row(online.store, broken)["unverified"] == 0)
    assert event_row(online.store, broken)["valid"] == 0


# --- the schema cache, resolver configs and the lookup endpoint -------------------------------------------

def test_schemas_fetched_over_http_resolve_from_the_database_after_a_restart_without_network(
        dashboard: Callable[..., LiveServer], serve: Callable[..., QuietServer]) -> None:
    """A restarted dashboard resolves schemas an earlier run fetched over HTTP, with the registry gone."""
    central = serve(IGLU_CENTRAL)
    first = dashboard(iglu_registries=[central.url])
    event_row(first.store, track(first, link_click(targetUrl="https://example.com/")))  # decoded, so looked up
    cached = {r["uri"]: r["source"] for r in sql(first.store, "SELECT uri, source FROM schemas")}
    assert cached == {LINK_CLICK: central.url}
    first.close()
    central.close()  # the network is gone: the registry's address now refuses connections

    second = dashboard(iglu_registries=[central.url], iglu_timeout=0.5)
    good = track(second, link_click(targetUrl="https://example.com/again"))
    bad = track(second, link_click(elementId="no target"))
    assert (event_row(second.store, good)["valid"], event_row(second.store, good)["unverified"]) == (1, 0)
    assert (event_row(second.store, bad)["valid"], event_row(second.store, bad)["unverified"]) == (0, 0)
    answer = requests.get(second.url + "/micro/iglu/com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
                          timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers["X-Iglu-Source"] == f"{central.url} (from the schema cache)"


def test_resolver_config_file_with_an_http_and_an_embedded_repository(
        dashboard: Callable[..., LiveServer], central: QuietServer, gitlab: QuietServer,
        acme_dir: Path, tmp_path: Path) -> None:
    """A Snowplow resolver-config file names the registries: HTTP ones and a relative embedded path both work."""
    config = {
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 500, "cacheTtl": 600, "repositories": [
            {"name": "Local Central", "priority": 0, "vendorPrefixes": ["com.snowplowanalytics"],
             "connection": {"http": {"uri": central.url}}},
            {"name": "Local GitLab", "priority": 0, "vendorPrefixes": ["com.gitlab"],
             "connection": {"http": {"uri": gitlab.url, "apikey": None}}},
            {"name": "Acme", "priority": 1, "vendorPrefixes": ["com.acme"],
             "connection": {"embedded": {"path": acme_dir.name}}},
        ]},
    }
    resolver_file = tmp_path / "resolver.json"
    resolver_file.write_text(json.dumps(config), encoding="utf-8")
    live = dashboard(iglu_resolver=str(resolver_file))
    good = track(live, link_click(targetUrl="https://example.com/", elementId="x"))
    with_contexts = track(live, StructuredEvent("a", "b", context=[
        sdj(THING, {"colour": "red"}), sdj(GITLAB_STANDARD, GITLAB_OK)]))
    bad = track(live, StructuredEvent("a", "b", context=[sdj(THING, {"colour": "red", "extra": 1})]))
    assert [event_row(live.store, e)["valid"] for e in (good, with_contexts, bad)] == [1, 1, 0]
    assert sentences(live.store, bad) == [
        'thing 1-0-0: "extra" is not allowed (additionalProperties: false) (context 0)']
    sources = {}
    for uri in (LINK_CLICK, GITLAB_STANDARD, THING):
        vendor, name, fmt, version = uri.removeprefix("iglu:").split("/")
        answer = requests.get(f"{live.url}/micro/iglu/{vendor}/{name}/{fmt}/{version}", timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200
        sources[name] = answer.headers["X-Iglu-Source"]
    assert sources == {"link_click": "Local Central", "gitlab_standard": "Local GitLab", "thing": "Acme"}


def test_iglu_endpoint_returns_a_schema_that_resolves(live_server: Any) -> None:
    """GET /micro/iglu/... answers 200 with the schema itself."""
    answer = requests.get(live_server.url + "/micro/iglu/com.gitlab/gitlab_standard/jsonschema/1-1-8",
                          timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["self"] == {"vendor": "com.gitlab", "name": "gitlab_standard", "format": "jsonschema",
                              "version": "1-1-8"}
    assert schema["properties"]["environment"]["maxLength"] == 32
    assert answer.headers["X-Iglu-Source"]


def test_iglu_endpoint_answers_404_with_the_resolution_error_for_an_unknown_schema(live_server: Any) -> None:
    """GET /micro/iglu/... for a schema no registry has answers 404 with the lookup history."""
    answer = requests.get(live_server.url + "/micro/iglu/com.acme/nothing_here/jsonschema/1-0-0",
                          timeout=HTTP_TIMEOUT)
    assert answer.status_code == 404
    error = answer.json()
    assert (error["error"], error["schemaKey"], error["status"]) == ("ResolutionError", UNKNOWN, "not_found")
    assert error["lookupHistory"] and all(h["errors"] == [{"error": "NotFound"}] for h in error["lookupHistory"])


@pytest.mark.parametrize("path", [
    "com.snowplowanalytics.snowplow/link_click/jsonschema/1-0",
    "com.snowplowanalytics.snowplow/link_click/jsonschema/1.0.1",
    "com.snowplowanalytics.snowplow/link_click/1-0-1",
])
def test_iglu_endpoint_answers_404_with_the_expected_format_for_a_malformed_lookup(live_server: Any, path: str) -> None:
    """GET /micro/iglu/... with a malformed version or path answers 404 saying what the lookup should look like."""
    answer = requests.get(f"{live_server.url}/micro/iglu/{path}", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "iglu/{vendor}/{schemaName}/jsonschema/{model}-{revision}-{addition}" in answer.text
