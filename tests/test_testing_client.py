"""MicroDashboard against a dashboard in a separate process, and the partial matcher on its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests
from dashboard_process import dashboard_process
from snowplow_tracker import Emitter, PageView, SelfDescribing, SelfDescribingJson, StructuredEvent, Tracker
from support import GITLAB_STANDARD, LINK_CLICK, UNSTRUCT

from micro_dashboard.testing import APIError, MicroDashboard, ReceivedEvent, WaitTimeout
from micro_dashboard.testing.matching import api_filters, differences, expectations


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve one dashboard in a separate process for this module."""
    with dashboard_process(tmp_path_factory.mktemp("dashboard") / "events.db") as url:
        yield url


@pytest.fixture
def dash(dashboard_url: str) -> MicroDashboard:
    """Return a client whose cursor starts now."""
    return MicroDashboard(dashboard_url, timeout=10)


@pytest.fixture
def app_id() -> str:
    """Return an app id no other test uses."""
    return f"client-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tracker(dash: MicroDashboard, app_id: str) -> Tracker:
    """Return a synchronous snowplow-tracker sending one event per request, flushed by the client."""
    emitter = Emitter(dash.endpoint, protocol="http", method="post", batch_size=1)
    return dash.register(Tracker("client-tests", emitters=emitter, app_id=app_id))


def standard(**data) -> SelfDescribingJson:
    """Return a gitlab_standard context."""
    return SelfDescribingJson(GITLAB_STANDARD, {"environment": "test", **data})


def link_click(**data) -> SelfDescribing:
    """Return a link_click self-describing event."""
    return SelfDescribing(SelfDescribingJson(LINK_CLICK, data))


def test_collector_url_and_endpoint_are_what_trackers_take(dashboard_url: str):
    dash = MicroDashboard(dashboard_url.replace("http://", "") + "/")
    assert dash.collector_url == dashboard_url
    assert dash.endpoint == dashboard_url.removeprefix("http://")
    assert dash.health()


def test_assert_event_matches_promoted_fields_entities_params_and_validity(dash, tracker, app_id):
    tracker.track(StructuredEvent("projects", "create", label="form", value=12,
                                  context=[standard(project_id=7, extra={"a": {"b": 1, "c": 2}})]))
    event = dash.assert_event(se_action="create", app_id=app_id, gitlab_standard={"project_id": 7},
                              param={"se_va": 12}, valid=True)
    assert isinstance(event, ReceivedEvent)
    assert event["se_category"] == "projects"
    assert event.entity("gitlab_standard")["project_id"] == 7
    assert event.params["se_ca"] == "projects"
    assert dash.assert_event(gitlab_standard={"extra": {"a": {"b": 1}}}).id == event.id
    assert dash.assert_event(**{"gitlab_standard.project_id": 7, "param.se_ac": "create"}).id == event.id


def test_a_list_index_in_a_path_selects_what_the_api_selects(dash, tracker, app_id):
    tracker.track(StructuredEvent("features", "used", context=[standard(feature_enabled_by_namespace_ids=[5])]))
    listed = requests.get(f"{dash.url}/api/events", timeout=10, params={
        "app_id": app_id, "gitlab_standard.feature_enabled_by_namespace_ids.0": "5"}).json()["events"]
    event = dash.assert_event(**{"gitlab_standard.feature_enabled_by_namespace_ids.0": 5}, app_id=app_id)
    assert [row["id"] for row in listed] == [event.id]
    assert dash.assert_event(gitlab_standard={"feature_enabled_by_namespace_ids": {"0": 5}}).id == event.id
    dash.assert_no_event(within=0, **{"gitlab_standard.feature_enabled_by_namespace_ids.1": 5})


def test_assert_event_matches_fields_of_the_self_describing_event(dash, tracker):
    tracker.track(link_click(targetUrl="https://example.com/", elementId="docs"))
    event = dash.assert_event(link_click={"targetUrl": "https://example.com/"}, event_name="link_click")
    assert event.entity("unstruct") == {"targetUrl": "https://example.com/", "elementId": "docs"}
    assert dash.assert_event(unstruct={"elementId": "docs"}).id == event.id


