"""The pytest plugin as its users meet it: small test files run by pytester, their outcomes and their output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dashboard_process import dashboard_process
from support import IGLU_CENTRAL, IGLU_GITLAB

pytest_plugins = ["pytester"]

CONFTEST = f"""
import pytest

@pytest.fixture(scope="session")
def micro_dashboard_config():
    return {{"iglu_defaults": False, "iglu_dirs": [{str(IGLU_CENTRAL)!r}, {str(IGLU_GITLAB)!r}]}}
"""

IMPORTS = """
from snowplow_tracker import SelfDescribing, SelfDescribingJson, StructuredEvent

GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8"
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Import everything create_app() needs before pytester snapshots sys.modules (in-process runs drop the rest)."""
    from micro_dashboard import create_app

    create_app({"db": str(tmp_path_factory.mktemp("warm") / "events.db"), "iglu_defaults": False}).config[
        "STORE"].close()


@pytest.fixture
def suite(pytester: pytest.Pytester, imported: None) -> pytest.Pytester:
    """Return a pytester whose conftest keeps the in-process dashboard offline (local Iglu repositories)."""
    pytester.makeconftest(CONFTEST)
    return pytester


def test_fixtures_track_and_assert_in_a_passing_suite(suite: pytest.Pytester):
    suite.makepyfile(IMPORTS + """
def test_signup(micro_dashboard, tracker):
    context = SelfDescribingJson(GITLAB_STANDARD, {"environment": "test", "project_id": 7})
    tracker.track(StructuredEvent("auth", "signup", label="email", context=[context]))
    event = micro_dashboard.assert_event(se_action="signup", app_id=tracker.app_id,
                                         gitlab_standard={"project_id": 7}, valid=True)
    assert event["se_label"] == "email"
    micro_dashboard.assert_no_event(within=0.1, se_action="signout")
    micro_dashboard.assert_all_valid()

def test_link_click(micro_dashboard, tracker):
    tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK, {"targetUrl": "https://example.com/"})))
    micro_dashboard.assert_events(1, exactly=True, link_click={"targetUrl": "https://example.com/"})
""")
    result = suite.runpytest()
    result.assert_outcomes(passed=2)


def test_each_test_starts_with_no_events_and_its_own_app_id(suite: pytest.Pytester):
    suite.makepyfile(IMPORTS + """
seen = []

def test_first(micro_dashboard, tracker):
    seen.append(tracker.app_id)
    tracker.track(StructuredEvent("isolation", "first"))
    micro_dashboard.assert_event(se_action="first")

def test_second(micro_dashboard, tracker):
    seen.append(tracker.app_id)
    assert micro_dashboard.events(since=0) == []
    assert seen[0] != seen[1] and seen[1].startswith("test_second-")
""")
    suite.runpytest().assert_outcomes(passed=2)


def test_a_failing_assertion_prints_the_closest_events_and_the_differences(suite: pytest.Pytester):
    suite.makepyfile(IMPORTS + """
def test_wrong_action(micro_dashboard, tracker):
    tracker.track(StructuredEvent("auth", "signup", label="email"))
    tracker.track(StructuredEvent("auth", "login", label="sso"))
    micro_dashboard.assert_event(timeout=0.2, se_action="signup", se_label="sso")
""")
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*micro_dashboard.assert_event(timeout=0.2, se_action=\"signup\", se_label=\"sso\")",
        "E*WaitTimeout: expected 1 event matching se_action='signup', se_label='sso' within 0.2s, got 0.",
        "E*closest of the 2 events received (most matching fields first):",
        "E*row*time*app_id*event*validity*matched",
        "E*#2*test_wrong_action-*struct auth/login*valid*1/2",
        "E*se_action: expected 'signup', got 'login'",
        "E*#1*test_wrong_action-*struct auth/signup*valid*1/2",
        "E*se_label: expected 'sso', got 'email'",
    ])


@pytest.mark.needs_iglu_central
def test_assert_all_valid_fails_with_each_invalid_event_and_why(suite: pytest.Pytester):
    suite.makepyfile(IMPORTS + """
def test_everything_valid(micro_dashboard, tracker):
    tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK, {"elementId": "no-target"})))
    tracker.track(StructuredEvent("fine", "event"))
    micro_dashboard.assert_all_valid()
""")
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E*1 of 2 events received are invalid:",
        "E*#1*link_click*INVALID",
        "E*- link_click 1-0-1: required property \"targetUrl\" is missing (the self-describing event)",
    ])


def test_the_plugin_leaves_the_projects_own_fixture_names_alone(suite: pytest.Pytester):
    suite.makeconftest(CONFTEST + """
@pytest.fixture
def app():
    return "the project's app"

@pytest.fixture
def live_server():
    return "the project's live server"
""")
    suite.makepyfile("""
def test_names(app, live_server, micro_dashboard):
    assert app == "the project's app" and live_server == "the project's live server"
    assert micro_dashboard.url.startswith("http://127.0.0.1:")
""")
    suite.runpytest().assert_outcomes(passed=1)


def test_an_external_dashboard_from_the_option_or_the_environment(suite: pytest.Pytester, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    suite.makepyfile(IMPORTS + """
import os

def test_external(micro_dashboard, micro_dashboard_server, tracker):
    assert micro_dashboard_server.external
    assert micro_dashboard.url == os.environ["EXPECTED_URL"]
    tracker.track(StructuredEvent("external", os.environ["ACTION"]))
    micro_dashboard.assert_events(1, exactly=True, se_category="external")
