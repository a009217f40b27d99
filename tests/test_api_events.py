"""The query API over real HTTP: every filter operator, paging, one event, latest, delete, stats, columns, CORS."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from dashboards import Dashboards, base_settings
from sending import gitlab_event, pixel, tp2, unstruct_b64
from support import GITLAB_STANDARD, IGLU_CENTRAL, IGLU_GITLAB, LINK_CLICK


@dataclass
class Seeded:
    """A live dashboard holding five known events, labelled A to E; only C is invalid."""

    url: str
    labels: dict[str, str]  # event_id -> label

    def get(self, query: str) -> requests.Response:
        """GET /api/events with a raw query string."""
        return requests.get(f"{self.url}/api/events?{query}", timeout=10)

    def matching(self, query: str) -> set[str]:
        """Return the labels of the events a filter query lists."""
        response = self.get(query + "&limit=1000")
        assert response.status_code == 200, response.text
        return {self.labels[e["event_id"]] for e in response.json()["events"]}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Serve one dashboard for the module, with a struct, two GitLab, a link click and a page view event."""
    with Dashboards(base_settings(tmp_path_factory.mktemp("api"))) as dashboards:
        yield Seeded(*_seed(dashboards.live_server(iglu_dirs=[str(IGLU_CENTRAL), str(IGLU_GITLAB)]).url))


def _seed(url: str) -> tuple[str, dict[str, str]]:
    labels = {pixel(url, e="se", aid="web", se_ca="cat", se_ac="click", se_la="alpha", se_va="12", uid="u1"): "A"}
    b, c = tp2(url,
               gitlab_event("push", {"environment": "test", "project_id": 7, "namespace_id": 3,
                                     "extra": {"foo": "bar"}, "user_id": None, "is_gitlab_team_member": True},
                            aid="gitlab", se_la="beta", se_va="5"),
               gitlab_event("merge", {"environment": "test", "project_id": "42", "extra": {"foo": "baz"},
                                      "user_id": "u9", "is_gitlab_team_member": False}, aid="gitlab", se_la="gamma"))
    labels.update({b: "B", c: "C"})
    labels[pixel(url, e="ue", aid="web", ue_px=unstruct_b64(
        LINK_CLICK, {"targetUrl": "https://example.com/x", "elementClasses": ["a", "b"]}))] = "D"
    labels[pixel(url, e="pv", aid="other", url="http://a/b", uid="u2")] = "E"
    return url, labels