def test_operators_and_predicates(dash, tracker):
    tracker.track(StructuredEvent("shop", "checkout", label="basket-large", value=30,
                                  context=[standard(namespace_id=4)]))
    dash.assert_event(se_label__startswith="basket", se_value__gt=20, se_category__in=["shop", "cart"],
                      gitlab_standard={"namespace_id__gte": 4, "project_id__isnull": True},
                      se_property__isnull=True, se_action=lambda action: action.endswith("out"))


def test_wait_for_returns_events_in_order_once_all_arrived(dash, tracker):
    for n in range(3):
        tracker.track(StructuredEvent("wait", f"step-{n}"))
    events = dash.wait_for(3, se_category="wait")
    assert [e["se_action"] for e in events] == ["step-0", "step-1", "step-2"]


def test_events_before_the_cursor_do_not_count_unless_asked(dash, tracker, app_id):
    tracker.track(StructuredEvent("stale", "before"))
    assert dash.mark() > 0
    tracker.track(StructuredEvent("stale", "after"))
    assert [e["se_action"] for e in dash.events(app_id=app_id)] == ["after"]
    assert [e["se_action"] for e in dash.events(since=0, app_id=app_id)] == ["before", "after"]
    dash.assert_no_event(within=0, se_action="before")


def test_mark_reads_the_newest_row_id_in_one_request_and_a_shared_session_stays_open(dashboard_url, tracker):
    tracker.track(StructuredEvent("cursor", "sent"))
    newest = requests.get(f"{dashboard_url}/api/events", params={"limit": 1}, timeout=10).json()
    cursor = requests.get(f"{dashboard_url}/api/cursor", timeout=10).json()
    assert cursor == {"last_id": newest["last_id"], "metrics": None}  # no GitLab definitions loaded
    assert newest["events"][0]["id"] == cursor["last_id"] and newest["events"][0]["se_action"] == "sent"
    with requests.Session() as shared:
        with MicroDashboard(dashboard_url, session=shared) as client:
            assert client.cursor == cursor["last_id"] and client.metrics_baseline == {}
        assert shared.get(f"{dashboard_url}/health", timeout=10).ok  # the client closed only what it opened


def test_a_failed_assertion_shows_the_closest_events_and_what_differs(dash, tracker, app_id):
    tracker.track(PageView(page_url="https://example.com/"))
    tracker.track(StructuredEvent("projects", "create", context=[standard(project_id=8)]))
    with pytest.raises(WaitTimeout) as failure:
        dash.assert_event(timeout=0.2, se_action="create", gitlab_standard={"project_id": 7})
    message = str(failure.value)
    assert "expected 1 event matching se_action='create', gitlab_standard={'project_id': 7}" in message
    assert "closest of the 2 events received" in message
    lines = message.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["row", "time", "app_id"])
    assert "struct projects/create" in lines[header + 1] and "1/2" in lines[header + 1]
    assert lines[header + 2].strip() == "gitlab_standard.project_id: expected 7, got 8"
    assert "page_view" in lines[header + 3] and "0/2" in lines[header + 3]
    assert "gitlab_standard.project_id: expected 7, but the event has no gitlab_standard entity" in message
    assert "se_action: expected 'create', got None" in message


def test_a_failure_with_nothing_received_says_where_trackers_should_send(dash):
    with pytest.raises(WaitTimeout, match="No events at all arrived") as failure:
        dash.assert_event(timeout=0, se_action="never")
    assert dash.endpoint in str(failure.value)


def test_assert_events_counts_at_least_or_exactly(dash, tracker):
    for _ in range(2):
        tracker.track(StructuredEvent("count", "hit"))
    assert len(dash.assert_events(2, se_action="hit")) == 2
    assert len(dash.assert_events(1, se_action="hit")) == 2
    with pytest.raises(AssertionError, match="expected exactly 1 event matching se_action='hit', got 2"):
        dash.assert_events(1, exactly=True, se_action="hit")


def test_assert_no_event_fails_with_the_event_that_arrived(dash, tracker):
    dash.assert_no_event(within=0.1, se_action="forbidden")
    tracker.track(StructuredEvent("guard", "forbidden"))
    with pytest.raises(AssertionError, match="expected no event matching se_action='forbidden'") as failure:
        dash.assert_no_event(within=5, se_action="forbidden")
    assert "struct guard/forbidden" in str(failure.value)


