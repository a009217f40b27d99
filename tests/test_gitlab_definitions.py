"""Loading GitLab's definitions: GitLab's own files load whole; a broken file is reported with file and line while
the rest loads; changes are picked up; the API lists events, metric key paths and problems (issue 12, acceptance 1)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from micro_dashboard.config import Settings
from micro_dashboard.gitlab.definitions import DefinitionsSource, load

CI_RUNNERS_FILE = "config/metrics/counts_all/count_total_create_ci_runner.yml"
MINIMAL_EVENT = """description: d
internal_events: true
action: {action}
identifiers: [user]
additional_properties:
  label: {{description: l}}
product_group: g
milestone: '17.0'
introduced_by_url: TODO
tiers: [free, premium, ultimate]
"""
METRIC_HEAD = """key_path: {key_path}
description: d
product_group: g
value_type: number
status: active
milestone: '17.0'
introduced_by_url: TODO
data_source: internal_events
data_category: optional
tiers: [free]
"""


def errors(found) -> list:
    """Return the error-severity problems."""
    return [p for p in found.problems if p.severity == "error"]


@pytest.fixture
def copy(gitlab_definitions: Path, tmp_path: Path) -> Path:
    """Return a copy of GitLab's definitions in the test's temporary folder, to break."""
    target = tmp_path / "gitlab"
    shutil.copytree(gitlab_definitions / "config", target / "config")
    return target


def write_metric(root: Path, name: str, body: str, key_path: str = "counts.mine") -> Path:
    """Write a metric file (the common head, then `body`) under counts_all/."""
    path = root / "config" / "metrics" / "counts_all" / name
    path.write_text(METRIC_HEAD.format(key_path=key_path) + body)
    return path


def test_gitlabs_definitions_load_whole(gitlab_definitions):
    found = load([gitlab_definitions])
    assert len(found.events) == 12
    assert len(found.metrics) == 21
    assert errors(found) == []
    monthly = found.metric("counts.count_total_ci_runners_created_monthly")
    assert monthly is not None and monthly.time_frame == "28d"
    assert monthly.file == str(gitlab_definitions / CI_RUNNERS_FILE)
    assert found.metric("counts.count_total_ci_runners_created").time_frame == "all"
    # A single time_frame keeps its key path as written.
    assert found.metric("redis_hll_counters.user_packages.i_package_npm_user_weekly").time_frame == "7d"


def test_a_product_group_the_checkout_does_not_list_is_a_warning_only(gitlab_definitions):
    found = load([gitlab_definitions])
    # GitLab's own files drift from their product_groups.json (LICENSE-NOTE.md): warned about, still loaded.
    warned = {(Path(p.file).name, p.line) for p in found.problems
              if p.severity == "warning" and "product_groups.json" in p.message}
    assert ("create_ci_runner.yml", 14) in warned and ("count_total_create_ci_runner.yml", 4) in warned
    assert {Path(f).name for f, _ in warned} >= {"render_blob_embed_in_markdown.yml"}
    assert "create_ci_runner" in found.events and found.metric("counts.count_total_ci_runners_created")
    assert not any("product_groups.json" in p.message for p in found.problems
                   if "create_merge_request" in p.file)


def test_broken_yaml_is_reported_with_file_and_line_while_the_rest_loads(copy):
    broken = copy / "config" / "events" / "create_merge_request.yml"
    lines = broken.read_text().splitlines(keepends=True)
    broken.write_text("".join([*lines[:6], "\tproduct_group: [tab-indented\n", *lines[6:]]))
    found = load([copy])
    assert [(p.file, p.line) for p in errors(found)][:1] == [(str(broken), 7)]
    assert "not valid YAML" in errors(found)[0].message
    assert len(found.events) == 11 and len(found.metrics) == 21


def test_a_duplicate_key_path_names_both_files(copy):
    original = copy / CI_RUNNERS_FILE
    duplicate = copy / "config" / "metrics" / "counts_all" / "zz_copy.yml"
    shutil.copy(original, duplicate)
    found = load([copy])
    duplicates = [p for p in errors(found) if "duplicate key path" in p.message]
    assert {p.file for p in duplicates} == {str(duplicate)}
    assert all(str(original) in p.message and p.line == 2 for p in duplicates)
    assert len(found.metrics) == 21


@pytest.mark.parametrize(("body", "reason"), [
    ("time_frame: 14d\nevents:\n- name: create_merge_request\n", "time_frame '14d'"),
    ("time_frame: [7d, all]\nevents:\n- name: create_merge_request\n  unique: user.id\n", "cannot have time_frame all"),
    ("time_frame: 7d\nevents:\n- name: create_merge_request\n  unique: user.name\n", "unique 'user.name'"),
    ("time_frame: 7d\nevents:\n- name: create_merge_request\n  filter: {label: 5}\n", "label must be a string"),
    ("time_frame: 7d\nevents:\n- name: create_merge_request\n  filter: {value: '5'}\n", "value must be a number"),
    ("time_frame: 7d\nevents:\n- name: create_merge_request\n  unique: user.id\n- name: create_ci_runner\n",
     "unique and total mixed"),
    ("time_frame: 7d\nevents:\n- name: project_created\n", "'project_created', which no event file defines"),
    ("time_frame: 7d\n", "'events' must be a non-empty list"),
])
def test_metric_checks(copy, body, reason):
    path = write_metric(copy, "mine.yml", body)
    found = load([copy])
    mine = [p for p in errors(found) if p.file == str(path)]
    assert any(reason in p.message for p in mine), mine
    assert all(p.line for p in mine)


def test_a_missing_required_key_is_reported(copy):
    path = copy / "config" / "metrics" / "counts_all" / "mine.yml"
    path.write_text("key_path: counts.mine\ntime_frame: all\ndata_source: internal_events\n"
                    "events:\n- name: create_merge_request\n")
    messages = [p.message for p in errors(load([copy])) if p.file == str(path)]
    assert "required key 'milestone' is missing" in messages


def test_aggregates_and_ee_folders(tmp_path):
    for base in (tmp_path, tmp_path / "ee"):
        (base / "config" / "events").mkdir(parents=True)
        (base / "config" / "metrics" / "aggregates").mkdir(parents=True)
    (tmp_path / "config" / "events" / "free_event.yml").write_text(MINIMAL_EVENT.format(action="free_event"))
    (tmp_path / "ee" / "config" / "events" / "paid_event.yml").write_text(MINIMAL_EVENT.format(action="paid_event"))
    (tmp_path / "config" / "metrics" / "aggregates" / "x.yml").write_text("not: [a metric")
    (tmp_path / "ee" / "config" / "metrics" / "counts_all").mkdir()
    write_metric(tmp_path / "ee", "paid.yml", "time_frame: 7d\nevents:\n- name: paid_event\n  unique: user.id\n")
    found = load([tmp_path])
    assert sorted(found.events) == ["free_event", "paid_event"]
    assert [m.key_path for m in found.metrics] == ["counts.mine"]
    assert found.problems == []


def test_changes_are_picked_up(tmp_path):
    (tmp_path / "config" / "events").mkdir(parents=True)
    source = DefinitionsSource([tmp_path], interval=0)
    assert source.get().events == {}
    event = tmp_path / "config" / "events" / "new_event.yml"
    event.write_text(MINIMAL_EVENT.format(action="new_event"))
    assert list(source.get().events) == ["new_event"]
    version = source.version
    assert source.get() is source.get() and source.version == version  # unchanged files are not read again
    event.write_text("action: [broken")
    stamp = time.time() + 5  # a new modification time even on a file system with coarse timestamps
    os.utime(event, (stamp, stamp))
    reloaded = source.get()
    assert reloaded.events == {} and reloaded.problems[0].file == str(event)


def test_definitions_setting_from_the_environment():
    settings = Settings.load(environ={"MICRO_DASHBOARD_DEFINITIONS": "/a /b"})
    assert settings.definitions == ["/a", "/b"]


def test_the_api_lists_definitions_and_problems(make_app, copy):
    write_metric(copy, "mine.yml", "time_frame: 7d\nevents:\n- name: project_created\n")
    client = make_app(definitions=[str(copy)]).test_client()
    answer = client.get("/api/definitions").get_json()
    assert answer["configured"] is True and answer["dirs"] == [str(copy)]
    assert len(answer["events"]) == 12
    assert {e["action"] for e in answer["events"]} >= {"create_ci_runner", "create_merge_request"}
    assert len(answer["metrics"]) == 22
    assert any("project_created" in p["message"] and p["line"] == 1 for p in answer["problems"])
    metrics = client.get("/api/metrics", query_string={"now": "2026-01-07T12:00:00Z"}).get_json()
    assert metrics["now"] == "2026-01-07T12:00:00Z"
    weekly = next(m for m in metrics["metrics"] if m["key_path"] == "counts.count_total_ci_runners_created_weekly")
    assert weekly["windows"] == {"moving": {"first_week": "2025-12-29", "last_week": "2026-01-05"},
                                 "production": {"first_week": "2025-12-29", "last_week": "2025-12-29"}}
    assert (weekly["moving"], weekly["production"], weekly["kind"]) == (0, 0, "total")
    for bad in ("soon", "-62135596800000", "9999-12-31T00:00:00Z"):
        assert client.get("/api/metrics", query_string={"now": bad}).status_code == 400
    assert client.get("/api/events/12345/gitlab").status_code == 404


def test_without_definitions_the_api_answers_empty(client):
    assert client.get("/api/metrics").get_json()["metrics"] == []
    assert client.get("/api/definitions").get_json()["configured"] is False