LINK_CLICK_URI = LINK_CLICK.replace("/", "%2F")
CASES = [
    # promoted columns
    ("app_id=web", "AD"), ("app_id__not=web", "BCE"), ("app_id__contains=tla", "BC"),
    ("app_id__startswith=we", "AD"), ("app_id__in=web,other", "ADE"), ("se_label__gt=beta", "C"),
    ("se_label__gte=beta", "BC"), ("se_label__lt=beta", "A"), ("se_label__lte=beta", "AB"),
    ("se_label__isnull=true", "DE"), ("se_label__isnull=false", "ABC"), ("user_id=u1", "A"),
    ("event=page_view", "E"), ("event_name=link_click", "D"), (f"schema={LINK_CLICK_URI}", "D"),
    ("se_category=projects&se_action=merge", "C"), ("platform=web", "ABCDE"), ("name_tracker__isnull=true", "ABCDE"),
    # fields inside entities and the self-describing event
    ("gitlab_standard.project_id=7", "B"), ("gitlab_standard.project_id=42", "C"),
    ("gitlab_standard.project_id__not=7", "ACDE"), ("gitlab_standard.project_id__gt=10", "C"),
    ("gitlab_standard.project_id__gte=7", "BC"), ("gitlab_standard.project_id__lt=10", "B"),
    ("gitlab_standard.project_id__lte=42", "BC"), ("gitlab_standard.project_id__in=7,8", "B"),
    ("gitlab_standard.namespace_id=3", "B"), ("gitlab_standard.extra.foo=bar", "B"),
    ("gitlab_standard.extra.foo__startswith=ba", "BC"), ("gitlab_standard.extra.foo__contains=z", "C"),
    ("gitlab_standard.user_id__isnull=true", "ABDE"), ("gitlab_standard.user_id__isnull=false", "C"),
    ("gitlab_standard.is_gitlab_team_member=true", "B"), ("gitlab_standard.is_gitlab_team_member=false", "C"),
    ("link_click.targetUrl__contains=example", "D"), ("unstruct.elementClasses__contains=b", "D"),
    ("unstruct.targetUrl__startswith=https", "D"), ("unstruct.elementClasses.1=b", "D"),
    ("has=gitlab_standard", "BC"), ("has=link_click", "D"), ("has=gitlab_standard&has=link_click", ""),
    # raw tracker parameters
    ("param.se_va=12", "A"), ("param.se_va__gt=6", "A"), ("param.se_va__gte=5", "AB"), ("param.se_va__lt=12", "B"),
    ("param.se_va__lte=12", "AB"), ("param.se_va__in=5,99", "B"), ("param.se_va__isnull=true", "CDE"),
    ("param.se_va__not=12", "BCDE"), ("param.url__contains=a/b", "E"), ("param.url__startswith=http:", "E"),
    ("param.aid=gitlab", "BC"),
    # validity, free text, time
    ("valid=true", "ABDE"), ("valid=false", "C"), ("q=alpha", "A"), ("q=example.com", "D"),
    ("from=2000-01-01T00:00:00Z", "ABCDE"), ("to=2000-01-01T00:00:00Z", ""),
    (f"from={int(time.time() * 1000) + 3_600_000}", ""),
    # the search box
    ("search=app:gitlab -event:push", "C"), ("search=event:click", "A"), ("search=event:link_click", "D"),
    ("search=is:valid", "ABDE"), ("search=is:invalid", "C"), ("search=schema:link_click", "D"),
    ("search=has:gitlab_standard gitlab_standard.project_id:7", "B"), ("search=param.se_va:12", "A"),
    ('search="https://example.com/x"', "D"), ("search=-app:gitlab -app:web", "E"),
    ("search=-has:gitlab_standard", "ADE"),
    ("search=gitlab_standard.project_id__gt:10", "C"), ("search=alpha", "A"),
]


@pytest.mark.needs_iglu_central
@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_filter_selects_exactly_the_matching_events(seeded: Seeded, query: str, expected: str) -> None:
    assert seeded.matching(query) == set(expected)


@pytest.mark.parametrize("query", ["foo=1", "gitlab_standard=1", "app_id__nope=1", "param.=1"])
def test_unknown_filter_is_400_naming_it(seeded: Seeded, query: str) -> None:
    response = seeded.get(query)
    assert response.status_code == 400
    name = query.split("=")[0]
    assert response.json()["error"] == f"unknown filter {name!r}"
    assert "detail" in response.json()


@pytest.mark.parametrize(("query", "token"), [("valid=maybe", "valid"), ("from=yesterday", "from"),
                                              ("search=is:maybe", "is:maybe"), ("search=nope:x", "nope:x"),
                                              ("limit=ten", "limit")])
def test_bad_values_are_400_naming_them(seeded: Seeded, query: str, token: str) -> None:
    response = seeded.get(query)
    assert response.status_code == 400
    assert token in response.json()["error"]


def test_list_pages_newest_first_by_cursor(seeded: Seeded) -> None:
    first = seeded.get("limit=2").json()
    assert first["total"] == 5 and len(first["events"]) == 2
    ids = [e["id"] for e in first["events"]]
    assert ids == sorted(ids, reverse=True) and first["last_id"] == ids[0]
    second = seeded.get(f"limit=2&before={first['next_before']}").json()
    third = seeded.get(f"limit=2&before={second['next_before']}").json()
    assert len(third["events"]) == 1 and third["next_before"] is None
    every = [e["id"] for page in (first, second, third) for e in page["events"]]
    assert len(set(every)) == 5
    assert [e["id"] for e in seeded.get(f"since={ids[1]}").json()["events"]] == [ids[0]]


