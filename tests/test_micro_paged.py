"""Snowplow Micro 4.x's paged API: POST /micro/events, GET /micro/columns, POST /micro/timeline."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import requests
from sending import gitlab_event, pixel, tp2

import micro_dashboard
from micro_dashboard.pipeline.fields import iso_timestamp
from micro_dashboard.store.packing import FORMAT_DEFLATE_EVENT, pack, unpack_json


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
    response = requests.get(f"{live_server.url}/micro/nothing", timeout=10)
    assert response.status_code == 404 and response.text.startswith("Path for micro has to be one of: /events")
    assert requests.get(f"{live_server.url}/micro/events", timeout=10).status_code == 200  # Micro 3.0's list


def test_timeline_counts_unreadable_requests_as_failed(live_server) -> None:
    requests.post(f"{live_server.url}/com.snowplowanalytics.snowplow/tp2", data="not json",
                  headers={"Content-Type": "application/json"}, timeout=10)
    bucket = {"start": "2000-01-01T00:00:00Z", "end": "2999-01-01T00:00:00Z"}
    points = post(live_server.url, "timeline", {"buckets": [bucket]}).json()["points"]
    assert points == [{"validEvents": 0, "failedEvents": 1, "bucket": bucket}]


def _page(filters: list, **extra) -> dict:
    return {"filters": filters, "page": 1, "pageSize": 50, **extra}


@pytest.mark.parametrize(("body", "words"), [
    (_page(["x"]), "each filter must be an object"), (_page([None]), "each filter must be an object"),
    (_page([], timeRange="x"), "timeRange must be an object"), (_page([], timeRange=[1]), "timeRange must be"),
    (_page([], timeRange={"start": {"a": 1}}), "timeRange.start"), (_page([], sorting="x"), "sorting must be"),
    (_page([], sorting={"column": ["x"]}), "cannot sort by"), (_page([], sorting=[]), "sorting must be"),
])
def test_events_bodies_with_wrong_types_are_400(live_server, body: dict, words: str) -> None:
    response = post(live_server.url, "events", body)
    assert response.status_code == 400 and words in response.json()["error"]


def test_timeline_bodies_with_wrong_types_are_400(live_server) -> None:
    for body, words in (({"buckets": [], "filters": ["x"]}, "each filter must be an object"),
                        ({"buckets": [{"start": "2020-01-01T00:00:00Z", "end": 10**30}]}, "bucket.end"),
                        ({"buckets": [{"start": True, "end": "2020-01-01T00:00:00Z"}]}, "bucket.start")):
        response = post(live_server.url, "timeline", body)
        assert response.status_code == 400 and words in response.json()["error"]


def test_events_huge_page_and_page_size_are_empty_or_clamped(live_server) -> None:
    seed(live_server.url)
    assert post(live_server.url, "events", {"filters": [], "page": 10**23, "pageSize": 10}).json() == {
        "events": [], "totalPages": 1, "totalItems": 4}
    assert len(post(live_server.url, "events", {"filters": [], "page": 1, "pageSize": 10**23}).json()["events"]) == 4
    nested = [{"column": "contexts_com_gitlab_gitlab_standard_1.project_id", "values": ["7"]}]
    assert post(live_server.url, "events", {"filters": nested, "page": 10**23, "pageSize": 10}).json()["events"] == []
    too_late = post(live_server.url, "events", _page([], timeRange={"start": 10**30}))
    assert too_late.status_code == 400 and "timeRange.start" in too_late.json()["error"]


def test_events_filter_with_forty_thousand_values(live_server) -> None:
    ids = seed(live_server.url)
    values = [f"v{i}" for i in range(40_000)]
    found = post(live_server.url, "events", _page([{"column": "app_id", "values": [*values, "c"]},
                                                   {"column": "page_title", "values": values}])).json()
    assert found["totalItems"] == 0
    found = post(live_server.url, "events", _page([{"column": "app_id", "values": [*values, "c"]}])).json()
    assert [e["event_id"] for e in found["events"]] == [ids[3]]


def test_events_filter_matches_timestamps_and_booleans_as_the_json_form_shows_them(live_server, app_config) -> None:
    [event_id] = tp2(live_server.url, {"e": "pv", "aid": "t", "dtm": "1700000000000", "cookie": "1"})
    requests.get(f"{live_server.url}/micro/all", timeout=30)  # a read: it returns once the pipeline decoded it
    with sqlite3.connect(app_config["db"]) as db:  # a whole second, which the JSON form writes without .000
        [(packed,)] = db.execute("SELECT event_json FROM events WHERE event_id = ?", [event_id])
        event_json = {**unpack_json(packed), "collector_tstamp": "2023-11-14T22:13:21Z"}
        db.execute("UPDATE events SET collector_tstamp = 1700000001000, event_json = ? WHERE event_id = ?",
                   [pack(json.dumps(event_json), FORMAT_DEFLATE_EVENT), event_id])
    shown = post(live_server.url, "events", _page([])).json()["events"][0]
    assert shown["collector_tstamp"] == "2023-11-14T22:13:21Z" and shown["br_cookies"] is True
    assert shown["dvce_created_tstamp"] == "2023-11-14T22:13:20Z"
    for column, value in (("collector_tstamp", "2023-11-14T22:13:21Z"),
                          ("collector_tstamp", "2023-11-14T22:13:21.000Z"),
                          ("dvce_created_tstamp", "2023-11-14T22:13:20Z"),
                          ("dvce_created_tstamp", "2023-11-14T22:13:20.000Z"), ("br_cookies", True),
                          ("br_cookies", "true")):
        found = post(live_server.url, "events", _page([{"column": column, "values": [value]}])).json()
        assert [e["event_id"] for e in found["events"]] == [event_id], (column, value)
    for column, value in (("collector_tstamp", "2023-11-14T22:13:22Z"), ("collector_tstamp", "nonsense"),
                          ("br_cookies", False), ("br_cookies", "1")):
        assert post(live_server.url, "events", _page([{"column": column, "values": [value]}])).json()[
            "totalItems"] == 0, (column, value)


def test_api_modules_hold_no_sql() -> None:
    sql = re.compile(r"\b(SELECT|WHERE|IS NOT NULL|json_extract)\b|\bevents\.\w+\s*(=|>=|<=|<|>|IN)\s|= \?")
    for path in sorted((Path(micro_dashboard.__file__).parent / "api").glob("*.py")):
        offending = [line for line in path.read_text().splitlines() if sql.search(line)]
        assert offending == [], path.name


@pytest.mark.parametrize(("path", "target", "error"), [
    ("/api/events", "micro_dashboard.store.reads.count", sqlite3.OperationalError("Expression tree is too large")),
    ("/api/events", "micro_dashboard.store.reads.summaries", OverflowError("Python int too large")),
    ("/micro/events", "micro_dashboard.store.micro_reads.count", ValueError("bad value")),
    ("/micro/good", "micro_dashboard.store.micro_reads.good_events", sqlite3.OperationalError("JSON path error")),
])
def test_query_errors_are_json_400(client, monkeypatch, caplog, path: str, target: str, error: Exception) -> None:
    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(target, fail)
    response = client.post(path, json=_page([])) if path == "/micro/events" else client.get(path)
    assert response.status_code == 400, response.data
    assert str(error) in response.get_json()["error"] and "detail" in response.get_json()
    assert str(error) in caplog.text
