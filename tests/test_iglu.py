"""Iglu resolution and validation against the real Iglu Central and GitLab static repositories."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from support import (
    APPLICATION_ERROR,
    CLIENT_SESSION,
    GITLAB_STANDARD,
    IGLU_CENTRAL,
    IGLU_GITLAB,
    LINK_CLICK,
    MOBILE_CONTEXT,
    WEB_PAGE,
    QuietServer,
)

from micro_dashboard.iglu import (
    EmbeddedRegistry,
    HttpRegistry,
    IgluChecker,
    InvalidSchemaKey,
    MemorySchemaCache,
    Resolver,
    ResolverConfigError,
    SchemaKey,
    build_resolver,
    default_registries,
    pull_schemas,
)

FIXTURES = Path(__file__).resolve().parent / "iglu_fixtures"

pytestmark = [pytest.mark.needs_iglu_central, pytest.mark.needs_iglu_gitlab]

CHECKOUT = "iglu:com.acme/checkout/jsonschema/1-0-0"
UNKNOWN = "iglu:com.acme/thing/jsonschema/1-0-0"
# A registry's deadline for its whole answer: generous, since a loaded machine must not turn a found schema into a
# timeout; the hanging registry's test gives its own short one.
TIMEOUT = 5.0


@pytest.fixture
def resolver(central: QuietServer, gitlab: QuietServer) -> Resolver:
    """Build a resolver like the default one, but against the local servers and the test fixtures."""
    return Resolver([
        HttpRegistry(central.url, name="Iglu Central", timeout=TIMEOUT),
        HttpRegistry(gitlab.url, name="GitLab", vendor_prefixes=["com.gitlab"], timeout=TIMEOUT),
        EmbeddedRegistry(FIXTURES, name="fixtures"),
    ])


@pytest.fixture
def checker(resolver: Resolver) -> IgluChecker:
    """Check data through the local servers."""
    return IgluChecker(resolver)


class Failing(BaseHTTPRequestHandler):
    """Answer every request with 503."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(503)
        self.end_headers()


class NotJson(BaseHTTPRequestHandler):
    """Answer every request with an HTML page, like a captive portal."""

    def do_GET(self) -> None:  # noqa: N802
        body = b"<html>sign in to the wifi</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class IgluServer(BaseHTTPRequestHandler):
    """Serve link_click under /api/schemas/, like an Iglu Server; anything else is 404."""

    def do_GET(self) -> None:  # noqa: N802
        key = self.path.removeprefix("/api/schemas/")
        if self.path.startswith("/api/schemas/") and key == LINK_CLICK.removeprefix("iglu:"):
            body = (IGLU_CENTRAL / "schemas" / key).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