@pytest.mark.needs_iglu_central
def test_summary_has_the_contract_fields(seeded: Seeded) -> None:
    event = seeded.get("app_id=gitlab&se_action=merge").json()["events"][0]
    assert set(event) == {"id", "event_id", "valid", "unverified", "collector_tstamp", "schema", "app_id", "platform",
                          "event", "event_name", "event_vendor", "name_tracker", "user_id", "se_category",
                          "se_action", "se_label", "se_property", "se_value", "gitlab", "problems"}
    assert event["valid"] is False and isinstance(event["collector_tstamp"], int)
    assert {"type", "path", "message", "schema"} <= set(event["problems"][0])


def test_columns_adds_fields_params_and_entity_paths(seeded: Seeded) -> None:
    events = seeded.get("columns=page_url,se_value,param.aid,gitlab_standard.extra.foo,unstruct.targetUrl").json()
    by_label = {seeded.labels[e["event_id"]]: e["columns"] for e in events["events"]}
    assert by_label["E"]["page_url"] == "http://a/b"
    assert by_label["A"]["se_value"] == 12 and by_label["A"]["param.aid"] == "web"
    assert by_label["B"]["gitlab_standard.extra.foo"] == "bar" and by_label["A"]["gitlab_standard.extra.foo"] is None
    assert by_label["D"]["unstruct.targetUrl"] == "https://example.com/x"
    assert seeded.get("columns=nonsense").status_code == 400