""")
    with dashboard_process(tmp_path / "events.db") as url:
        monkeypatch.setenv("EXPECTED_URL", url)
        monkeypatch.setenv("ACTION", "by-option")
        suite.runpytest(f"--micro-dashboard-url={url}").assert_outcomes(passed=1)
        monkeypatch.setenv("MICRO_DASHBOARD_URL", url)
        monkeypatch.setenv("ACTION", "by-environment")
        suite.runpytest().assert_outcomes(passed=1)
        import requests

        stored = requests.get(f"{url}/api/events", params={"se_category": "external"}, timeout=10).json()
        assert sorted(e["se_action"] for e in stored["events"]) == ["by-environment", "by-option"]


KEEP_TEST = IMPORTS + """
import json, os

def test_record(micro_dashboard, micro_dashboard_server, tracker):
    with open(os.environ["DB_NOTE"], "w") as note:
        json.dump(micro_dashboard_server.db, note)
    tracker.track(StructuredEvent("keep", "me"))
    micro_dashboard.assert_event(se_action="me")
    assert os.environ.get("FAIL") != "1"
"""


@pytest.mark.parametrize(("fail", "keep", "kept"), [("1", True, True), ("0", True, False), ("1", False, False)])
def test_keep_leaves_the_database_after_a_failed_run(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, fail: str, keep: bool, kept: bool):
    suite.makepyfile(KEEP_TEST)
    monkeypatch.setenv("DB_NOTE", str(tmp_path / "db.json"))
    monkeypatch.setenv("FAIL", fail)
    result = suite.runpytest(*(["--micro-dashboard-keep"] if keep else []))
    db = Path(json.loads((tmp_path / "db.json").read_text()))
    assert db.exists() is kept
    if kept:
        result.stdout.fnmatch_lines([f"kept the events of this run in {db}", f"*micro-dashboard serve --db {db}"])
        from micro_dashboard.store import Store

        store = Store(str(db))
        assert store.counts()["total"] == 1
        store.close()
    else:
        result.stdout.no_fnmatch_line("kept the events*")


def definitions_conftest(definitions: Path) -> str:
    """Return a conftest whose in-process dashboard loads GitLab's definitions (and stays offline)."""
    return f"""
import pytest

@pytest.fixture(scope="session")
def micro_dashboard_config():
    return {{"iglu_defaults": False, "iglu_dirs": [{str(IGLU_GITLAB)!r}], "definitions": [{str(definitions)!r}]}}

@pytest.fixture
def gitlab_client(micro_dashboard):
    from micro_dashboard.tracking import InternalEventsClient
    with InternalEventsClient(enabled=True, endpoint=micro_dashboard.url) as client:
        yield micro_dashboard.register(client)
"""


RUNNERS = "counts.count_total_ci_runners_created"


def test_metric_assertions_pass_as_gitlabs_matchers_would(pytester: pytest.Pytester, imported: None,
                                                          gitlab_definitions: Path):
    pytester.makeconftest(definitions_conftest(gitlab_definitions))
    pytester.makepyfile(f"""
RUNNERS = {RUNNERS!r}
PROJECTS = "redis_hll_counters.count_distinct_project_id_from_create_ci_runner_weekly"
NPM = "redis_hll_counters.user_packages.i_package_npm_user_weekly"

def test_moved_since_the_test_started(micro_dashboard, gitlab_client):
    for project in (1, 1, 2):
        gitlab_client.track_event("create_ci_runner", user_id="A", project_id=project, namespace_id=10)
    assert micro_dashboard.assert_metric_changed(RUNNERS, by=3) == {{RUNNERS: (0, 3)}}
    micro_dashboard.assert_metric_changed(RUNNERS, RUNNERS + "_weekly", from_=0, to=3)
    micro_dashboard.assert_metric_changed(RUNNERS, PROJECTS, by_at_least=2, by_at_most=3)
    micro_dashboard.assert_metric_unchanged(NPM)

def test_each_test_has_its_own_baseline_and_the_block_form(micro_dashboard, gitlab_client):
    micro_dashboard.assert_metric_unchanged(RUNNERS, PROJECTS)
    with micro_dashboard.metrics_change() as metrics:
        gitlab_client.track_event("create_ci_runner", user_id="A", project_id=5, namespace_id=10)
    metrics.assert_changed(RUNNERS)
    metrics.assert_changed(RUNNERS, PROJECTS, by=1)
    metrics.assert_unchanged(NPM)
""")
    pytester.runpytest().assert_outcomes(passed=2)


def test_metric_assertion_failures_say_how_the_value_went_and_suggest_a_key_path(
        pytester: pytest.Pytester, imported: None, gitlab_definitions: Path):
    pytester.makeconftest(definitions_conftest(gitlab_definitions))
    pytester.makepyfile(f"""
RUNNERS = {RUNNERS!r}

def test_moved_by_two(micro_dashboard, gitlab_client):
    gitlab_client.track_event("create_ci_runner", project_id=1)
    gitlab_client.track_event("create_ci_runner", project_id=2)
    micro_dashboard.assert_metric_changed(RUNNERS)

def test_expected_unchanged(micro_dashboard, gitlab_client):
    with micro_dashboard.metrics_change() as metrics:
        gitlab_client.track_event("create_ci_runner", project_id=1)
    metrics.assert_unchanged(RUNNERS)

def test_typo(micro_dashboard):
    micro_dashboard.assert_metric_changed("counts.count_total_ci_runner_created")
""")
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        f"*expected metric {RUNNERS} to be incremented by 1 -> value went from 0 to 2*",
        f"*expected metric {RUNNERS} not to be incremented -> value went from 0 to 1*",
        f"*unknown metric 'counts.count_total_ci_runner_created' at http://127.0.0.1:*"
        f" -- did you mean '{RUNNERS}'?*",
    ], consecutive=False)