class Clock:
    """A hand-moved clock for the resolver's expiry times."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- schema keys ---------------------------------------------------------------------------------

def test_schema_key_parses_and_formats_an_iglu_uri() -> None:
    key = SchemaKey.parse(LINK_CLICK)
    assert (key.vendor, key.name, key.format, key.version) == (
        "com.snowplowanalytics.snowplow", "link_click", "jsonschema", "1-0-1")
    assert key.uri == LINK_CLICK == str(key)
    assert key.path == "com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
    assert key.model == 1


@pytest.mark.parametrize(("uri", "words"), [
    ("com.acme/thing/jsonschema/1-0-0", "does not start with 'iglu:'"),
    ("iglu:com.acme/thing/1-0-0", "3 parts"),
    ("iglu:com.acme/thing/jsonschema/1-0", "not model-revision-addition"),
    ("iglu:com.acme/thing/jsonschema/0-1-0", "not model-revision-addition"),
    ("iglu:com.acme/th ing/jsonschema/1-0-0", "character that is not allowed"),
])
def test_malformed_schema_key_error_says_what_is_wrong(uri: str, words: str) -> None:
    with pytest.raises(InvalidSchemaKey, match=words):
        SchemaKey.parse(uri)


# --- real Iglu Central and GitLab schemas over HTTP -----------------------------------------------

def test_link_click_with_target_url_is_valid(checker: IgluChecker) -> None:
    verdict = checker.check(LINK_CLICK, {"targetUrl": "https://example.com", "elementClasses": ["a", "b"]})
    assert verdict.status == "valid"
    assert verdict.error is None and verdict.problems == []


def test_link_click_without_target_url_reports_the_missing_property(checker: IgluChecker) -> None:
    verdict = checker.check(LINK_CLICK, {"elementId": "nav"})
    assert verdict.status == "invalid"
    assert verdict.error == {"error": "ValidationError", "dataReports": [{
        "message": "$.targetUrl: is missing but it is required",
        "path": "$", "keyword": "required", "targets": ["targetUrl"]}]}
    [problem] = verdict.problems
    assert problem.path == "$.targetUrl"
    assert problem.message == 'link_click 1-0-1: required property "targetUrl" is missing'
    assert problem.schema == LINK_CLICK and problem.keyword == "required"
    assert verdict.note == problem.message


def test_link_click_with_empty_target_url_is_too_short(checker: IgluChecker) -> None:
    verdict = checker.check(LINK_CLICK, {"targetUrl": ""})
    assert [p.message for p in verdict.problems] == [
        "link_click 1-0-1: $.targetUrl must not be empty (at least 1 character)"]


def test_web_page_id_must_match_the_uuid_pattern(checker: IgluChecker) -> None:
    assert checker.check(WEB_PAGE, {"id": "4b2d5d5c-3a4e-4a48-a40c-7a8f0e6b9d21"}).status == "valid"
    verdict = checker.check(WEB_PAGE, {"id": "not-a-uuid"})
    assert verdict.status == "invalid"
    [problem] = verdict.problems
    assert problem.path == "$.id" and problem.keyword == "pattern"
    assert problem.message.startswith('web_page 1-0-0: $.id "not-a-uuid" does not match the pattern ^[a-f')


def test_client_session_checks_uuid_format_enum_and_minimum(checker: IgluChecker) -> None:
    good = {"userId": "4b2d5d5c-3a4e-4a48-a40c-7a8f0e6b9d21",
            "sessionId": "0f0e2d8c-1b2a-4c3d-9e8f-7a6b5c4d3e2f", "sessionIndex": 3,
            "storageMechanism": "COOKIE_1", "firstEventTimestamp": "2026-11-22T05:01:01.441Z"}
    assert checker.check(CLIENT_SESSION, good).status == "valid"
    bad = {**good, "sessionId": "nope", "sessionIndex": -1, "storageMechanism": "DISK",
           "firstEventTimestamp": "yesterday"}
    verdict = checker.check(CLIENT_SESSION, bad)
    by_path = {p.path: p.message for p in verdict.problems}
    assert by_path == {
        "$.firstEventTimestamp": "client_session 1-0-2: $.firstEventTimestamp must be a date-time "
                                 '(RFC 3339, like 2026-01-31T12:00:00Z), got "yesterday"',
        "$.sessionId": "client_session 1-0-2: $.sessionId must be a UUID "
                       '(like 6f3d5c2e-1f0a-4b8e-9c1d-2a3b4c5d6e7f), got "nope"',
        "$.sessionIndex": "client_session 1-0-2: $.sessionIndex must be at least 0, got -1",
        "$.storageMechanism": 'client_session 1-0-2: $.storageMechanism must be one of "SQLITE", "COOKIE_1", '
                              '"COOKIE_3", "LOCAL_STORAGE", "FLASH_LSO"; got "DISK"',
    }
    # Snowplow's validator reports date-time and uuid formats under keywords of their own.
    assert {r["path"]: (r["keyword"], r["targets"]) for r in verdict.error["dataReports"]} == {
        "$.firstEventTimestamp": ("dateTime", ["yesterday", "date-time"]),
        "$.sessionId": ("uuid", ["nope", "uuid"]),
        "$.sessionIndex": ("minimum", ["0"]),
        "$.storageMechanism": ("enum", ["[SQLITE, COOKIE_1, COOKIE_3, LOCAL_STORAGE, FLASH_LSO]"]),
    }


def test_mobile_context_requires_its_four_device_fields(checker: IgluChecker) -> None:
    device = {"osType": "ios", "osVersion": "17.1", "deviceManufacturer": "Apple",
              "deviceModel": "iPhone15,2"}
    assert checker.check(MOBILE_CONTEXT, device).status == "valid"
    verdict = checker.check(MOBILE_CONTEXT, {"osType": "ios"})
    assert sorted(r["targets"][0] for r in verdict.error["dataReports"]) == [
        "deviceManufacturer", "deviceModel", "osVersion"]
    messages = [p.message for p in verdict.problems]
    assert 'mobile_context 1-0-3: required property "osVersion" is missing' in messages


def test_application_error_checks_enum_length_and_type(checker: IgluChecker) -> None:
    good = {"programmingLanguage": "PYTHON", "message": "boom", "lineNumber": 12, "isFatal": True}
    assert checker.check(APPLICATION_ERROR, good).status == "valid"
    verdict = checker.check(APPLICATION_ERROR, {**good, "message": "x" * 2049, "lineNumber": "12"})
    assert [p.message for p in verdict.problems] == [
        "application_error 1-0-2: $.lineNumber must be integer or null, got string \"12\"",
        "application_error 1-0-2: $.message is too long (2049 characters, at most 2048)",
    ]


def test_gitlab_standard_reports_unknown_key_long_environment_and_string_project_id(
    checker: IgluChecker,
) -> None:
    assert checker.check(GITLAB_STANDARD, {"environment": "production", "project_id": 7}).status == "valid"
    verdict = checker.check(GITLAB_STANDARD, {"environment": "e" * 40, "project_id": "abc", "user_ids": [1]})
    assert verdict.status == "invalid"
    assert sorted(p.message for p in verdict.problems) == [
        'gitlab_standard 1-1-8: "user_ids" is not allowed (additionalProperties: false)',
        "gitlab_standard 1-1-8: $.environment is too long (40 characters, at most 32)",
        'gitlab_standard 1-1-8: $.project_id must be integer or null, got string "abc"',
    ]
    reports = {r["keyword"]: r for r in verdict.error["dataReports"]}
    assert reports["additionalProperties"]["path"] == "$"
    assert reports["additionalProperties"]["targets"] == ["user_ids"]
    assert reports["maxLength"]["path"] == "$.environment"
    assert reports["unionType"]["message"] == "$.project_id: string found, but [integer, null] is required"
    assert reports["unionType"]["targets"] == ["string", "[integer, null]"]


def test_gitlab_schema_comes_from_the_registry_with_the_matching_vendor_prefix(
    resolver: Resolver, central: QuietServer, gitlab: QuietServer,
) -> None:
    resolution = resolver.lookup(GITLAB_STANDARD)
    assert resolution.found and resolution.source == "GitLab"
    assert central.requests == []  # the prefix-matching registry answered first
    assert resolver.where(GITLAB_STANDARD) == "GitLab"


# --- local directories ----------------------------------------------------------------------------

def test_custom_schema_from_a_local_directory_reports_nested_paths(checker: IgluChecker) -> None:
    good = {"orderId": "o-1", "email": "a@example.com", "placedAt": "2026-01-31T12:00:00Z", "total": 9.5,
            "items": [{"sku": "s-1", "price": 9.5}]}
    assert checker.check(CHECKOUT, good).status == "valid"
    bad = {"orderId": "o-1", "email": "nobody", "total": 0, "quantity": 101,
           "items": [{"sku": "s-1"}, {"price": 1, "colour": "red"}]}
    verdict = checker.check(CHECKOUT, bad)
    assert {(p.path, p.keyword) for p in verdict.problems} == {
        ("$.email", "format"), ("$.total", "minimum"), ("$.quantity", "maximum"),
        ("$.items[1].sku", "required"), ("$.items[1].colour", "additionalProperties")}
    messages = {p.path: p.message for p in verdict.problems}
    assert messages["$.items[1].sku"] == 'checkout 1-0-0: required property "sku" is missing in $.items[1]'
    assert messages["$.items[1].colour"] == \
        'checkout 1-0-0: "colour" is not allowed in $.items[1] (additionalProperties: false)'
    assert messages["$.total"] == "checkout 1-0-0: $.total must be greater than 0, got 0"
    assert messages["$.quantity"] == "checkout 1-0-0: $.quantity must be at most 100, got 101"


def test_data_of_the_wrong_type_at_the_top_is_reported_at_dollar(checker: IgluChecker) -> None:
    verdict = checker.check(CHECKOUT, ["not", "an", "object"])
    assert [(p.path, p.message) for p in verdict.problems] == [
        ("$", "checkout 1-0-0: the data must be object, got an array of 3 items")]


def test_embedded_registry_accepts_the_repository_root_or_its_schemas_dir() -> None:
    key = SchemaKey.parse(GITLAB_STANDARD)
    for path in (IGLU_GITLAB, IGLU_GITLAB / "schemas"):
        assert EmbeddedRegistry(path).lookup(key).status == "found"
    assert EmbeddedRegistry(IGLU_GITLAB).lookup(SchemaKey.parse(UNKNOWN)).status == "not_found"


def test_embedded_registry_lists_a_vendors_schema_keys() -> None:
    keys = EmbeddedRegistry(IGLU_GITLAB).keys("com.gitlab")
    assert [k.uri for k in keys] == ["iglu:com.gitlab/gitlab_standard/jsonschema/1-1-1", GITLAB_STANDARD]


def test_schema_that_is_itself_invalid_makes_the_data_invalid_with_schema_issues() -> None:
    checker = IgluChecker(Resolver([EmbeddedRegistry(FIXTURES)]))
    verdict = checker.check("iglu:com.acme/broken/jsonschema/1-0-0", {"x": "y"})
    assert verdict.status == "invalid"
    assert verdict.error["error"] == "ValidationError" and verdict.error["schemaIssues"]
    assert "the schema itself is invalid" in verdict.problems[0].message


def test_validator_is_compiled_once_per_schema(checker: IgluChecker, resolver: Resolver) -> None:
    schema = resolver.lookup(LINK_CLICK).schema
    assert schema is not None
    assert checker.validator(LINK_CLICK, schema) is checker.validator(LINK_CLICK, schema)


# --- schemas nobody has ---------------------------------------------------------------------------

def test_unknown_schema_is_invalid_with_a_resolution_error_and_lookup_history(checker: IgluChecker) -> None:
    verdict = checker.check(UNKNOWN, {"a": 1})
    assert verdict.status == "invalid"
    assert verdict.error["error"] == "ResolutionError"
    history = verdict.error["lookupHistory"]
    assert [h["repository"] for h in history] == ["fixtures", "Iglu Central", "GitLab"]
    for entry in history:
        assert entry["errors"] == [{"error": "NotFound"}]
        assert entry["attempts"] == 1 and entry["lastAttempt"].endswith("Z")
    [problem] = verdict.problems
    assert problem.keyword == "ResolutionError" and problem.path == "$"
    assert problem.message == (f"schema {UNKNOWN} was not found in any registry "
                               "(asked: fixtures: not found, Iglu Central: not found, GitLab: not found)")


def test_not_found_answers_are_cached_for_the_ttl(central: QuietServer) -> None:
    clock = Clock()
    resolver = Resolver([HttpRegistry(central.url, timeout=TIMEOUT)], not_found_ttl=60, clock=clock)
    assert resolver.lookup(UNKNOWN).status == "not_found"
    assert resolver.lookup(UNKNOWN).status == "not_found"
    assert len(central.requests) == 1
    clock.now += 61
    assert resolver.lookup(UNKNOWN).status == "not_found"
    assert len(central.requests) == 2


def test_resolved_schemas_are_kept_in_memory(central: QuietServer) -> None:
    resolver = Resolver([HttpRegistry(central.url, timeout=TIMEOUT)])
    for _ in range(3):
        assert resolver.lookup(LINK_CLICK).found
    assert len(central.requests) == 1


def test_concurrent_lookups_of_a_new_schema_fetch_it_once(central: QuietServer) -> None:
    checker = IgluChecker(Resolver([HttpRegistry(central.url, timeout=TIMEOUT)]))
    verdicts: list[str] = []
    threads = [threading.Thread(target=lambda: verdicts.append(checker.check(WEB_PAGE, {"id": "x"}).status))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verdicts == ["invalid"] * 20
    assert len(central.requests) == 1


# --- registries that cannot be reached ------------------------------------------------------------

def test_refused_registry_makes_data_unverified_with_a_note_naming_it(refused_url: str) -> None:
    checker = IgluChecker(Resolver([HttpRegistry(refused_url, name="Iglu Central", timeout=TIMEOUT)]))
    verdict = checker.check(LINK_CLICK, {})
    assert verdict.status == "unverified"
    assert verdict.note == f"could not reach Iglu Central ({refused_url}): connection refused"
    assert verdict.problems == [] and verdict.error is None


def test_refused_registry_in_strict_mode_makes_data_invalid(refused_url: str) -> None:
    registry = HttpRegistry(refused_url, name="Iglu Central", timeout=TIMEOUT)
    checker = IgluChecker(Resolver([registry]), strict=True)
    verdict = checker.check(LINK_CLICK, {})
    assert verdict.status == "invalid"
    assert verdict.error["error"] == "ResolutionError"
    [entry] = verdict.error["lookupHistory"]
    assert entry["repository"] == "Iglu Central"
    assert entry["errors"] == [{"error": "RepoFailure", "message": "connection refused"}]
    assert "could not be checked (strict mode)" in verdict.problems[0].message


def test_hanging_registry_times_out_and_data_is_unverified(hanging_url: str) -> None:
    checker = IgluChecker(Resolver([HttpRegistry(hanging_url, name="Slow", timeout=0.5)]))
    verdict = checker.check(LINK_CLICK, {"targetUrl": "x"})
    assert verdict.status == "unverified"
    assert verdict.note == f"could not reach Slow ({hanging_url}): timed out after 0.5 s"


def test_one_registry_down_and_others_not_found_is_unverified_not_invalid(
    central: QuietServer, refused_url: str,
) -> None:
    checker = IgluChecker(Resolver([HttpRegistry(central.url, name="up", timeout=TIMEOUT),
                                    HttpRegistry(refused_url, name="down", timeout=TIMEOUT)]))
    verdict = checker.check(UNKNOWN, {})
    assert verdict.status == "unverified"
    assert "down" in verdict.note and "up" not in verdict.note.split("could not reach ")[1].split(" (")[0]


def test_failed_registry_is_not_asked_again_within_the_back_off(serve: Any) -> None:
    failing = serve(handler=Failing)
    clock = Clock()
    checker = IgluChecker(Resolver([HttpRegistry(failing.url, name="flaky", timeout=TIMEOUT)],
                                   backoff=30, clock=clock))
    first = checker.check(LINK_CLICK, {})
    assert first.status == "unverified" and "HTTP 503" in first.note
    second = checker.check(WEB_PAGE, {})
    assert second.status == "unverified" and "HTTP 503" in second.note
    assert len(failing.requests) == 1
    clock.now += 31
    checker.check(WEB_PAGE, {})
    assert len(failing.requests) == 2


def test_registry_answering_html_is_an_error_not_a_missing_schema(serve: Any) -> None:
    portal = serve(handler=NotJson)
    checker = IgluChecker(Resolver([HttpRegistry(portal.url, name="wifi", timeout=TIMEOUT)]))
    verdict = checker.check(LINK_CLICK, {})
    assert verdict.status == "unverified"
    assert "is not valid JSON" in verdict.note


def test_schema_resolves_once_the_registry_is_back_after_the_back_off(
    central: QuietServer, refused_url: str,
) -> None:
    clock = Clock()
    registry = HttpRegistry(refused_url, name="Iglu Central", timeout=TIMEOUT)
    checker = IgluChecker(Resolver([registry], backoff=30, clock=clock))
    assert checker.check(LINK_CLICK, {}).status == "unverified"
    registry.uri = central.url  # the network comes back
    assert checker.check(LINK_CLICK, {}).status == "unverified"  # still backing off
    clock.now += 31
    assert checker.check(LINK_CLICK, {}).status == "invalid"


def redirecting_to(target: str) -> type[BaseHTTPRequestHandler]:
    """Return a handler that redirects every request to the same path at `target`."""

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Redirecting


def test_a_registry_redirect_is_followed_without_its_apikey_to_another_origin(
    serve: Any, central: QuietServer,
) -> None:
    moved = serve(handler=redirecting_to(central.url))
    registry = HttpRegistry(moved.url + "/api", apikey="secret", timeout=TIMEOUT)
    registry.schema_url = lambda key: f"{moved.url}/schemas/{key.path}"  # type: ignore[method-assign]
    assert registry.lookup(SchemaKey.parse(LINK_CLICK)).status == "found"
    [(_, asked_first)] = moved.requests
    [(path, asked_then)] = central.requests
    assert path == "/schemas/com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
    assert asked_first["apikey"] == "secret" and "apikey" not in asked_then


class Proxy(BaseHTTPRequestHandler):
    """A forward proxy for http:// URLs: asks for the absolute URL in its request line, and answers it."""

    def do_GET(self) -> None:  # noqa: N802
        # The proxy's own client goes direct (the test's environment names this proxy).
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(self.path, timeout=5) as answer:
            body = answer.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_an_http_registry_goes_through_the_proxy_the_environment_names(
    serve: Any, central: QuietServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = serve(handler=Proxy)
    monkeypatch.setenv("http_proxy", "http://user:pass@" + proxy.url.removeprefix("http://"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert HttpRegistry(central.url, timeout=TIMEOUT).lookup(SchemaKey.parse(LINK_CLICK)).status == "found"
    [(target, headers)] = proxy.requests
    assert target == f"{central.url}/schemas/com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
    assert headers["Proxy-Authorization"] == "Basic dXNlcjpwYXNz"  # user:pass


def test_a_schema_file_larger_than_the_cap_is_refused_unread(tmp_path: Path) -> None:
    from micro_dashboard.iglu.limits import MAX_SCHEMA_BYTES

    file = tmp_path / "schemas" / "com.acme" / "thing" / "jsonschema" / "1-0-0"
    file.parent.mkdir(parents=True)
    file.write_text('{"type": "object"' + " " * MAX_SCHEMA_BYTES + "}")
    answer = EmbeddedRegistry(tmp_path).lookup(SchemaKey.parse(UNKNOWN))
    assert answer.status == "refused"
    assert answer.message == f"{file} is more than the {MAX_SCHEMA_BYTES:,} bytes a schema may be"


# --- the persistent schema cache ------------------------------------------------------------------

def test_schemas_fetched_over_http_resolve_again_from_the_cache_with_the_registry_gone(
    central: QuietServer, refused_url: str,
) -> None:
    cache = MemorySchemaCache()
    first = Resolver([HttpRegistry(central.url, name="Iglu Central", timeout=TIMEOUT),
                      EmbeddedRegistry(FIXTURES, name="fixtures")], cache=cache)
    assert first.lookup(LINK_CLICK).found and first.lookup(CHECKOUT).found
    stored = cache.get(LINK_CLICK)
    assert stored is not None and stored[1] == "Iglu Central" and stored[0]["self"]["name"] == "link_click"
    assert cache.get(CHECKOUT) is None  # local schemas are read from disk each run, not cached

    dead = HttpRegistry(refused_url, name="Iglu Central", timeout=TIMEOUT)
    offline = IgluChecker(Resolver([dead], cache=cache))
    assert offline.check(LINK_CLICK, {"targetUrl": "https://example.com"}).status == "valid"
    assert offline.check(LINK_CLICK, {}).status == "invalid"
    assert offline.resolver.where(LINK_CLICK) == "Iglu Central (from the schema cache)"


def test_local_directory_is_preferred_to_the_cache(tmp_path: Path) -> None:
    cache = MemorySchemaCache()
    cache.put(CHECKOUT, {"type": "string"}, "old registry")
    resolver = Resolver([EmbeddedRegistry(FIXTURES, name="fixtures"),
                         HttpRegistry("http://127.0.0.1:9", name="unused", timeout=TIMEOUT)], cache=cache)
    assert resolver.lookup(CHECKOUT).source == "fixtures"


# --- configuration --------------------------------------------------------------------------------

def test_lookup_order_is_vendor_prefix_then_embedded_then_priority() -> None:
    http_low = HttpRegistry("http://a.example", name="http p0", priority=0)
    http_prefixed = HttpRegistry("http://b.example", name="http prefixed p5", priority=5,
                                 vendor_prefixes=["com.acme"])
    local = EmbeddedRegistry(FIXTURES, name="local p9", priority=9)
    local_first = EmbeddedRegistry(FIXTURES, name="local p1", priority=1)
    resolver = Resolver([http_low, http_prefixed, local, local_first])
    order = [r.name for r in resolver.ordered(SchemaKey.parse(CHECKOUT))]
    assert order == ["http prefixed p5", "local p1", "local p9", "http p0"]
    order = [r.name for r in resolver.ordered(SchemaKey.parse(LINK_CLICK))]
    assert order == ["local p1", "local p9", "http p0", "http prefixed p5"]


def test_resolver_config_file_in_snowplow_format_builds_the_registries(
    tmp_path: Path, central: QuietServer,
) -> None:
    config = {
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 500, "cacheTtl": 600, "repositories": [
            {"name": "Local", "priority": 0, "vendorPrefixes": ["com.acme"],
             "connection": {"embedded": {"path": "iglu_fixtures"}}},
            {"name": "Iglu Central", "priority": 1, "vendorPrefixes": ["com.snowplowanalytics"],
             "connection": {"http": {"uri": central.url}}},
            {"name": "Private", "priority": 2, "vendorPrefixes": [],
             "connection": {"http": {"uri": "http://127.0.0.1:9/api", "apikey": "secret"}}},
        ]}}
    (tmp_path / "iglu_fixtures").symlink_to(FIXTURES, target_is_directory=True)
    path = tmp_path / "resolver.json"
    path.write_text(json.dumps(config))
    resolver = Resolver.from_resolver_config(path)
    names = [(r.name, r.kind, r.priority, r.vendor_prefixes) for r in resolver.registries]
    assert names == [("Local", "embedded", 0, ["com.acme"]),
                     ("Iglu Central", "http", 1, ["com.snowplowanalytics"]), ("Private", "http", 2, [])]
    assert resolver.registries[2].apikey == "secret"
    assert resolver.cache_ttl == 600
    assert resolver.lookup(CHECKOUT).source == "Local"  # relative to the config file's directory
    assert resolver.lookup(LINK_CLICK).source == "Iglu Central"
    assert Resolver.from_resolver_config(json.dumps(config)).registries[1].uri == central.url


@pytest.mark.parametrize(("config", "words"), [
    ("{not json", "not valid JSON"),
    ({"schema": "iglu:com.acme/other/jsonschema/1-0-0", "data": {}}, "resolver-config"),
    ({"schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-1", "data": {}},
     "data.repositories"),
    ({"schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-1",
      "data": {"repositories": [{"name": "x", "connection": {"ftp": {}}}]}}, r"repositories\[0\] \(x\)"),
])
def test_bad_resolver_config_says_what_is_wrong(config: Any, words: str) -> None:
    with pytest.raises(ResolverConfigError, match=words):
        Resolver.from_resolver_config(config)


def test_iglu_server_is_sent_the_apikey_and_a_static_site_is_not(serve: Any, central: QuietServer) -> None:
    iglu_server = serve(handler=IgluServer)
    key = SchemaKey.parse(LINK_CLICK)
    assert HttpRegistry(iglu_server.url + "/api", apikey="secret").lookup(key).status == "found"
    assert HttpRegistry(iglu_server.url + "/api", apikey="secret").lookup(SchemaKey.parse(UNKNOWN)).status \
        == "not_found"
    assert iglu_server.requests[0][1].get("apikey") == "secret"
    assert HttpRegistry(central.url, apikey="secret").lookup(key).status == "found"
    assert "apikey" not in central.requests[0][1]


def test_default_registries_are_iglu_central_its_mirror_and_gitlab() -> None:
    registries = default_registries()
    assert [(r.name, r.location, r.vendor_prefixes) for r in registries] == [
        ("Iglu Central", "http://iglucentral.com", []),
        ("Iglu Central - Mirror 01", "http://mirror01.iglucentral.com", []),
        ("GitLab", "https://gitlab-org.gitlab.io/iglu", ["com.gitlab"]),
    ]


def test_build_resolver_puts_local_dirs_first_and_adds_registry_options(central: QuietServer) -> None:
    resolver = build_resolver(iglu_dirs=[FIXTURES], registries=[central.url + ",key"], defaults=False,
                              timeout=TIMEOUT)
    assert [r.kind for r in resolver.registries] == ["embedded", "http"]
    assert resolver.registries[1].apikey == "key"
    assert resolver.lookup(CHECKOUT).found and resolver.lookup(LINK_CLICK).found
    with pytest.raises(ValueError, match="http"):
        build_resolver(registries=["iglucentral.com"])


def test_pulled_schemas_resolve_offline_from_the_cache(refused_url: str) -> None:
    cache = MemorySchemaCache()
    pulled = pull_schemas(EmbeddedRegistry(IGLU_GITLAB, name="GitLab clone"), cache, vendor="com.gitlab")
    assert pulled == ["iglu:com.gitlab/gitlab_standard/jsonschema/1-1-1", GITLAB_STANDARD]
    dead = HttpRegistry(refused_url, name="GitLab", vendor_prefixes=["com.gitlab"], timeout=TIMEOUT)
    checker = IgluChecker(Resolver([dead], cache=cache))
    assert checker.check(GITLAB_STANDARD, {"environment": "production"}).status == "valid"
    assert checker.resolver.where(GITLAB_STANDARD) == "GitLab clone (from the schema cache)"


def test_data_found_valid_is_remembered_by_its_exact_json_and_invalid_data_is_checked_every_time() -> None:
    from micro_dashboard.iglu.limits import REMEMBERED_VALID

    checker = IgluChecker(Resolver([EmbeddedRegistry(FIXTURES)]))
    order = {"orderId": "o-1", "quantity": 3, "items": [{"sku": "s", "price": 2.5}]}
    assert checker.check(CHECKOUT, order).status == "valid"
    assert checker.check(CHECKOUT, dict(reversed(order.items()))).status == "valid"  # key order: the same data
    # Another JSON type is other data: 3.0 (draft 4), true and "3" are not integers.
    for quantity in (3.0, True, "3", 3.5, 101):
        first, again = (checker.check(CHECKOUT, {**order, "quantity": quantity}) for _ in range(2))
        assert first.status == again.status == "invalid", quantity
        first.problems[0].message += " (edited)"  # a verdict's problems are its own, never shared
        assert not again.problems[0].message.endswith("(edited)")
    for n in range(REMEMBERED_VALID + 50):  # bounded, the least recently used forgotten
        assert checker.check(CHECKOUT, {**order, "orderId": f"o-{n}"}).status == "valid"
    assert len(checker._valid._items) == REMEMBERED_VALID
    assert checker.check(CHECKOUT, {**order, "extra": 1}).status == "invalid"
