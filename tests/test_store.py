"""The SQLite store: one transaction per request, nothing lost, a cursor that only grows, retention, restarts."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support import CONTEXTS, PAYLOAD_DATA, WEB_PAGE, sql

from micro_dashboard.filters import Filter
from micro_dashboard.pipeline import Event, Outcome, RawPayload, ingest
from micro_dashboard.store import Store, reads
from micro_dashboard.store.packing import unpack_bytes

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
    assert json.loads(event["event_json"])["contexts"]["data"][0]["schema"] == WEB_PAGE
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
    stored = json.loads(sql(store, "SELECT event_json FROM events WHERE id = ?", [row])[0]["event_json"])
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
