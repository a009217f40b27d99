"""GitLab metrics counted from real events: the tracking client and the Snowplow tracker send to a running dashboard
loaded with GitLab's own definitions (issue 12, acceptance 2-6)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from dashboards import LiveServer
from snowplow_tracker import Emitter, SelfDescribingJson, StructuredEvent, Tracker

from micro_dashboard.gitlab.counting import may_change_metrics, week_start
from micro_dashboard.gitlab.definitions import load
from micro_dashboard.store import Change
from micro_dashboard.tracking import InternalEventsClient
from micro_dashboard.tracking.client import STANDARD_CONTEXT_SCHEMA, build_standard_context

FIXTURES = Path("cli-fixtures/spec/fixtures/scripts/internal_events")
CI_RUNNER_PROJECTS = "redis_hll_counters.count_distinct_project_id_from_create_ci_runner"
CI_RUNNER_NAMESPACES = "redis_hll_counters.count_distinct_namespace_id_from_create_ci_runner"
CI_RUNNERS = "counts.count_total_ci_runners_created"
NPM_USERS_WEEKLY = "redis_hll_counters.user_packages.i_package_npm_user_weekly"
PACKAGE_USERS_MONTHLY = "redis_hll_counters.user_packages.user_packages_total_unique_counts_monthly"
TERRAFORM_PUSHES = "counts.package_events_i_package_terraform_module_push_package"
EMBED_LABELS = "redis_hll_counters.count_distinct_label_from_render_blob_embed_in_markdown"
EMBED_USERS = "redis_hll_counters.count_distinct_user_id_from_render_blob_embed_in_markdown"
EMBEDS = "counts.count_total_render_blob_embed_in_markdown"


class Sender:
    """Send GitLab internal events to a dashboard: through our tracking client, or, for an event dated in the past,
    through the Snowplow tracker itself with a true timestamp (`ttm`), as a delayed real client would."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.client = InternalEventsClient(enabled=True, endpoint=server.url)
        self.dated = Tracker(namespace="gl", emitters=[Emitter(server.url, batch_size=1)], app_id="gitlab")
        self.sent = 0
        self.newest = 0  # the row id of the last event sent

    def send(self, action: str, properties: dict[str, Any] | None = None, at: datetime | None = None,
             **context: Any) -> None:
        """Send one event with these additional properties and standard-context fields (at a past time if given)."""
        if at is None:
            self.client.track_event(action, properties or {}, category="TestGitlabMetrics", **context)
            assert self.client.flush()
        else:
            self.send_dated(action, properties, at, **context)
        self.sent += 1
        # The dashboard's own wait: answers when the event is stored (the tracker's flush does not wait for that).
        arrived = requests.get(f"{self.server.url}/api/wait", params={"since": self.newest, "timeout": 10},
                               timeout=15)
        assert arrived.status_code == 200, arrived.text
        self.newest = arrived.json()["cursor"]

    def send_dated(self, action: str, properties: dict[str, Any] | None, at: datetime, **context: Any) -> None:
        """Send one event through the Snowplow tracker with a true timestamp."""
        props = dict(properties or {})
        label, prop, value = props.pop("label", None), props.pop("property", None), props.pop("value", None)
        standard = build_standard_context(extra=props, environment="test", **context)
        self.dated.track(StructuredEvent("TestGitlabMetrics", action, label, prop, value,
                                         context=[SelfDescribingJson(STANDARD_CONTEXT_SCHEMA, standard)],
                                         true_timestamp=at.timestamp() * 1000))
        self.dated.flush()

    def metrics(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Return the dashboard's metrics by key path (it answers once every acknowledged request is decoded)."""
        params = {"now": now.isoformat()} if now else {}
        answer = requests.get(f"{self.server.url}/api/metrics", params=params, timeout=10)
        assert answer.status_code == 200, answer.text
        return {m["key_path"]: m for m in answer.json()["metrics"]}

    def latest_gitlab(self) -> dict[str, Any]:
        """Return the checks and moved key paths of the newest stored event."""
        answer = requests.get(f"{self.server.url}/api/events/{self.newest}/gitlab", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self) -> None:
        """Stop the tracking client's threads."""
        self.client.close()


@pytest.fixture
def send_to(make_live_server: Callable[..., LiveServer]) -> Iterator[Callable[[Path], Sender]]:
    """Return `send_to(definitions_dir)`: a running dashboard with those definitions, and a sender to it."""
    senders: list[Sender] = []

    def start(definitions: Path) -> Sender:
        senders.append(Sender(make_live_server(definitions=[str(definitions)])))
        return senders[-1]

    yield start
    for sender in senders:
        sender.close()


def codes(gitlab: dict[str, Any]) -> list[str]:
    """Return the codes of an event's checks."""
    return [c["code"] for c in gitlab["checks"]]


def test_undefined_events_and_undeclared_custom_properties_are_flagged(send_to, gitlab_definitions):
    sender = send_to(gitlab_definitions)
    sender.send("project_created", user_id="A", project_id=1, namespace_id=10)
    assert "undefined_event" in codes(sender.latest_gitlab())
    sender.send("create_merge_request", user_id="A", project_id=1, namespace_id=10)
    assert sender.latest_gitlab()["checks"] == []
    sender.send("create_ci_runner", {"foo": "bar"}, user_id="A", project_id=1, namespace_id=10)
    flagged = sender.latest_gitlab()["checks"]
    assert [(c["code"], c["severity"], c.get("property")) for c in flagged] == [("undeclared_property", "error", "foo")]
    sender.send("push_package_to_registry", {"label": "npm", "property": "user", "deploy_token_id": "abc"},
                user_id="A", project_id=1, namespace_id=10)
    assert sender.latest_gitlab()["checks"] == []


def test_ci_runners_count_distinct_projects_and_namespaces_by_iso_week(send_to, gitlab_definitions):
    sender = send_to(gitlab_definitions)
    for project, namespace in ((1, 10), (1, 10), (2, 10)):
        sender.send("create_ci_runner", user_id="A", project_id=project, namespace_id=namespace)
    now = datetime.now(timezone.utc)
    metrics = sender.metrics(now)
    assert metrics[f"{CI_RUNNER_PROJECTS}_weekly"]["moving"] == 2
    assert metrics[f"{CI_RUNNER_NAMESPACES}_weekly"]["moving"] == 1
    assert metrics[f"{CI_RUNNER_PROJECTS}_monthly"]["moving"] == 2
    assert metrics[CI_RUNNERS]["value"] == 3
    assert metrics[f"{CI_RUNNERS}_weekly"]["moving"] == 3
    # Service Ping reports complete weeks only: this week's events are not in a production reading yet.
    assert metrics[f"{CI_RUNNERS}_weekly"]["production"] == 0
    assert metrics[f"{CI_RUNNER_PROJECTS}_weekly"]["production"] == 0
    assert sender.latest_gitlab()["moved"] == [f"{CI_RUNNER_NAMESPACES}_monthly", f"{CI_RUNNER_NAMESPACES}_weekly",
                                               f"{CI_RUNNER_PROJECTS}_monthly", f"{CI_RUNNER_PROJECTS}_weekly",
                                               f"{CI_RUNNERS}_monthly", f"{CI_RUNNERS}_weekly", CI_RUNNERS]


def test_events_dated_last_week_count_in_production_and_two_weeks_back_only_in_28d(send_to, gitlab_definitions):
    sender = send_to(gitlab_definitions)
    now = datetime.now(timezone.utc)
    monday = datetime.combine(week_start(now), datetime.min.time(), timezone.utc)
    last_week = monday - timedelta(days=3, hours=12)  # the Thursday of the previous ISO week
    for project in (1, 2):
        sender.send("create_ci_runner", at=last_week, user_id="A", project_id=project, namespace_id=10)
    metrics = sender.metrics(now)
    weekly = metrics[f"{CI_RUNNER_PROJECTS}_weekly"]
    assert weekly["production"] == weekly["moving"] == 2
    assert metrics[f"{CI_RUNNERS}_weekly"]["production"] == metrics[f"{CI_RUNNERS}_weekly"]["moving"] == 2

    two_weeks_back = monday - timedelta(days=10)
    sender.send("create_ci_runner", at=two_weeks_back, user_id="B", project_id=3, namespace_id=11)
    metrics = sender.metrics(now)
    assert metrics[f"{CI_RUNNER_PROJECTS}_weekly"]["moving"] == 2
    assert metrics[f"{CI_RUNNER_PROJECTS}_weekly"]["production"] == 2
    assert metrics[f"{CI_RUNNER_NAMESPACES}_weekly"]["moving"] == 1
    assert metrics[f"{CI_RUNNER_PROJECTS}_monthly"]["moving"] == 3
    assert metrics[f"{CI_RUNNER_PROJECTS}_monthly"]["production"] == 3
    assert metrics[f"{CI_RUNNER_NAMESPACES}_monthly"]["production"] == 2
    assert metrics[f"{CI_RUNNERS}_monthly"]["production"] == 3
    assert metrics[CI_RUNNERS]["value"] == 3
    # Read five weeks later, every one of those weeks has left both windows; `all` keeps counting them.
    later = sender.metrics(now + timedelta(days=35))
    assert later[f"{CI_RUNNER_PROJECTS}_monthly"]["moving"] == 0
    assert later[CI_RUNNERS]["value"] == 3


def test_npm_users_and_terraform_pushes(send_to, gitlab_definitions):
    sender = send_to(gitlab_definitions)
    npm_user = {"label": "npm", "property": "user"}
    sender.send("push_package_to_registry", npm_user, user_id="A", project_id=1, namespace_id=10)
    sender.send("pull_package_from_registry", npm_user, user_id="A", project_id=1, namespace_id=10)
    sender.send("pull_package_from_registry", npm_user, user_id="B", project_id=1, namespace_id=10)
    sender.send("push_package_to_registry", {"label": "npm", "property": "deploy_token"}, user_id="C",
                project_id=1, namespace_id=10)
    before = sender.metrics()
    assert before[NPM_USERS_WEEKLY]["moving"] == 2
    assert before[PACKAGE_USERS_MONTHLY]["moving"] == 2
    assert before[TERRAFORM_PUSHES]["value"] == 0

    sender.send("push_package_to_registry", {"label": "terraform_module", "property": "user"}, user_id="D",
                project_id=1, namespace_id=10)
    after = sender.metrics()
    assert after[TERRAFORM_PUSHES]["value"] == 1
    assert after[NPM_USERS_WEEKLY]["moving"] == 2
    assert TERRAFORM_PUSHES in sender.latest_gitlab()["moved"]
    assert NPM_USERS_WEEKLY not in sender.latest_gitlab()["moved"]


def test_embeds_count_distinct_labels_users_and_totals(send_to, gitlab_definitions):
    sender = send_to(gitlab_definitions)
    for label, user in (("a", "A"), ("a", "A"), ("b", "B")):
        sender.send("render_blob_embed_in_markdown", {"label": label, "property": "web"}, user_id=user,
                    project_id=1, namespace_id=10)
    metrics = sender.metrics()
    assert metrics[f"{EMBED_LABELS}_weekly"]["moving"] == 2
    assert metrics[f"{EMBED_USERS}_weekly"]["moving"] == 2
    assert metrics[f"{EMBEDS}_weekly"]["moving"] == 3

    sender.send("render_blob_embed_in_markdown", {"label": "c", "property": "web"}, project_id=1, namespace_id=10)
    metrics = sender.metrics()
    assert metrics[f"{EMBEDS}_weekly"]["moving"] == 4
    assert metrics[f"{EMBED_USERS}_weekly"]["moving"] == 2
    assert metrics[f"{EMBED_LABELS}_weekly"]["moving"] == 3
    gitlab = sender.latest_gitlab()
    missing = [c for c in gitlab["checks"] if c["code"] == "unique_missing"]
    assert {c["key_path"] for c in missing} == {f"{EMBED_USERS}_weekly", f"{EMBED_USERS}_monthly"}
    assert f"{EMBED_USERS}_weekly" not in gitlab["moved"] and f"{EMBEDS}_weekly" in gitlab["moved"]
    assert "identifier_missing" in codes(gitlab)


def fixture_tree(folder: Path, gitlab_definitions: Path, event: str, metric: str) -> Path:
    """Lay out one of GitLab's CLI fixture pairs as a definitions tree (in the test's temporary folder)."""
    fixtures = gitlab_definitions / FIXTURES
    (folder / "config" / "events").mkdir(parents=True)
    (folder / "config" / "metrics" / "counts_all").mkdir(parents=True)
    shutil.copy(fixtures / "events" / event, folder / "config" / "events" / "internal_events_cli_used.yml")
    shutil.copy(fixtures / "metrics" / metric, folder / "config" / "metrics" / "counts_all" / metric)
    return folder


def test_a_value_sent_as_text_matches_a_numeric_value_filter(send_to, gitlab_definitions, tmp_path):
    tree = fixture_tree(tmp_path / "defs", gitlab_definitions, "event_with_all_additional_properties.yml",
                        "user_id_single_event_all_additional_props.yml")
    sender = send_to(tree)
    key = "redis_hll_counters.count_distinct_user_id_from_failed_usage_attempts_under_60s_weekly"
    assert sender.metrics()[key]["moving"] == 0
    sender.send("internal_events_cli_used", {"label": "failure", "property": "metrics", "value": 60}, user_id="A")
    sender.send("internal_events_cli_used", {"label": "failure", "property": "metrics", "value": 61}, user_id="B")
    assert sender.metrics()[key]["moving"] == 1  # se_va travels as the text "60" and matches value: 60


def test_custom_key_filters_are_type_sensitive(send_to, gitlab_definitions, tmp_path):
    tree = fixture_tree(tmp_path / "defs", gitlab_definitions, "event_with_multiple_custom_properties.yml",
                        "user_id_single_event_custom_key_filter.yml")
    sender = send_to(tree)
    key = "redis_hll_counters.count_distinct_user_id_from_failed_usage_attempts_under_60s_weekly"
    matching = {"label": "failure", "property": "x", "custom_key1": "metrics", "custom_key4": 12.4}
    sender.send("internal_events_cli_used", {**matching, "custom_key3": "30"}, user_id="A")
    assert sender.metrics()[key]["moving"] == 0
    sender.send("internal_events_cli_used", {**matching, "custom_key3": 30}, user_id="B")
    assert sender.metrics()[key]["moving"] == 1
    sender.send("internal_events_cli_used", {**matching, "custom_key3": 13}, user_id="C")
    assert sender.metrics()[key]["moving"] == 2


def test_store_changes_say_when_metrics_may_have_moved(send_to, gitlab_definitions):
    sender = send_to(gitlab_definitions)
    changes: list[Change] = []
    sender.server.store.on_change(changes.append)
    found = load([gitlab_definitions])
    sender.send("create_merge_request", user_id="A")  # defined, but no metric counts it
    sender.send("create_ci_runner", user_id="A", project_id=1, namespace_id=10)
    inserts = [c for c in changes if c.kind == "insert"]
    assert [may_change_metrics(c, found) for c in inserts] == [False, True]
    requests.delete(f"{sender.server.url}/api/events", timeout=10)
    assert may_change_metrics(changes[-1], found) and changes[-1].kind == "delete"
