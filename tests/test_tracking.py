"""The Python tracking client end to end: InternalEventsClient -> the dashboard's collector -> /micro/good."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from jsonschema import Draft4Validator
from snowplow_checks import good_events, wait_for_count, wait_for_events
from support import GITLAB_STANDARD_FILE

from micro_dashboard.demo import demo_command, send_demo_burst
from micro_dashboard.tracking import (
    STANDARD_CONTEXT_SCHEMA,
    EventContext,
    InternalEventAdditionalProperties,
    InternalEventsASGIMiddleware,
    InternalEventsClient,
    InternalEventsMiddleware,
    current_event_context,
    event_context,
    get_default_client,
    get_event_context,
    set_default_client,
    track_event,
    validate_additional_properties,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_NAMES = ("ENABLED", "ENDPOINT", "APP_ID", "NAMESPACE", "BATCH_SIZE", "THREAD_COUNT")


@pytest.fixture(scope="module")
def standard_validator() -> Draft4Validator:
    """Return a draft-4 validator for gitlab_standard 1-1-8 read from the shared Iglu directory."""
    schema = json.loads(GITLAB_STANDARD_FILE.read_text())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


@pytest.fixture
def category() -> str:
    """Return a category no other test uses, so a shared dashboard cannot mix up events."""
    return f"TestTracking{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_client(live_server: Any) -> Any:
    """Build enabled clients pointed at the live dashboard and close them after the test."""
    clients: list[InternalEventsClient] = []

    def make(**kwargs: Any) -> InternalEventsClient:
        client = InternalEventsClient(enabled=True, endpoint=live_server.url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def in_category(category: str) -> Callable[[dict[str, Any]], bool]:
    """Match the events of one test's category."""
    return lambda item: item["event"].get("se_category") == category


def standard_context(item: dict[str, Any]) -> dict[str, Any]:
    """Return the gitlab_standard entity of a /micro/good item."""
    entities = (item["event"].get("contexts") or {}).get("data", [])
    matches = [e["data"] for e in entities if e["schema"] == STANDARD_CONTEXT_SCHEMA]
    assert len(matches) == 1, f"expected one gitlab_standard 1-1-8 context, got {entities}"
    return matches[0]


def assert_valid_standard(validator: Draft4Validator, data: dict[str, Any]) -> None:
    """Fail with every schema error of a gitlab_standard entity."""
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors


@pytest.mark.needs_iglu_gitlab
@pytest.mark.parametrize(("batch_size", "thread_count"), [(1, 1), (1, 2), (10, 2)])
def test_internal_events_arrive_decoded_with_a_valid_standard_context(
    live_server: Any,
    make_client: Any,
    category: str,
    standard_validator: Draft4Validator,
    batch_size: int,
    thread_count: int,
) -> None:
    client = make_client(batch_size=batch_size, thread_count=thread_count)
    context = EventContext(environment="test", source="test-suite", project_id=7, namespace_id=42, realm="saas")
    sent = 12
    with event_context(context):
        for number in range(sent):
            client.track_event(
                "test_event_sent",
                InternalEventAdditionalProperties(label=f"label-{number}", property="prop", value=number, flag=True),
                category=category,
            )
    assert client.flush()

    items = wait_for_events(live_server.url, in_category(category), sent)
    assert len(items) == sent
    assert sorted(item["event"]["se_label"] for item in items) == sorted(f"label-{n}" for n in range(sent))
    for item in items:
        event = item["event"]
        assert event["se_action"] == "test_event_sent"
        assert event["se_property"] == "prop"
        assert float(event["se_value"]) == int(event["se_label"].split("-")[1])
        assert event["app_id"] == "gitlab_ai_gateway"
        assert event["name_tracker"] == "gl"
        data = standard_context(item)
        assert_valid_standard(standard_validator, data)
        assert data["environment"] == "test"
        assert data["source"] == "test-suite"
        assert data["project_id"] == 7
        assert data["namespace_id"] == 42
        assert data["extra"] == {"flag": True}