@pytest.mark.needs_iglu_central
def test_event_by_event_id_and_row_id(seeded: Seeded) -> None:
    b = next(k for k, v in seeded.labels.items() if v == "B")
    detail = requests.get(f"{seeded.url}/api/events/{b}", timeout=10).json()
    assert detail["row"]["event_id"] == b and detail["event"]["se_action"] == "push" and detail["failures"] == []
    assert detail["flat"]["contexts_com_gitlab_gitlab_standard_1"][0]["project_id"] == 7
    assert detail["parameters"]["se_ac"] == "push" and detail["parameters"]["e"] == "se"
    assert detail["entities"] == [{"kind": "context", "position": 0, "schema": GITLAB_STANDARD,
                                   "data": {"environment": "test", "project_id": 7, "namespace_id": 3,
                                            "extra": {"foo": "bar"}, "user_id": None,
                                            "is_gitlab_team_member": True},
                                   "status": "valid", "note": None}]
    req = detail["request"]
    assert req["method"] == "POST" and req["path"] == "/com.snowplowanalytics.snowplow/tp2"
    assert '"se_ac": "push"' in req["body"] and req["content_type"].startswith("application/json")
    assert all(len(h) == 2 for h in req["headers"]) and isinstance(req["received_at"], int)
    by_row = requests.get(f"{seeded.url}/api/events/{detail['row']['id']}", timeout=10).json()
    assert by_row["row"] == detail["row"]
    c = next(k for k, v in seeded.labels.items() if v == "C")
    invalid = requests.get(f"{seeded.url}/api/events/{c}", timeout=10).json()
    assert invalid["entities"][0]["status"] == "invalid"
    failure = invalid["failures"][0]
    assert failure["type"] == "schema_violations" and failure["schema"] == failure["bad_row"]["schema"]
    assert set(failure["problems"][0]) == {"path", "message", "schema"}
    assert failure["problems"][0]["path"] == "$.project_id"
    missing = requests.get(f"{seeded.url}/api/events/00000000-0000-4000-8000-000000000000", timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()


def test_curl_command_replays_a_pixel_request(live_server) -> None:
    a = pixel(live_server.url, e="se", se_ac="click", se_va="12")
    detail = requests.get(f"{live_server.url}/api/events/{a}", timeout=10).json()
    assert detail["curl"].startswith("curl -X GET 'http://127.0.0.1:")
    subprocess.run(detail["curl"] + " -s -o /dev/null", shell=True, check=True, timeout=30)
    replayed = requests.get(f"{live_server.url}/api/events?event_id={a}", timeout=10).json()["events"]
    assert len(replayed) == 2 and replayed[0]["se_action"] == "click"


def test_curl_command_replays_a_post_body(live_server) -> None:
    [b] = tp2(live_server.url, gitlab_event("push", {"project_id": 5, "extra": {"quote": "it's"}}))
    detail = requests.get(f"{live_server.url}/api/events/{b}", timeout=10).json()
    assert "--data-binary" in detail["curl"]
    subprocess.run(detail["curl"] + " -s -o /dev/null", shell=True, check=True, timeout=30)
    replayed = requests.get(f"{live_server.url}/api/events?gitlab_standard.extra.quote=it's", timeout=10).json()
    assert replayed["total"] == 2 and {e["event_id"] for e in replayed["events"]} == {b}


def test_latest_returns_the_newest_match_or_404(seeded: Seeded) -> None:
    latest = requests.get(f"{seeded.url}/api/events/latest?app_id=gitlab", timeout=10).json()
    assert seeded.labels[latest["row"]["event_id"]] == "C" and latest["event"]["app_id"] == "gitlab"
    none = requests.get(f"{seeded.url}/api/events/latest?app_id=nobody", timeout=10)
    assert none.status_code == 404 and none.json()["error"]


@pytest.mark.needs_iglu_central
def test_stats_counts_by_validity_event_app_schema_and_minute(seeded: Seeded) -> None:
    stats = requests.get(f"{seeded.url}/api/stats", timeout=10).json()
    assert (stats["total"], stats["valid"], stats["invalid"]) == (5, 4, 1)
    assert {"value": "gitlab", "count": 2} in stats["by_app"]
    assert {"value": "push", "count": 1} in stats["by_event"]
    assert {"value": LINK_CLICK, "count": 1} in stats["by_schema"]
    assert len(stats["minutes"]) in (60, 61)
    assert sum(m["valid"] + m["invalid"] for m in stats["minutes"]) == 5
    filtered = requests.get(f"{seeded.url}/api/stats?app_id=web", timeout=10).json()
    assert (filtered["total"], filtered["valid"], filtered["invalid"]) == (2, 2, 0)


def test_columns_lists_fields_params_and_entity_paths(seeded: Seeded) -> None:
    names = requests.get(f"{seeded.url}/api/columns", timeout=10).json()["columns"]
    assert names[:3] == ["app_id", "platform", "etl_tstamp"] and "se_property" in names
    assert {"param.se_va", "gitlab_standard.project_id", "gitlab_standard.extra.foo",
            "link_click.targetUrl"} <= set(names)


def test_cors_allows_listed_origins_on_any_port(seeded: Seeded) -> None:
    allowed = requests.get(
        f"{seeded.url}/api/events", headers={"Origin": "http://localhost:5173"}, timeout=10)
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    micro = requests.get(f"{seeded.url}/micro/all", headers={"Origin": "http://127.0.0.1:8000"}, timeout=10)
    assert micro.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    other = requests.get(f"{seeded.url}/api/events", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
    lookalike = requests.get(f"{seeded.url}/api/events", headers={"Origin": "http://localhost.evil"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in lookalike.headers
    preflight = requests.options(f"{seeded.url}/api/events", timeout=10, headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "DELETE" in preflight.headers["Access-Control-Allow-Methods"]


def test_delete_by_filter_leaves_the_rest(live_server) -> None:
    url = live_server.url
    keep = pixel(url, e="pv", aid="keep")
    tp2(url, {"e": "pv", "aid": "run-1"}, {"e": "pv", "aid": "run-1"})
    response = requests.delete(f"{url}/api/events?app_id=run-1", timeout=10)
    assert response.json() == {"deleted": 2}
    remaining = requests.get(f"{url}/api/events", timeout=10).json()
    assert [e["event_id"] for e in remaining["events"]] == [keep]
    assert requests.get(f"{url}/micro/all", timeout=10).json() == {"total": 1, "good": 1, "bad": 0}
    assert requests.delete(f"{url}/api/events?nope=1", timeout=10).status_code == 400
    assert requests.delete(f"{url}/api/events", timeout=10).json() == {"deleted": 1}
    assert requests.get(f"{url}/api/events", timeout=10).json()["total"] == 0


def test_delete_by_entity_field(live_server) -> None:
    url = live_server.url
    tp2(url, gitlab_event("a", {"project_id": 1}), gitlab_event("b", {"project_id": 2}), {"e": "pv"})
    assert requests.delete(f"{url}/api/events?gitlab_standard.project_id=1", timeout=10).json() == {"deleted": 1}
    left = {e["se_action"] for e in requests.get(f"{url}/api/events", timeout=10).json()["events"]}
    assert left == {"b", None}
    assert requests.get(f"{url}/api/events?has=gitlab_standard", timeout=10).json()["total"] == 1


def test_unreadable_request_is_listed_and_detailed(live_server) -> None:
    url = live_server.url
    requests.post(url + "/com.snowplowanalytics.snowplow/tp2", data=b"\xff\xfenot json",
                  headers={"Content-Type": "application/json"}, timeout=10)
    listed = requests.get(f"{url}/api/events?valid=false", timeout=10).json()["events"]
    assert len(listed) == 1 and listed[0]["event_id"] is None
    detail = requests.get(f"{url}/api/events/{listed[0]['id']}", timeout=10).json()
    assert detail["event"] is None and detail["flat"] is None and detail["entities"] == []
    assert detail["parameters"] is None
    assert detail["request"]["body"].startswith("base64:") and "base64 -d" in detail["curl"]
    assert detail["failures"][0]["type"] == "tracker_protocol_violations"


def test_contexts_sent_with_the_real_tracker_are_filterable(live_server) -> None:
    from snowplow_tracker import Emitter, SelfDescribingJson, StructuredEvent, Tracker

    emitter = Emitter(live_server.url.replace("http://", ""), protocol="http", batch_size=1)
    tracker = Tracker("ns", emitter, app_id="tracked")
    standard = SelfDescribingJson(GITLAB_STANDARD, {"project_id": 99, "extra": {"k": "v"}})
    tracker.track(StructuredEvent("cat", "real_action", context=[standard]))
    emitter.flush()
    found = requests.get(f"{live_server.url}/api/wait?gitlab_standard.project_id=99&timeout=10", timeout=20)
    assert found.status_code == 200
    event = found.json()["events"][0]
    assert event["row"]["se_action"] == "real_action" and event["row"]["name_tracker"] == "ns"
    assert requests.get(f"{live_server.url}/api/events?gitlab_standard.extra.k=v&app_id=tracked",
                        timeout=10).json()["total"] == 1


def test_unknown_api_paths_and_methods_answer_json(live_server) -> None:
    missing = requests.get(f"{live_server.url}/api/events/1/nothing", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"].startswith("404")
    wrong = requests.put(f"{live_server.url}/api/events", timeout=10)
    assert wrong.status_code == 405 and "PUT /api/events" in wrong.json()["error"]
    assert requests.get(f"{live_server.url}/nothing/here/at/all", timeout=10).status_code == 404


# -- client input never makes a 500 ------------------------------------------------------------------------------

HUGE = "9" * 30


@pytest.mark.parametrize("query", [f"since={HUGE}", f"before={HUGE}", f"limit={HUGE}", f"before=-{HUGE}",
                                   "gitlab_standard.project_id=99999999999999999999999",
                                   "gitlab_standard.project_id__in=99999999999999999999999,1e999",
                                   "param.se_va__gt=99999999999999999999999"])
def test_integers_too_large_for_sqlite_are_clamped(seeded: Seeded, query: str) -> None:
    response = seeded.get(query)
    assert response.status_code == 200, response.text
    expected = {f"since={HUGE}": set(), f"before={HUGE}": set("ABCDE"), f"limit={HUGE}": set("ABCDE")}
    assert {seeded.labels[e["event_id"]] for e in response.json()["events"]} == expected.get(query, set())


@pytest.mark.parametrize(("path", "name"), [(f"/api/events?collector_tstamp__gt={HUGE}", "collector_tstamp__gt"),
                                            (f"/api/events?from={HUGE}", "from"), (f"/api/stats?to=-{HUGE}", "to"),
                                            (f"/api/events?collector_tstamp__in=1,{HUGE}", "collector_tstamp__in")])
def test_times_too_large_are_400_naming_the_filter(seeded: Seeded, path: str, name: str) -> None:
    response = requests.get(seeded.url + path, timeout=10)
    assert response.status_code == 400 and response.json()["detail"]["filter"] == name
    assert name in response.json()["error"]


def test_wait_clamps_huge_cursors(seeded: Seeded) -> None:
    response = requests.get(f"{seeded.url}/api/wait?since={HUGE}&count={HUGE}&timeout=0", timeout=10)
    assert response.status_code == 408 and response.json()["count"] == 0


@pytest.mark.parametrize("key", ["99999999999999999999999", "%C2%B2", "%D9%A1"])
def test_event_keys_beyond_row_ids_or_with_unicode_digits_are_404(seeded: Seeded, key: str) -> None:
    response = requests.get(f"{seeded.url}/api/events/{key}", timeout=10)
    assert response.status_code == 404 and response.json()["error"].startswith("no event")


def test_integers_too_large_for_sqlite_still_match_text_exactly(live_server) -> None:
    big = "99999999999999999999999"
    tp2(live_server.url, gitlab_event("push", {"project_id": big}, uid=big), {"e": "pv", "uid": "1e+23"})
    for query in (f"user_id={big}", f"gitlab_standard.project_id={big}", f"user_id__in=1,{big}",
                  f"gitlab_standard.project_id__in={big},1"):
        found = requests.get(f"{live_server.url}/api/events?{query}", timeout=10).json()["events"]
        assert [e["user_id"] for e in found] == [big], query
    # a parameter compares as a number too, and both texts spell the same float
    assert requests.get(f"{live_server.url}/api/events?param.uid={big}", timeout=10).json()["total"] == 2


def test_unicode_digits_in_paths_are_object_keys(seeded: Seeded) -> None:
    assert seeded.matching("gitlab_standard.%C2%B2=1") == set()
    assert seeded.matching("unstruct.elementClasses.%C2%B2=b") == set()
    columns = seeded.get("columns=unstruct.elementClasses.%C2%B2,unstruct.elementClasses.1&has=link_click").json()
    assert columns["events"][0]["columns"] == {"unstruct.elementClasses.\u00b2": None, "unstruct.elementClasses.1": "b"}


@pytest.mark.parametrize("name", ["gitlab_standard.a%22b", "param.a%00b", "unstruct.x%22"])
def test_unrepresentable_field_names_are_400_naming_the_filter(seeded: Seeded, name: str) -> None:
    response = seeded.get(f"{name}=1")
    assert response.status_code == 400
    assert response.json()["detail"]["filter"] == requests.utils.unquote(name)


def test_in_with_forty_thousand_values(seeded: Seeded) -> None:
    many = ",".join(f"v{i}" for i in range(40_000))
    assert seeded.matching(f"app_id__in={many},web") == set("AD")
    assert seeded.matching(f"gitlab_standard.project_id__in={many},7") == set("B")
    assert seeded.matching(f"param.se_va__in={many},12") == set("A")
    numbers = ",".join(str(i) for i in range(1000, 41_000))
    assert seeded.matching(f"collector_tstamp__in={numbers}") == set()
    assert seeded.matching(f"gitlab_standard.project_id__in={numbers},42") == set("C")


def test_thousands_of_search_words_and_filters(seeded: Seeded) -> None:
    assert seeded.matching("search=" + "+".join(["alpha"] * 1500)) == set("A")
    assert seeded.matching("&".join(["platform=web"] * 1500)) == set("ABCDE")


@pytest.mark.parametrize("query", ["q=%00", "q=alpha%00", "app_id__contains=%00", "param.aid__startswith=%00",
                                   "search=%00"])
def test_nul_in_free_text_matches_nothing(seeded: Seeded, query: str) -> None:
    assert seeded.matching(query) == set()


def test_free_text_is_still_ascii_case_insensitive(seeded: Seeded) -> None:
    assert seeded.matching("q=ALPHA") == set("A")
    assert seeded.matching("app_id__startswith=WE") == set("AD")
    assert seeded.matching("q=100%25") == set() and seeded.matching("q=_") == seeded.matching("q=%5F")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_two_segment_api_paths_are_json_404_and_not_collected(live_server, method: str) -> None:
    for path in ("/api/foo", "/api/foo/bar"):
        response = requests.request(method, f"{live_server.url}{path}?e=pv", timeout=10)
        assert response.status_code == 404 and response.headers["Content-Type"] == "application/json"
        assert response.json()["error"] == f"404 Not Found: {method} {path}"
    assert requests.get(f"{live_server.url}/micro/all", timeout=10).json()["total"] == 0
