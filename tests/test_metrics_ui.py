"""The Metrics view and the GitLab tab in real Chromium, against a dashboard with GitLab's definitions (issue 12,
acceptance 9): each event's detail shows the metric key paths it moved and its checks; the Metrics view updates
live without a reload and highlights what changed since the page loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboards import LiveServer
from playwright.sync_api import Page, expect
from support import IGLU_GITLAB

from micro_dashboard.tracking import InternalEventsClient

pytestmark = pytest.mark.browser

WAIT_MS = 8000
RUNNERS = "counts.count_total_ci_runners_created"
RUNNERS_WEEKLY = "counts.count_total_ci_runners_created_weekly"
PROJECTS_WEEKLY = "redis_hll_counters.count_distinct_project_id_from_create_ci_runner_weekly"
NPM_WEEKLY = "redis_hll_counters.user_packages.i_package_npm_user_weekly"


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer], gitlab_definitions: Path) -> LiveServer:
    """A dashboard with GitLab's definitions and its local Iglu folder."""
    return make_live_server(definitions=[str(gitlab_definitions)], iglu_dirs=[str(IGLU_GITLAB)])


@pytest.fixture
def client(server: LiveServer) -> Iterator[InternalEventsClient]:
    """Our Python tracking client pointed at the dashboard."""
    with InternalEventsClient(enabled=True, endpoint=server.url) as tracking:
        yield tracking


def send(client: InternalEventsClient, action: str, properties: dict[str, Any] | None = None, **context: Any) -> None:
    """Send one internal event and wait until the collector has it."""
    client.track_event(action, properties or {}, category="TestMetricsUi", **context)
    assert client.flush()


def metric_row(page: Page, key_path: str):
    """Return the Metrics view's row of one key path."""
    return page.locator(f'#metrics-table tr[data-key-path="{key_path}"]')


def test_metrics_view_updates_live_and_highlights_what_changed(server: LiveServer, client: InternalEventsClient,
                                                               page: Page) -> None:
    send(client, "create_ci_runner", user_id="A", project_id=1, namespace_id=10)
    page.goto(f"{server.url}/?view=metrics")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(page.locator("#views a.active")).to_have_text("Metrics")
    expect(page.locator("#list")).to_be_hidden()
    expect(page.locator("#metrics-table tr.metric")).to_have_count(21, timeout=WAIT_MS)
    expect(metric_row(page, RUNNERS).locator("td.moving .value")).to_have_text("1")
    expect(page.locator("#metrics-table tr.changed")).to_have_count(0)
    # A marker a reload would lose: the updates below must arrive in this same page.
    page.evaluate("window.__notReloaded = true")

    send(client, "create_ci_runner", user_id="A", project_id=2, namespace_id=10)
    expect(metric_row(page, RUNNERS).locator("td.moving .value")).to_have_text("2", timeout=WAIT_MS)
    expect(metric_row(page, RUNNERS)).to_have_class("metric changed")
    expect(metric_row(page, RUNNERS).locator(".delta")).to_have_text("+1")
    expect(metric_row(page, PROJECTS_WEEKLY).locator("td.moving .value")).to_have_text("2")
    expect(metric_row(page, RUNNERS_WEEKLY).locator("td.production")).to_have_text("0")
    expect(metric_row(page, NPM_WEEKLY)).to_have_class("metric")
    send(client, "push_package_to_registry", {"label": "npm", "property": "user"}, user_id="B")
    expect(metric_row(page, NPM_WEEKLY).locator("td.moving .value")).to_have_text("1", timeout=WAIT_MS)
    expect(page.locator("#metrics-status")).to_contain_text("changed since this page loaded")
    assert page.evaluate("window.__notReloaded") is True


def test_metrics_view_lists_definition_problems(make_live_server: Callable[..., LiveServer],
                                                gitlab_definitions: Path, tmp_path: Path, page: Page) -> None:
    broken = tmp_path / "definitions"
    (broken / "config" / "metrics" / "counts_all").mkdir(parents=True)
    (broken / "config" / "metrics" / "counts_all" / "broken.yml").write_text("key_path: [unclosed\n")
    server = make_live_server(definitions=[str(gitlab_definitions), str(broken)])
    page.goto(f"{server.url}/?view=metrics")
    expect(page.locator("#metrics-table tr.metric")).to_have_count(21, timeout=WAIT_MS)
    expect(page.locator("#metrics-problems")).to_contain_text("broken.yml:")


def test_event_detail_shows_the_key_paths_it_moved_and_its_checks(server: LiveServer, client: InternalEventsClient,
                                                                  page: Page) -> None:
    send(client, "create_ci_runner", {"foo": "bar"}, user_id="A", project_id=1, namespace_id=10)
    page.goto(server.url + "/")
    row = page.locator("#list .row[data-id]").filter(has_text="create_ci_runner")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    row.click()
    expect(page.locator("#detail-tabs .tab.active")).to_have_text("GitLab", timeout=WAIT_MS)
    moved = page.locator("#detail-body .gl-moved li")
    expect(moved).to_have_count(7, timeout=WAIT_MS)
    expect(moved).to_contain_text([RUNNERS], timeout=WAIT_MS)
    check = page.locator("#detail-body .gl-check")
    expect(check).to_have_count(1)
    expect(check).to_have_attribute("data-code", "undeclared_property")
    expect(check).to_contain_text("custom property 'foo' is not declared")
