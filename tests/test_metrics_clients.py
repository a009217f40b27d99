"""The Python and browser clients against dashboards loaded with GitLab's definitions: the same events move the same
metrics by the same amounts (issue 12, acceptance 8), and the schemas only GitLab's registry has are unverified
offline, never falsely valid or invalid."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dashboards import LiveServer
from test_tracking_browser import PageServer

from micro_dashboard.tracking import InternalEventsClient

pytestmark = pytest.mark.browser

# The same events for both clients: (event, additional properties, standard-context fields).
EVENTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("create_ci_runner", {}, {"user_id": "A", "project_id": 1, "namespace_id": 10}),
    ("create_ci_runner", {}, {"user_id": "A", "project_id": 1, "namespace_id": 10}),
    ("create_ci_runner", {}, {"user_id": "B", "project_id": 2, "namespace_id": 10}),
    ("render_blob_embed_in_markdown", {"label": "a"}, {"user_id": "A", "project_id": 1, "namespace_id": 10}),
    ("render_blob_embed_in_markdown", {"label": "b"}, {"user_id": "B", "project_id": 1, "namespace_id": 10}),
    ("push_package_to_registry", {"label": "npm", "property": "user"}, {"user_id": "A", "project_id": 1,
                                                                         "namespace_id": 10}),
    ("pull_package_from_registry", {"label": "npm", "property": "user"}, {"user_id": "C", "project_id": 1,
                                                                           "namespace_id": 10}),
    ("push_package_to_registry", {"label": "terraform_module", "value": 60}, {"user_id": "A", "project_id": 3,
                                                                               "namespace_id": 11}),
]
GITLAB_SERVICE_PING = "iglu:com.gitlab/gitlab_service_ping/jsonschema/1-0-1"
AI_CONTEXT = "iglu:com.gitlab/ai_context/jsonschema/1-0-1"
GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8"


@pytest.fixture
def offline_dashboard(make_live_server: Callable[..., LiveServer], gitlab_definitions: Path, iglu_gitlab: Path,
                      refused_url: str, tmp_path: Path) -> Callable[[], LiveServer]:
    """Return a maker of dashboards (each on its own database) with GitLab's definitions and its local Iglu folder,
    whose only registry (in place of GitLab's) refuses connections: no registry reachable."""
    made: list[LiveServer] = []

    def make() -> LiveServer:
        made.append(make_live_server(db=str(tmp_path / f"events-{len(made)}.db"), definitions=[str(gitlab_definitions)],
                                     iglu_dirs=[str(iglu_gitlab)], iglu_registries=[refused_url], iglu_timeout=0.5))
        return made[-1]

    return make


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


def send_with_python(server: LiveServer) -> None:
    """Send EVENTS through our Python client."""
    with InternalEventsClient(enabled=True, endpoint=server.url) as client:
        for name, properties, context in EVENTS:
            client.track_event(name, properties, category="TestMetricsClients", **context)
        assert client.flush()


def send_with_browser(server: LiveServer, browser: Any, page_server: PageServer) -> None:
    """Send EVENTS through static/internal_events.js in Chromium, each with its standard context configured."""
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>metrics</title>
<script src="{server.url}/static/internal_events.js" data-environment="test"></script></head>
<body data-page="metrics_test"></body></html>"""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(page_server.add(html))
        page.wait_for_function("window.InternalEvents !== undefined")
        page.evaluate("""async (events) => {
            for (const [name, properties, context] of events) {
                InternalEvents.configure({context});
                InternalEvents.trackEvent(name, properties);
                await InternalEvents.flush();
            }
        }""", EVENTS)
    finally:
        context.close()


def stored(server: LiveServer, count: int) -> list[dict[str, Any]]:
    """Wait until `count` events are stored and return their summaries, oldest first."""
    answer = requests.get(f"{server.url}/api/wait", params={"since": 0, "count": count, "timeout": 10}, timeout=15)
    assert answer.status_code == 200, answer.text
    events = requests.get(f"{server.url}/api/events", params={"limit": 100}, timeout=10).json()["events"]
    assert len(events) == count, events
    return sorted(events, key=lambda e: e["id"])


def readings(server: LiveServer) -> dict[str, tuple[Any, Any]]:
    """Return every key path's moving and production readings."""
    answer = requests.get(f"{server.url}/api/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    return {m["key_path"]: (m["moving"], m["production"]) for m in answer.json()["metrics"]}


def test_python_and_browser_clients_move_the_same_metrics_by_the_same_amounts(
        offline_dashboard: Callable[[], LiveServer], browser: Any, page_server: PageServer) -> None:
    python_side, browser_side = offline_dashboard(), offline_dashboard()
    before = readings(python_side)
    assert before == readings(browser_side)
    send_with_python(python_side)
    send_with_browser(browser_side, browser, page_server)
    stored(python_side, len(EVENTS))
    stored(browser_side, len(EVENTS))
    moved_by_python = readings(python_side)
    assert moved_by_python == readings(browser_side)
    moved = {k for k, v in moved_by_python.items() if v != before[k]}
    assert moved >= {"counts.count_total_ci_runners_created",
                     "redis_hll_counters.count_distinct_project_id_from_create_ci_runner_weekly",
                     "redis_hll_counters.count_distinct_label_from_render_blob_embed_in_markdown_weekly",
                     "redis_hll_counters.user_packages.i_package_npm_user_weekly",
                     "counts.package_events_i_package_terraform_module_push_package"}
    assert moved_by_python["counts.count_total_ci_runners_created"] == (3, 3)
    assert moved_by_python["redis_hll_counters.user_packages.i_package_npm_user_weekly"][0] == 2


def entity_statuses(server: LiveServer, row: int) -> dict[str, str]:
    """Return the Iglu status of each entity of one stored event, by schema."""
    answer = requests.get(f"{server.url}/api/events/{row}", timeout=10)
    assert answer.status_code == 200, answer.text
    return {e["schema"]: e["status"] for e in answer.json()["entities"]}


def test_schemas_only_gitlabs_registry_has_are_unverified_offline_not_invalid(
        offline_dashboard: Callable[[], LiveServer], browser: Any, page_server: PageServer) -> None:
    server = offline_dashboard()
    send_with_python(server)
    send_with_browser(server, browser, page_server)
    events = stored(server, 2 * len(EVENTS))
    for event in events:
        assert (event["valid"], event["unverified"]) == (True, True), json.dumps(event)
    python_event, browser_event = events[0], events[-1]
    assert entity_statuses(server, python_event["id"]) == {GITLAB_STANDARD: "valid", AI_CONTEXT: "unverified"}
    statuses = entity_statuses(server, browser_event["id"])
    assert (statuses[GITLAB_STANDARD], statuses[GITLAB_SERVICE_PING]) == ("valid", "unverified")


def test_without_gitlabs_registry_configured_its_schemas_are_unverified_not_invalid(
        make_live_server: Callable[..., LiveServer], iglu_gitlab: Path) -> None:
    """Only local folders (--no-default-registries): a com.gitlab schema they lack was never asked of GitLab's
    registry, so the event is unverified and says so, not invalid."""
    server = make_live_server(iglu_dirs=[str(iglu_gitlab)])
    send_with_python(server)
    events = stored(server, len(EVENTS))
    assert all((e["valid"], e["unverified"]) == (True, True) for e in events)
    answer = requests.get(f"{server.url}/api/events/{events[0]['id']}", timeout=10).json()
    (ai,) = [e for e in answer["entities"] if e["schema"] == AI_CONTEXT]
    assert ai["status"] == "unverified"
    assert "not asked: GitLab (https://gitlab-org.gitlab.io/iglu), the default registry that publishes com.gitlab " \
           "schemas, is not configured" in ai["note"]