@pytest.mark.needs_iglu_central
def test_assert_all_valid_lists_every_invalid_event_and_why(dash, tracker):
    tracker.track(link_click(targetUrl="https://example.com/"))
    dash.assert_event(event_name="link_click")
    dash.assert_all_valid()
    tracker.track(link_click(elementId="no-target"))
    tracker.track(StructuredEvent("bad", "context", context=[standard(project_id="seven")]))
    with pytest.raises(AssertionError) as failure:
        dash.assert_all_valid()
    message = str(failure.value)
    assert message.startswith("2 of 3 events received are invalid:")
    assert 'required property "targetUrl" is missing' in message
    assert "project_id" in message and "struct bad/context" in message


def test_event_by_id_and_reset_by_filter(dash, tracker, app_id):
    tracker.track(StructuredEvent("reset", "keep"))
    tracker.track(StructuredEvent("reset", "drop"))
    kept, dropped = dash.wait_for(2, se_category="reset")
    assert dash.event(kept.event_id).id == kept.id
    assert dash.event(kept.id).event_id == kept.event_id
    assert dash.reset(app_id=app_id, se_action="drop") == 1
    assert [e.id for e in dash.events(se_category="reset")] == [kept.id]
    with pytest.raises(LookupError):
        dash.event(dropped.event_id)
    with pytest.raises(ValueError, match="reset"):
        dash.reset(se_action=lambda a: True)


def test_a_filter_the_dashboard_rejects_is_reported_with_its_message(dash):
    with pytest.raises(APIError, match="is:valid or is:invalid"):
        dash.events(search="is:maybe")


def test_keywords_that_name_nothing_are_rejected_before_asking():
    with pytest.raises(TypeError, match="neither a canonical event field"):
        expectations({"se_actoin": "x"})
    with pytest.raises(TypeError, match="dict of raw tracker parameters"):
        expectations({"param": "se_ac=x"})


def test_expectations_become_api_filters_that_select_a_superset():
    wanted = expectations({"se_action": "x", "valid": False, "gitlab_standard": {"project_id": 7, "extra": {"k": "v"}},
                           "param": {"se_va": 12}, "page_url": "https://a/", "se_label__in": ["a", "b"],
                           "link_click": {}, "se_value": lambda v: v > 1,
                           "gitlab_standard.feature_enabled_by_namespace_ids.0": 5})
    assert api_filters(wanted) == [("se_action", "x"), ("valid", "false"), ("gitlab_standard.project_id", "7"),
                                   ("gitlab_standard.extra.k", "v"),
                                   ("gitlab_standard.feature_enabled_by_namespace_ids.0", "5"), ("param.se_va", "12"),
                                   ("se_label__in", "a,b"), ("has", "link_click")]


def test_partial_matching_is_strict_about_types_and_judges_each_entity_whole():
    event = ReceivedEvent({"row": {"id": 1, "valid": True}, "event": {"se_action": "x", "se_value": 1.0},
                           "entities": [{"kind": "context", "schema": GITLAB_STANDARD, "data": {"project_id": 7}},
                                        {"kind": "context", "schema": GITLAB_STANDARD, "data": {"project_id": 8,
                                                                                                "plan": "free"}}]})
    assert not differences(event, expectations({"gitlab_standard": {"project_id": 8, "plan": "free"}}))
    assert differences(event, expectations({"gitlab_standard": {"project_id": 7, "plan": "free"}}))
    assert not differences(event, expectations({"se_value": 1}))
    assert [str(d) for d in differences(event, expectations({"valid": 1, "gitlab_standard": {"project_id": "7"}}))] == [
        "valid: expected 1, got True", "gitlab_standard.project_id: expected '7', got 7"]


def test_assert_all_valid_strict_fails_when_schemas_could_not_be_checked(make_live_server) -> None:
    server = make_live_server()  # no registry configured: every schema is unverified
    with MicroDashboard(server.url, cursor=0) as dashboard:
        ue = json.dumps({"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": {}}})
        requests.get(f"{dashboard.url}/i", params={"e": "ue", "p": "web", "tv": "t", "ue_pr": ue}, timeout=10)
        dashboard.wait_for(1)
        dashboard.assert_all_valid()  # valid, as far as anything could tell
        unchecked = r"(?s)1 could not be checked .*link_click: no Iglu registry is configured"
        with pytest.raises(AssertionError, match=unchecked):
            dashboard.assert_all_valid(strict=True)