def test_a_partial_batch_waits_until_flush(live_server: Any, make_client: Any, category: str) -> None:
    client = make_client(batch_size=10, thread_count=2)
    for _ in range(3):
        client.track_event("test_partial_batch", category=category)
    time.sleep(0.5)
    # The known trap: with batch size 10, three events stay in the tracker's buffer.
    assert [i for i in good_events(live_server.url) if in_category(category)(i)] == []
    assert client.flush()
    assert len(wait_for_events(live_server.url, in_category(category), 3)) == 3


def test_events_buffered_at_interpreter_exit_are_delivered(live_server: Any, category: str) -> None:
    script = textwrap.dedent(
        f"""
        from micro_dashboard.tracking import InternalEventsClient
        client = InternalEventsClient(True, {live_server.url!r}, batch_size=10)
        for n in range(3):
            client.track_event("test_exit_flush", {{"label": str(n)}}, category={category!r})
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, env=env, capture_output=True)
    items = wait_for_events(live_server.url, in_category(category), 3)
    assert sorted(i["event"]["se_label"] for i in items) == ["0", "1", "2"]


@pytest.mark.needs_iglu_gitlab
def test_overrides_and_custom_properties_shape_the_standard_context(
    live_server: Any, make_client: Any, category: str, standard_validator: Draft4Validator
) -> None:
    client = make_client()
    with event_context(EventContext(environment="test", project_id=1, extra={"from_context": 1})):
        client.track_event(
            "test_overrides",
            {"label": "l", "custom": "c", "nested": {"a": [1, 2]}},
            category=category,
            project_id=99,
            user_id="abc123",
            feature_enabled_by_namespace_ids=[3, 4],
        )
    client.flush()
    (item,) = wait_for_events(live_server.url, in_category(category), 1)
    data = standard_context(item)
    assert_valid_standard(standard_validator, data)
    assert data["project_id"] == 99
    assert data["user_id"] == "abc123"
    assert data["feature_enabled_by_namespace_ids"] == [3, 4]
    assert data["extra"] == {"from_context": 1, "custom": "c", "nested": {"a": [1, 2]}}
    assert item["event"]["se_label"] == "l"
    assert item["event"].get("se_property") is None
    assert item["event"].get("se_value") is None


def test_long_property_is_cut_to_997_characters_plus_dots(live_server: Any, make_client: Any, category: str) -> None:
    client = make_client()
    client.track_event("test_long_property", {"label": "long", "property": "x" * 1500}, category=category)
    client.track_event("test_long_property", {"label": "exact", "property": "y" * 1000}, category=category)
    client.flush()
    items = {i["event"]["se_label"]: i for i in wait_for_events(live_server.url, in_category(category), 2)}
    assert items["long"]["event"]["se_property"] == "x" * 997 + "..."
    assert items["exact"]["event"]["se_property"] == "y" * 1000


def test_property_truncation_without_a_collector() -> None:
    props = validate_additional_properties({"property": "z" * 1001})
    assert props.property == "z" * 997 + "..."
    assert len(props.property) == 1000
    assert validate_additional_properties({"property": "z" * 1000}).property == "z" * 1000


@pytest.mark.needs_iglu_gitlab
def test_middleware_fills_the_context_from_headers_in_a_flask_app(
    live_server: Any, make_client: Any, category: str, standard_validator: Draft4Validator
) -> None:
    client = make_client()
    app = Flask(__name__)
    app.wsgi_app = InternalEventsMiddleware(app.wsgi_app, environment="staging", source="my-app")
    seen: list[EventContext] = []

    @app.post("/projects")
    def create_project() -> dict[str, str | None]:
        seen.append(get_event_context())
        event_id = client.track_event("test_project_created", {"label": "web"}, category=category)
        return {"event_id": event_id}

    headers = {
        "X-Gitlab-Realm": "saas",
        "X-Gitlab-Deployment-Type": ".com",
        "X-Gitlab-Instance-Id": "instance-1",
        "X-Gitlab-Unique-Instance-Id": "unique-1",
        "X-Gitlab-Host-Name": "gitlab.example.com",
        "X-Gitlab-Version": "17.7.0",
        "X-Gitlab-Global-User-Id": "global-user-1",
        "X-Gitlab-Project-Id": "123",
        "X-Gitlab-Namespace-Id": "null",
        "X-Gitlab-Feature-Enabled-By-Namespace-Ids": "5, 6,7",
        "X-Gitlab-Feature-Enablement-Type": "duo_pro",
        "X-Gitlab-Client-Type": "ide",
        "X-Gitlab-Client-Name": "vscode",
        "X-Gitlab-Client-Version": "5.2.0",
        "X-Gitlab-Interface": "duo_chat",
        "X-Request-Id": "req-abc",
    }
    response = app.test_client().post("/projects", headers=headers)
    assert response.status_code == 200
    assert response.json["event_id"]
    # The request is over: its context must not leak into code that runs after it.
    assert current_event_context.get() is None
    client.flush()

    (item,) = wait_for_events(live_server.url, in_category(category), 1)
    assert item["event"]["event_id"] == response.json["event_id"]
    data = standard_context(item)
    assert_valid_standard(standard_validator, data)
    expected = {
        "environment": "staging",
        "source": "my-app",
        "realm": "saas",
        "deployment_type": ".com",
        "instance_id": "instance-1",
        "unique_instance_id": "unique-1",
        "host_name": "gitlab.example.com",
        "instance_version": "17.7.0",
        "global_user_id": "global-user-1",
        "project_id": 123,
        "feature_enabled_by_namespace_ids": [5, 6, 7],
        "feature_enablement_type": "duo_pro",
        "client_type": "ide",
        "client_name": "vscode",
        "client_version": "5.2.0",
        "interface": "duo_chat",
        "correlation_id": "req-abc",
        "extra": {},
    }
    assert {k: data.get(k) for k in expected} == expected
    # The AI Gateway sends unset fields as null rather than leaving them out.
    assert "namespace_id" in data and data["namespace_id"] is None
    assert data["context_generated_at"] == seen[0].context_generated_at


def test_middleware_generates_a_correlation_id_without_request_id_header() -> None:
    app = Flask(__name__)
    app.wsgi_app = InternalEventsMiddleware(app.wsgi_app, environment="development")

    @app.get("/")
    def index() -> dict[str, Any]:
        return get_event_context().to_dict()

    first = app.test_client().get("/").json
    second = app.test_client().get("/", headers={"X-Gitlab-Correlation-Id": "corr-1"}).json
    assert len(first["correlation_id"]) == 32
    assert first["correlation_id"] != app.test_client().get("/").json["correlation_id"]
    assert second["correlation_id"] == "corr-1"
    assert first["environment"] == "development"


def test_asgi_middleware_fills_and_resets_the_context() -> None:
    seen: list[EventContext] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(get_event_context())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = InternalEventsASGIMiddleware(app, environment="test", source="asgi-app")
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [
            (b"x-gitlab-project-id", b"8"),
            (b"x-gitlab-realm", b"self-managed"),
            (b"x-request-id", b"r1"),
        ],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    after: list[EventContext | None] = []

    def serve_one_request() -> None:
        asyncio.run(middleware(scope, receive, send))
        after.append(current_event_context.get())

    # A thread of its own: Playwright's sync API (used by the browser tests) keeps an event loop running in the
    # main thread, where asyncio.run() is refused.
    worker = threading.Thread(target=serve_one_request)
    worker.start()
    worker.join()
    (context,) = seen
    assert (
        context.environment,
        context.source,
        context.project_id,
        context.realm,
        context.correlation_id,
    ) == (
        "test",
        "asgi-app",
        8,
        "self-managed",
        "r1",
    )
    assert sent[0]["status"] == 204
    assert after == [None]


def test_from_env_honours_every_variable(live_server: Any, category: str) -> None:
    environ = {
        "AIGW_INTERNAL_EVENT__ENABLED": "true",
        "AIGW_INTERNAL_EVENT__ENDPOINT": live_server.url,
        "AIGW_INTERNAL_EVENT__APP_ID": "my_app",
        "AIGW_INTERNAL_EVENT__NAMESPACE": "my_namespace",
        "AIGW_INTERNAL_EVENT__BATCH_SIZE": "3",
        "AIGW_INTERNAL_EVENT__THREAD_COUNT": "2",
    }
    client = InternalEventsClient.from_env(environ=environ)
    try:
        assert (client.enabled, client.endpoint, client.app_id, client.namespace) == (
            True,
            live_server.url,
            "my_app",
            "my_namespace",
        )
        assert (client.batch_size, client.thread_count) == (3, 2)
        for _ in range(3):  # exactly one batch: arrives without a flush
            client.track_event("test_from_env", category=category)
        items = wait_for_events(live_server.url, in_category(category), 3)
        assert {(i["event"]["app_id"], i["event"]["name_tracker"]) for i in items} == {("my_app", "my_namespace")}
    finally:
        client.close()


def test_from_env_reads_a_custom_prefix() -> None:
    environ = {
        f"MY_BILLING__{name}": value
        for name, value in zip(ENV_NAMES, ["0", "http://x:1", "a", "n", "4", "5"], strict=True)
    }
    client = InternalEventsClient.from_env(prefix="MY_BILLING__", environ=environ)
    assert (
        client.enabled,
        client.endpoint,
        client.app_id,
        client.namespace,
        client.batch_size,
        client.thread_count,
    ) == (
        False,
        "http://x:1",
        "a",
        "n",
        4,
        5,
    )


def test_from_env_defaults_to_a_disabled_client() -> None:
    client = InternalEventsClient.from_env(environ={})
    assert client.enabled is False
    assert (client.app_id, client.namespace, client.batch_size, client.thread_count) == (
        "gitlab_ai_gateway",
        "gl",
        1,
        1,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("ENABLED", "maybe"), ("BATCH_SIZE", "ten"), ("BATCH_SIZE", "0"), ("THREAD_COUNT", "-1")],
)
def test_from_env_rejects_bad_values_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"AIGW_INTERNAL_EVENT__{name}"):
        InternalEventsClient.from_env(environ={f"AIGW_INTERNAL_EVENT__{name}": value})


def test_a_disabled_client_sends_nothing(live_server: Any, make_client: Any, category: str) -> None:
    disabled = InternalEventsClient(enabled=False, endpoint=live_server.url)
    assert disabled.track_event("test_disabled", {"label": "disabled"}, category=category) is None
    assert disabled.flush() and disabled.close()
    # An event sent afterwards through an enabled client proves the dashboard had time to receive both.
    marker = make_client()
    marker.track_event("test_disabled_marker", {"label": "marker"}, category=category)
    marker.flush()
    items = wait_for_events(live_server.url, in_category(category), 1)
    time.sleep(0.3)
    items = [i for i in good_events(live_server.url) if in_category(category)(i)]
    assert [i["event"]["se_label"] for i in items] == ["marker"]


def test_module_level_track_event_uses_a_client_from_the_environment(
    live_server: Any, category: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGW_INTERNAL_EVENT__ENABLED", "true")
    monkeypatch.setenv("AIGW_INTERNAL_EVENT__ENDPOINT", live_server.url)
    set_default_client(None)
    try:
        event_id = track_event("test_module_level", {"label": "module"}, category=category)
        assert event_id
        get_default_client().flush()
        (item,) = wait_for_events(live_server.url, in_category(category), 1)
        assert item["event"]["event_id"] == event_id
    finally:
        get_default_client().close()
        set_default_client(None)


@pytest.fixture
def offline_client() -> Any:
    """Return an enabled client whose events would fail to send; validation stops them first."""
    client = InternalEventsClient(enabled=True, endpoint="http://127.0.0.1:9")
    yield client
    client.close(timeout=0.1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda c: c.track_event("Project Created"),
            r"event_name 'Project Created' is invalid.*'project_created'",
        ),
        (lambda c: c.track_event("project-created"), r"\^\[a-z0-9_\]\+\$"),
        (lambda c: c.track_event(""), "event_name '' is invalid"),
        (lambda c: c.track_event("ok", {"label": 5}), "'label' must be a string, got int"),
        (lambda c: c.track_event("ok", {"property": ["x"]}), "'property' must be a string, got list"),
        (lambda c: c.track_event("ok", {"value": "five"}), "'value' must be a number or a numeric string, got str"),
        (lambda c: c.track_event("ok", {"value": "5 apples"}), r"would have sent se_va='5 apples'"),
        (lambda c: c.track_event("ok", {"value": True}), "'value' must be a number or a numeric string, got bool"),
        (lambda c: c.track_event("ok", {"custom": object()}), "'custom' is not JSON-serializable"),
        (lambda c: c.track_event("ok", ["label"]), "additional_properties must be a dict"),
        (lambda c: c.track_event("ok", category=""), "category must be a non-empty string"),
        (
            lambda c: c.track_event("ok", unknown_field=1),
            r"unknown field\(s\) 'unknown_field'.*would have sent \{'unknown_field': 1\} at the top level.*"
            r"additional_properties",
        ),
        (lambda c: c.track_event("ok", project_id="seven"), "project_id must be an integer"),
        (lambda c: c.track_event("ok", namespace_id=-1), "namespace_id must be an integer"),
        (lambda c: c.track_event("ok", environment=""), "environment is required"),
    ],
)
def test_invalid_calls_raise_a_clear_value_error(offline_client: Any, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(offline_client)


def test_header_values_are_parsed_like_gitlab() -> None:
    context = EventContext.from_headers(
        {
            "X-Gitlab-Project-Id": "null",
            "X-Gitlab-Namespace-Id": "not-a-number",
            "X-Gitlab-Feature-Enabled-By-Namespace-Ids": "1,null,,2",
            "X-Gitlab-Realm": "null",
            "X-Gitlab-Instance-Id": "abc",
        },
        environment="test",
    )
    assert context.project_id is None
    assert context.namespace_id is None
    assert context.feature_enabled_by_namespace_ids == [1, 2]
    assert context.realm is None
    assert context.instance_id == "abc"
    assert context.context_generated_at


def test_demo_burst_reaches_the_dashboard(live_server: Any) -> None:
    counts = send_demo_burst(live_server.url)
    assert counts["failed_events"] == 0
    assert counts["internal_event"] == 5
    totals = wait_for_count(live_server.url, counts["total_events"] + counts["broken_payload"], timeout=15)
    # Every event is received; the broken request is kept as a bad row.
    assert totals["total"] == counts["total_events"] + counts["broken_payload"]
    assert totals["bad"] >= 1
    actions = {i["event"].get("se_action") for i in good_events(live_server.url)}
    assert {"project_created", "click_button", "add_to_basket"} <= actions


def test_demo_command_explains_an_unreachable_dashboard() -> None:
    result = CliRunner().invoke(demo_command, ["--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "no dashboard answers at http://127.0.0.1:9" in result.output


def test_closing_clients_leaves_no_worker_threads_behind(live_server: Any) -> None:
    before = threading.active_count()
    for _ in range(5):
        with InternalEventsClient(enabled=True, endpoint=live_server.url, batch_size=1, thread_count=3) as client:
            client.track_event("thread_check", category="threads")
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)  # stopped workers end after their last batch
    assert threading.active_count() <= before


def test_a_streamed_body_sees_the_request_context_and_never_leaks_it() -> None:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])

        def body() -> Any:
            seen.append(get_event_context().project_id)
            yield b"first"
            seen.append(get_event_context().project_id)
            yield b"second"

        return body()

    response = InternalEventsMiddleware(app, environment="test")({"HTTP_X_GITLAB_PROJECT_ID": "7"}, lambda *a: None)
    chunks = iter(response)
    assert next(chunks) == b"first" and current_event_context.get() is None  # nothing set between chunks
    assert next(chunks) == b"second"
    response.close()
    assert seen == [7, 7] and current_event_context.get() is None


AI_CONTEXT_SCHEMA = "iglu:com.gitlab/ai_context/jsonschema/1-0-1"


def ai_context(item: dict[str, Any]) -> dict[str, Any]:
    """Return the ai_context entity of a /micro/good item."""
    entities = (item["event"].get("contexts") or {}).get("data", [])
    (data,) = [e["data"] for e in entities if e["schema"] == AI_CONTEXT_SCHEMA]
    return data


@pytest.mark.needs_iglu_gitlab
def test_events_carry_what_the_ai_gateway_sends(
    live_server: Any, make_client: Any, category: str, standard_validator: Draft4Validator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ai_context 1-0-1 beside gitlab_standard, unset fields null, no user_id from the context, a numeric string
    value, source ai-gateway-python and the environment from AIGW_ENVIRONMENT (the AI Gateway's client)."""
    monkeypatch.setenv("AIGW_ENVIRONMENT", "staging")
    client = make_client()
    with event_context(user_id="dropped", input_tokens=10, output_tokens=5, total_tokens=15):
        client.track_event("test_ai_gateway_shape",
                           {"label": "chat", "value": "60", "workflow_id": "w-1", "workflow_type": "chat",
                            "agent_name": "duo", "cache_read": 2}, category=category)
    client.track_event("test_ai_gateway_user", {"label": "kw"}, category=category, user_id="kept")
    assert client.flush()
    items = {i["event"]["se_action"]: i for i in wait_for_events(live_server.url, in_category(category), 2)}
    shaped, with_user = items["test_ai_gateway_shape"], items["test_ai_gateway_user"]
    assert float(shaped["event"]["se_value"]) == 60
    data = standard_context(shaped)
    assert_valid_standard(standard_validator, data)
    assert (data["environment"], data["source"]) == ("staging", "ai-gateway-python")
    assert "user_id" not in data
    assert data["project_id"] is None and data["realm"] is None and data["organization_id"] is None
    assert ai_context(shaped) == {
        "session_id": "60", "workflow_id": "w-1", "flow_type": "chat", "agent_name": "duo",
        "input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "ephemeral_5m_input_tokens": None,
        "ephemeral_1h_input_tokens": None, "cache_read": 2, "cache_creation": None,
    }
    assert standard_context(with_user)["user_id"] == "kept"
    assert ai_context(with_user)["session_id"] is None


def test_headers_the_ai_gateway_reads() -> None:
    """Team member, subject type, organization, root namespace, the legacy Duo Pro namespace header and the
    tracking context fill the fields the AI Gateway's middleware fills."""
    context = EventContext.from_headers({
        "X-Gitlab-Is-Team-Member": "true",
        "X-Gitlab-Subject-Type": "service_account",
        "X-Gitlab-Organization-Id": "3",
        "X-Gitlab-Root-Namespace-Id": "77",
        "X-Gitlab-User-Id": "u-9",
        "X-Gitlab-Saas-Duo-Pro-Namespace-Ids": "4,5,4,x",
        "X-Gitlab-Tracking-Context": '{"lsp_version": "7.1"}',
    }, environment="test")
    assert (context.is_gitlab_team_member, context.user_type, context.organization_id) == (True, "service_account", 3)
    assert (context.ultimate_parent_namespace_id, context.user_id) == (77, "u-9")
    assert context.feature_enabled_by_namespace_ids == [4, 5]
    assert context.extra == {"lsp_version": "7.1"}
    assert context.source == "ai-gateway-python"
    preferred = EventContext.from_headers({"X-Gitlab-Feature-Enabled-By-Namespace-Ids": "8",
                                           "X-Gitlab-Saas-Duo-Pro-Namespace-Ids": "4",
                                           "X-Gitlab-Is-Team-Member": "0", "X-Gitlab-Root-Namespace-Id": "0",
                                           "X-Gitlab-Tracking-Context": "[1]"})
    assert preferred.feature_enabled_by_namespace_ids == [8]
    assert preferred.is_gitlab_team_member is False
    assert preferred.ultimate_parent_namespace_id is None
    assert preferred.extra == {}


def test_aigw_environment_sets_the_middlewares_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGW_ENVIRONMENT", "production")
    app = Flask(__name__)
    app.wsgi_app = InternalEventsMiddleware(app.wsgi_app)
    app.add_url_rule("/", "context", lambda: {"environment": get_event_context().environment,
                                              "source": get_event_context().source})
    assert app.test_client().get("/").json == {"environment": "production", "source": "ai-gateway-python"}
    assert EventContext().environment == "production"
    monkeypatch.delenv("AIGW_ENVIRONMENT")
    assert EventContext().environment == "development"
