"""The SQLite store: one transaction per request, nothing lost, a cursor that only grows, retention, restarts."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support import CONTEXTS, PAYLOAD_DATA, WEB_PAGE, sql

from micro_dashboard.filters import Filter, parse_args
from micro_dashboard.pipeline import Event, Outcome, RawPayload, ingest
from micro_dashboard.store import Store, reads
from micro_dashboard.store.packing import FORMAT_DEFLATE_EVENT, unpack_bytes, unpack_json

SNOWPLOW = "com.snowplowanalytics.snowplow"


def raw(query: str = "", body: bytes | None = None, timestamp: int | None = None) -> RawPayload:
    """Return a GET (or, with a body, a tp2 POST) as the collector would build it."""
    return RawPayload(
        method="POST" if body is not None else "GET", path=f"/{SNOWPLOW}/tp2", vendor=SNOWPLOW, version="tp2",
        querystring=query, body=body, content_type="application/json" if body is not None else None,
        headers=[("Host", "localhost")], ip="127.0.0.1", useragent="store-test", referer=None, hostname="localhost",
        network_userid="11111111-2222-4333-8444-555555555555",
        timestamp=timestamp if timestamp is not None else int(time.time() * 1000), body_size=len(body or b""),
    )


def page_view(**params: str) -> RawPayload:
    """Return a page view GET with a web_page context."""
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": WEB_PAGE, "data": {"id": "p1"}}]})
    return raw(urlencode({"e": "pv", "p": "web", "tv": "t", "aid": "shop", "co": co, **params}))


def save(store: Store, payload: RawPayload, outcome: Outcome | None = None) -> list[int]:
    """Store a request as the collector does, then what the pipeline decodes from it; return the new row ids."""
    request_id = store.save_request(payload)
    request = store.requests([request_id])[request_id]
    return [s.id for s in store.save_decoded([(request, outcome or ingest(payload))])]


@pytest.fixture
def store(tmp_path: Path):
    """Return a store on a temporary file."""
    store = Store(str(tmp_path / "events.db"))
    yield store
    store.close()


def count(store: Store, table: str) -> int:
    """Return the number of rows in a table."""
    return sql(store, f"SELECT count(*) AS n FROM {table}")[0]["n"]


def test_request_event_entities_and_promoted_columns_are_stored_together(store):
    [row] = save(store, page_view(uid="user-1", duid="d-1"))
    [event] = sql(store, "SELECT * FROM events WHERE id = ?", [row])
    assert event["valid"] == 1 and event["event"] == "page_view" and event["app_id"] == "shop"
    assert event["user_id"] == "user-1" and event["domain_userid"] == "d-1" and event["platform"] == "web"
    assert event["schema"] == f"iglu:{SNOWPLOW}/page_view/jsonschema/1-0-0"
    assert unpack_json(event["event_json"])["contexts"]["data"][0]["schema"] == WEB_PAGE
    [stored] = store.events([row])
    [entity] = stored.entities
    assert (entity.kind, entity.position, entity.schema, entity.name, entity.data) == (
        "context", 0, WEB_PAGE, "web_page", {"id": "p1"})
    assert stored.request.method == "GET" and "e=pv" in stored.request.querystring
    assert stored.request.headers == [("Host", "localhost")] and stored.request.id == event["request_id"]


def test_a_batch_is_one_request_row_with_one_row_per_event(store):
    body = json.dumps({"schema": PAYLOAD_DATA, "data": [
        {"e": "pv", "p": "web", "tv": "t"}, {"e": "se", "p": "web", "tv": "t", "se_va": "x"}]}).encode()
    rows = save(store, raw(body=body))
    assert len(rows) == 2 and count(store, "requests") == 1
    assert [r["valid"] for r in sql(store, "SELECT valid FROM events ORDER BY id")] == [1, 0]
    [failure] = sql(store, "SELECT * FROM failures")
    assert failure["event_row"] == rows[1] and failure["type"] == "schema_violations"


def test_a_decoded_write_that_fails_midway_leaves_only_the_acknowledged_request(store):
    broken = Outcome([Event({"event": "page_view"}, {"e": "pv"}, SNOWPLOW, "tp2")], [])  # no collector_tstamp
    with pytest.raises(KeyError):
        save(store, raw("e=pv"), broken)
    assert [count(store, t) for t in ("requests", "events", "entities", "failures")] == [1, 0, 0, 0]
    save(store, page_view())
    assert count(store, "requests") == 2 and count(store, "events") == 1


def test_an_unparseable_body_is_kept_with_its_failure(store):
    body = b"\x00\xffnot json at all"
    [row] = save(store, raw(body=body))
    [request] = sql(store, "SELECT * FROM requests")
    assert unpack_bytes(request["body"]) == body and request["body_size"] == len(body)
    [event] = sql(store, "SELECT * FROM events")
    assert event["id"] == row and event["valid"] == 0 and event["event_json"] is None
    [failure] = sql(store, "SELECT * FROM failures")
    assert failure["type"] == "tracker_protocol_violations" and failure["request_id"] == request["id"]
    assert store.counts() == {"total": 1, "good": 0, "bad": 1}


def test_the_cursor_keeps_growing_after_everything_is_deleted(store):
    first = save(store, page_view()) + save(store, page_view())
    assert store.last_id() == max(first)
    assert store.delete() == 2
    assert store.counts() == {"total": 0, "good": 0, "bad": 0}
    assert store.last_id() == max(first)
    [after] = save(store, page_view())
    assert after > max(first)
    assert [s.id for s in reads.summaries(store, Filter(), 10, since=max(first))] == [after]


def test_summaries_after_a_cursor_are_oldest_first(store):
    rows = [save(store, page_view(uid=f"u{i}"))[0] for i in range(4)]
    after = reads.summaries(store, Filter(), 10, since=rows[1], oldest_first=True)
    assert [s.id for s in after] == rows[2:] and [s.user_id for s in after] == ["u2", "u3"]


def test_max_events_keeps_only_the_newest_events(tmp_path):
    store = Store(str(tmp_path / "events.db"), max_events=3)
    try:
        rows = [save(store, page_view(uid=f"u{i}"))[0] for i in range(5)]
        assert [r["id"] for r in sql(store, "SELECT id FROM events ORDER BY id")] == rows[2:]
        assert count(store, "requests") == 3 and count(store, "entities") == 3
    finally:
        store.close()


def test_max_age_deletes_events_received_longer_ago(tmp_path):
    store = Store(str(tmp_path / "events.db"), max_age=3600)
    try:
        two_hours_ago = int(time.time() * 1000) - 2 * 3600 * 1000
        save(store, raw("e=pv&p=web&tv=t&uid=old", timestamp=two_hours_ago))
        save(store, raw("e=pv&p=web&tv=t&uid=new"))
        assert [r["user_id"] for r in sql(store, "SELECT user_id FROM events")] == ["new"]
        assert count(store, "requests") == 1
    finally:
        store.close()


def test_events_survive_a_restart(tmp_path):
    path = str(tmp_path / "events.db")
    store = Store(path)
    rows = save(store, page_view()) + save(store, raw(body=b"broken"))
    counts = store.counts()
    store.close()
    reopened = Store(path)
    try:
        assert reopened.counts() == counts == {"total": 2, "good": 1, "bad": 1}
        assert reopened.last_id() == max(rows)
        [later] = save(reopened, page_view())
        assert later > max(rows)
    finally:
        reopened.close()


def test_the_database_uses_write_ahead_logging(store):
    assert sql(store, "PRAGMA journal_mode")[0][0] == "wal"


def test_a_saved_event_is_visible_to_another_connection_once_save_returns(store):
    [row] = save(store, page_view())
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("SELECT count(*) FROM events WHERE id = ?", (row,)).fetchone()[0] == 1
    finally:
        other.close()


def test_listeners_hear_of_rows_only_after_commit(store):
    seen = []

    def listener(change):
        other = sqlite3.connect(store.path)
        try:
            seen.append([(s.id, other.execute("SELECT count(*) FROM events WHERE id = ?", (s.id,)).fetchone()[0])
                         for s in change.summaries])
        finally:
            other.close()

    store.on_change(listener)
    [row] = save(store, page_view())
    assert seen == [[(row, 1)]]


def test_events_are_stored_compact_and_read_back_with_all_131_fields(store):
    from micro_dashboard.pipeline.fields import FIELDS, expand_json_form

    [row] = save(store, page_view(uid="user-1"))
    packed = sql(store, "SELECT event_json FROM events WHERE id = ?", [row])[0]["event_json"]
    assert packed[0] == FORMAT_DEFLATE_EVENT and len(packed) < len(unpack_bytes(packed)) / 2  # store/packing.py
    stored = unpack_json(packed)
    assert None not in stored.values() and stored["user_id"] == "user-1"
    full = expand_json_form(stored)
    assert list(full) == list(FIELDS) and full["geo_city"] is None and full["derived_contexts"] == {}
    assert full["contexts"]["data"] == [{"schema": WEB_PAGE, "data": {"id": "p1"}}]


def test_a_lock_held_by_another_program_is_a_503_to_retry_never_a_bad_row(make_app, monkeypatch):
    import micro_dashboard.store

    monkeypatch.setattr(micro_dashboard.store, "BUSY_TIMEOUT_SECONDS", 0.2)
    app = make_app()
    client = app.test_client()
    other = sqlite3.connect(app.config["STORE"].path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        assert client.get("/i?e=pv&p=web&tv=t&aid=locked-out").status_code == 503
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.get("/i?e=pv&p=web&tv=t&aid=retried").status_code == 200
    assert client.get("/micro/all").get_json() == {"total": 1, "good": 1, "bad": 0}
    assert [e["app_id"] for e in client.get("/api/events").get_json()["events"]] == ["retried"]


# -- the tables the reads use instead of the events (store/read_indexes.py) ------------------------------------

THING = "iglu:com.acme/thing/jsonschema/1-0-0"
THINGS = [{"n": 7, "t": "7", "f": 7.5, "e": "7.0", "s": "seven", "b": True, "bt": "true", "z": None,
           "arr": [1, "x", {"deep": 3}], "obj": {"k": "v", "odd key": "w"}},
          {"n": 8, "t": "eight", "f": 7.0, "e": " 7", "s": "Seven", "b": False, "bt": "false",
           "arr": ["1"], "obj": {"k": 7}},
          {"n": "7", "arr": [], "obj": {"k": True}}, 7, ["not", "an", "object"]]


def parse_filter(args: list[tuple[str, str]]) -> Filter:
    """Parse API filter arguments."""
    return parse_args(args)


def thing_view(data: object, app: str = "shop") -> RawPayload:
    """Return a page view carrying a com.acme thing context with this data."""
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": THING, "data": data}]})
    return raw(urlencode({"e": "pv", "p": "web", "tv": "t", "aid": app, "co": co}))


def assert_kept_tables_match_the_rows(store: Store) -> None:
    """The kept counts and the value index hold exactly what counting and reading the stored rows gives."""
    from micro_dashboard.store import read_indexes

    counts = {(r[0], r[1]): tuple(r[2:]) for r in sql(
        store, "SELECT grouping, value, total, valid, unverified FROM event_counts WHERE total != 0")}
    expected = {}
    for grouping, expr in read_indexes.GROUPINGS.items():
        for r in sql(store, f"SELECT coalesce({expr.format(r='events')}, X'') AS v, count(*), sum(valid), "
                            "sum(valid AND unverified) FROM events GROUP BY v"):
            expected[(grouping, r[0])] = tuple(r[1:])
    assert counts == expected
    leaves = read_indexes.leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                                      "json_valid(n.data)")
    assert {tuple(r) for r in sql(store, "SELECT * FROM entity_values")} == {tuple(r) for r in sql(store, leaves)}


@pytest.mark.parametrize("path, values", [
    (("n",), [7, "7", 7.0, 8, True]), (("t",), [7, "7", "eight"]), (("f",), [7.5, 7, "7.5"]),
    (("e",), [7, "7.0", " 7"]), (("s",), ["seven", "Seven", "SEVEN"]), (("b",), [True, False, "true", 1]),
    (("bt",), [True, "true", False]), (("z",), ["null", 0]), (("arr", "0"), [1, "1", "x"]),
    (("arr", "2", "deep"), [3]), (("obj", "k"), ["v", 7, True]), (("obj", "odd key"), ["w"]),
    (("obj",), ["v"]), (("missing",), [7]), (("0",), ["not"])])
def test_entity_equality_through_the_value_index_matches_reading_each_entity(store, path, values):
    from micro_dashboard.store import filter_sql

    rows = [save(store, thing_view(data))[0] for data in THINGS]
    field = filter_sql._EntityField("thing", path)
    for chosen in [*([v] for v in values), values]:
        indexed = field.member(tuple(chosen)) if len(chosen) > 1 else field.equals(chosen[0])
        read = field._any(field.value.member(tuple(chosen)) if len(chosen) > 1 else field.value.equals(chosen[0]))
        assert "entity_values" in indexed[0] and "entity_values" not in read[0]
        found = [{r[0] for r in sql(store, f"SELECT id FROM events WHERE {where}", params)} for where, params in
                 (indexed, read)]
        assert found[0] == found[1] and found[0] <= set(rows), (path, chosen)


def test_the_kept_counts_and_values_follow_every_kind_of_write(tmp_path):
    store = Store(str(tmp_path / "events.db"), max_events=6)
    try:
        rows = [save(store, thing_view(data, app=f"app-{i % 3}"))[0] for i, data in enumerate(THINGS)]
        save(store, raw("e=pv&p=web&aid=x&ue_pr=not-json"))
        assert_kept_tables_match_the_rows(store)
        assert store.totals() == Store._count_rows(store._writer)
        store.delete(parse_filter([("app_id", "app-1")]))
        assert_kept_tables_match_the_rows(store)
        request_id = sql(store, "SELECT request_id FROM events WHERE id = ?", [rows[0]])[0][0]
        store.redecode(store.requests([request_id])[request_id], ingest(thing_view({"n": 99, "new": "yes"})))
        assert_kept_tables_match_the_rows(store)
        assert {s.id for s in reads.summaries(store, parse_filter([("thing.n", "99")]), 10)} == {rows[0]}
        # the row decoded again no longer has n = 7; the one with the text "7" still matches the number
        assert {s.id for s in reads.summaries(store, parse_filter([("thing.n", "7")]), 10)} == {rows[2]}
        for data in THINGS * 2:  # past max_events: retention deletes the oldest
            save(store, thing_view(data))
        assert_kept_tables_match_the_rows(store)
        assert store.totals()["total"] == count(store, "events")
        store.delete()
        assert_kept_tables_match_the_rows(store)
        assert count(store, "entity_values") == 0 and store.totals()["total"] == 0
        save(store, thing_view(THINGS[0]))
        assert_kept_tables_match_the_rows(store)
    finally:
        store.close()


def test_stats_of_everything_from_the_kept_counts_equal_counting_the_rows(store):
    now = int(time.time() * 1000)
    for i, data in enumerate(THINGS * 3):
        save(store, thing_view(data, app=f"app-{i % 4}") if i % 5 else raw("e=se&se_ac=go&aid=x", timestamp=now))
    save(store, raw("e=pv&p=web&ue_pr=not-json"))
    kept = reads.stats(store, Filter([]), now - 3_600_000, now + 60_000)
    counted = reads.stats(store, parse_filter([("valid", "true")]), now - 3_600_000, now + 60_000)
    also = reads.stats(store, parse_filter([("valid", "false")]), now - 3_600_000, now + 60_000)
    assert kept["total"] == counted["total"] + also["total"] == count(store, "events")
    assert kept["valid"] == counted["total"] and kept["invalid"] == also["total"]
    by_app = {g["value"]: g["count"] for g in kept["by_app"]}
    assert by_app == {r[0]: r[1] for r in sql(store, "SELECT app_id, count(*) FROM events GROUP BY app_id")}
    minutes = {m["start"]: m["valid"] + m["invalid"] for m in kept["minutes"] if m["valid"] + m["invalid"]}
    assert sum(minutes.values()) == count(store, "events")


@pytest.mark.parametrize("args", [[("search", "has:thing")], [("search", "has:unstruct")], [("thing.n", "7")],
                                  [("thing.obj.k__in", "v,7,true")], [("thing.missing", "1")]])
def test_a_count_and_a_page_read_from_the_entities_alone_equal_reading_the_events(store, args):
    from micro_dashboard.store.filter_sql import compile_filter, row_ids

    for data in THINGS * 2:
        save(store, thing_view(data))
    save(store, raw(urlencode({"e": "ue", "p": "web", "ue_pr": json.dumps(
        {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
         "data": {"schema": THING, "data": {"n": 7}}})})))
    flt = parse_filter(args)
    assert row_ids(flt) is not None
    where, params = compile_filter(flt)
    counted = sql(store, f"SELECT count(*) FROM events WHERE {where}", params)[0][0]
    assert reads.count(store, flt) == counted and reads.count(store, flt, up_to=2) == min(2, counted)
    middle = sql(store, "SELECT max(id) / 2 FROM events")[0][0]
    for before, since, oldest_first in ((None, None, False), (middle, None, False), (None, middle, True)):
        bounds = "".join(f" AND events.id {op} {value}" for op, value in (("<", before), (">", since)) if value)
        listed = [r[0] for r in sql(store, f"SELECT id FROM events WHERE ({where}){bounds} ORDER BY id "
                                           f"{'ASC' if oldest_first else 'DESC'} LIMIT 3", params)]
        assert [s.id for s in reads.summaries(store, flt, 3, before, since, oldest_first)] == listed


def test_pages_and_counts_of_entity_equality_from_the_value_index_are_what_the_filter_gives(store):
    from micro_dashboard.store.filter_sql import compile_filter

    rows = [save(store, thing_view(data))[0] for data in THINGS * 3]
    two = {"schema": CONTEXTS, "data": [{"schema": THING, "data": {"n": 7}}, {"schema": THING, "data": {"n": "7"}}]}
    rows += save(store, raw(urlencode({"e": "pv", "p": "web", "tv": "t", "aid": "shop", "co": json.dumps(two)})))
    for args in ([("thing.n", "7")], [("thing.n__in", "7,8,eight")], [("thing.t", "7")], [("thing.obj.k", "true")],
                 [("thing.b", "false")], [("thing.missing", "7")]):
        flt = parse_filter(args)
        where, params = compile_filter(flt)
        total = sql(store, f"SELECT count(*) FROM events WHERE {where}", params)[0][0]
        assert reads.count(store, flt) == total and reads.count(store, flt, up_to=2) == min(total, 2), args
        for limit, before, since, oldest_first in ((2, None, None, False), (3, None, None, True), (50, None, None,
                                                   False), (2, rows[-2], None, False), (2, None, rows[3], True),
                                                  (4, rows[-5], rows[2], False)):
            bounds = "".join([f" AND id < {before}" if before else "", f" AND id > {since}" if since else ""])
            order = "ASC" if oldest_first else "DESC"
            expected = [r[0] for r in sql(store, f"SELECT id FROM events WHERE ({where}){bounds} ORDER BY id {order} "
                                                 "LIMIT ?", [*params, limit])]
            page = reads.summaries(store, flt, limit, before=before, since=since, oldest_first=oldest_first)
            assert [s.id for s in page] == expected, (args, limit, before, since, oldest_first)
