"""Snowplow Micro 4.x's paged API: POST /micro/events, GET /micro/columns, POST /micro/timeline."""

from __future__ import annotations

import requests
from sending import gitlab_event, pixel, tp2

from micro_dashboard.pipeline.fields import iso_timestamp


def seed(url: str) -> list[str]:
    """Send three page views on two apps and a GitLab struct event."""
    ids = tp2(url, {"e": "pv", "aid": "a", "url": "http://x/1"}, {"e": "pv", "aid": "b", "url": "http://x/2"},
              {"e": "pv", "aid": "a", "url": "http://x/3"})
    ids += tp2(url, gitlab_event("push", {"environment": "test", "project_id": 7}, aid="c"))
    return ids


def post(url: str, path: str, body: dict) -> requests.Response:
    """POST a JSON body to a Micro endpoint."""
    return requests.post(f"{url}/micro/{path}", json=body, timeout=10)


def test_events_pages_flattened_events_newest_first(live_server) -> None:
    ids = seed(live_server.url)
    body = post(live_server.url, "events", {"filters": [], "page": 1, "pageSize": 3}).json()
    assert body["totalItems"] == 4 and body["totalPages"] == 2
    assert [e["event_id"] for e in body["events"]] == ids[::-1][:3]
    second = post(live_server.url, "events", {"filters": [], "page": 2, "pageSize": 3}).json()
    assert [e["event_id"] for e in second["events"]] == [ids[0]]
    gitlab = body["events"][0]
    assert "contexts" not in gitlab and gitlab["contexts_com_gitlab_gitlab_standard_1"][0]["project_id"] == 7


def test_events_filters_or_values_and_and_filters(live_server) -> None:
    ids = seed(live_server.url)
    either = post(live_server.url, "events", {"filters": [{"column": "app_id", "values": ["a", "c"]}],
                                              "page": 1, "pageSize": 50}).json()
    assert {e["event_id"] for e in either["events"]} == {ids[0], ids[2], ids[3]}
    both = post(live_server.url, "events", {"filters": [{"column": "app_id", "values": ["a"]},
                                                        {"column": "page_url", "values": ["http://x/3"]}],
                                            "page": 1, "pageSize": 50}).json()
    assert [e["event_id"] for e in both["events"]] == [ids[2]]
    nested = post(live_server.url, "events", {
        "filters": [{"column": "contexts_com_gitlab_gitlab_standard_1.project_id", "values": ["7"]}],
        "page": 1, "pageSize": 50}).json()
    assert [e["event_id"] for e in nested["events"]] == [ids[3]] and nested["totalItems"] == 1


def test_events_valid_time_range_and_sorting(live_server) -> None:
    ids = seed(live_server.url)
    pixel(live_server.url, e="se", se_ac="x", se_va="abc")  # se_value is not a number: invalid
    valid = post(live_server.url, "events", {"filters": [], "validEvents": True, "page": 1, "pageSize": 50}).json()
    invalid = post(live_server.url, "events", {"filters": [], "validEvents": False, "page": 1, "pageSize": 50}).json()
    assert valid["totalItems"] + invalid["totalItems"] == 5 and invalid["totalItems"] >= 1
    future = post(live_server.url, "events", {"filters": [], "timeRange": {"start": "2999-01-01T00:00:00Z"},
                                              "page": 1, "pageSize": 50}).json()
    assert future == {"events": [], "totalPages": 0, "totalItems": 0}
    ascending = post(live_server.url, "events", {"filters": [], "sorting": {"column": "page_url", "desc": False},
                                                 "validEvents": True, "page": 1, "pageSize": 50}).json()
    urls = [e["page_url"] for e in ascending["events"] if e["page_url"]]
    assert urls == ["http://x/1", "http://x/2", "http://x/3"] and ids


def test_events_clamps_page_size_and_rejects_bad_bodies(live_server) -> None:
    tp2(live_server.url, *({"e": "pv"} for _ in range(3)))
    clamped = post(live_server.url, "events", {"filters": [], "page": 1, "pageSize": 0}).json()
    assert len(clamped["events"]) == 1 and clamped["totalPages"] == 3
    for body in ({"filters": []}, {"page": 1, "pageSize": 5},
                 {"filters": [{"column": "nope", "values": ["x"]}], "page": 1, "pageSize": 5}):
        response = post(live_server.url, "events", body)
        assert response.status_code == 400 and response.json()["error"]
    assert requests.post(f"{live_server.url}/micro/events", data="not json", timeout=10).status_code == 400


def test_columns_lists_fields_and_nested_entity_columns(live_server) -> None:
    seed(live_server.url)
    columns = requests.get(f"{live_server.url}/micro/columns", timeout=10).json()
    assert columns == sorted(columns)
    assert {"app_id", "se_action", "contexts_com_gitlab_gitlab_standard_1",
            "contexts_com_gitlab_gitlab_standard_1.project_id"} <= set(columns)


def test_timeline_counts_valid_and_failed_per_bucket(live_server) -> None:
    seed(live_server.url)
    pixel(live_server.url, e="se", se_ac="x", se_va="abc")  # se_value is not a number: invalid
    stamps = [e["collector_tstamp"] for e in requests.get(f"{live_server.url}/api/events", timeout=10).json()["events"]]
    start, end = iso_timestamp(min(stamps)), iso_timestamp(max(stamps) + 1)
    buckets = [{"start": start, "end": end}, {"start": "2000-01-01T00:00:00Z", "end": "2000-01-02T00:00:00Z"}]
    points = post(live_server.url, "timeline", {"buckets": buckets}).json()["points"]
    assert points[0]["validEvents"] + points[0]["failedEvents"] == 5 and points[0]["failedEvents"] >= 1
    assert points[0]["bucket"] == buckets[0]
    assert points[1] == {"validEvents": 0, "failedEvents": 0, "bucket": buckets[1]}
    assert post(live_server.url, "timeline", {"buckets": [{"start": "x"}]}).status_code == 400


def test_classic_catch_all_still_answers_other_micro_paths(live_server) -> None:
    response = requests.get(f"{live_server.url}/micro/events", timeout=10)
    assert response.status_code == 404 and "/micro/events" in response.text


def test_timeline_counts_unreadable_requests_as_failed(live_server) -> None:
    requests.post(f"{live_server.url}/com.snowplowanalytics.snowplow/tp2", data="not json",
                  headers={"Content-Type": "application/json"}, timeout=10)
    bucket = {"start": "2000-01-01T00:00:00Z", "end": "2999-01-01T00:00:00Z"}
    points = post(live_server.url, "timeline", {"buckets": [bucket]}).json()["points"]
    assert points == [{"validEvents": 0, "failedEvents": 1, "bucket": bucket}]
