"""The entity leaves computed in Python (entity_leaves.leaves) are exactly the rows SQLite's leaves_sql finds, and the
store's writes keep entity_values equal to leaves_sql over every stored entity (inserts, re-decoding, deletes,
retention, resets, rollbacks, another process's reset, an upgraded database)."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CONTEXTS, GITLAB_STANDARD, PAYLOAD_DATA, sql

from micro_dashboard.filters import parse_args
from micro_dashboard.pipeline import RawPayload, ingest
from micro_dashboard.store import Store, Written, entity_leaves, read_indexes, reads, rows, schema

THING = "iglu:com.acme/thing/jsonschema/1-0-0"
# Keys json_tree quotes (or not) in a path, and texts CAST reads as numbers in every way it can.
ODD_KEYS = ["", "a", "A1", "a_b", "_a", "1a", "a b", "a.b", 'a"b', "a\\b", "é", "$", "[0]", "a\x00b", "a\nb", "\x7f",
            "😀", "*", "a'b"]
NUMERIC_LOOKING = ["1e5", "1E5", "  12", "12 ", "0x10", "1.", ".5", "-", "e", "1e", "1e+", "--1", "+1", "-0", "1-2",
                   "12abc", "1e999", "-1e999", "1e-400", "16.11.0", "17.2.0", "2023-01-01", "0.1", "9007199254740993",
                   "123456789012345678901234567890", "1.5e3", "-.5e-3", "00012", ".", "+", "e5", "5e", "1..2"]
# Kept small so the file runs in seconds; derandomized so CI tries the same data each time.
BOUNDED = settings(max_examples=400, derandomize=True, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
keys = texts | st.sampled_from(ODD_KEYS)
numbers = (st.integers() | st.sampled_from([2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1, 2 ** 64, 10 ** 30])
           | st.floats() | st.integers(-(2 ** 60), 2 ** 60).map(float)
           | st.sampled_from([0.0, -0.0, 1e300, -1e-300, 5e-324, 1e16, 2.0 ** 53, 0.1, 1.5, math.inf, math.nan]))
strings = texts | st.sampled_from(NUMERIC_LOOKING) | st.from_regex(r"[0-9.eE+\- ]{0,8}", fullmatch=True)
json_data = st.recursive(st.none() | st.booleans() | numbers | strings,
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                         max_leaves=20)


def unsure(data: Any) -> bool:
    """Return whether the data holds what leaves() leaves to SQL: a non-finite float (not JSON) or a NUL in a text."""
    if isinstance(data, dict):
        return any(unsure(v) for v in data.values())
    if isinstance(data, list):
        return any(unsure(v) for v in data)
    return (isinstance(data, float) and not math.isfinite(data)) or (isinstance(data, str) and "\x00" in data)


def exactly(value: Any) -> tuple[str, str]:
    """Return a value with its type, telling 1 from 1.0 and 0.0 from -0.0."""
    return type(value).__name__, repr(value)


def entities_db() -> sqlite3.Connection:
    """Return an in-memory database with the store's entities table and the value index."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE entities (id INTEGER PRIMARY KEY, event_row INTEGER, kind TEXT, name TEXT, data TEXT)")
    read_indexes.create_value_index(conn)
    return conn


def sql_leaves(conn: sqlite3.Connection, where: str = "1") -> set[tuple[Any, ...]]:
    """Return what leaves_sql finds in the stored entities, with each path interned beforehand, by path."""
    conn.execute(read_indexes.paths_of_entities_sql(where))
    paths = dict(conn.execute("SELECT id, path FROM entity_paths"))
    found = conn.execute(read_indexes.leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                                                 f"json_valid(n.data) AND {where}"))
    return {(paths[r[0]], r[1], *exactly(r[2]), r[3]) for r in found}


def stored_values(conn: sqlite3.Connection) -> set[tuple[Any, ...]]:
    """Return entity_values as it is stored, by path."""
    return {(r[0], r[1], *exactly(r[2]), r[3]) for r in conn.execute(
        "SELECT p.path, v.kind, v.value, v.event_row FROM entity_values v JOIN entity_paths p ON p.id = v.path_id")}


@BOUNDED
@given(data=json_data, kind=st.sampled_from(["context", "unstruct", "derived"]))
def test_python_leaves_are_the_rows_sqlite_finds_or_declined_and_then_found_by_sql(data: Any, kind: str) -> None:
    conn = entities_db()
    text = rows.dumps(data)
    conn.execute("INSERT INTO entities (event_row, kind, name, data) VALUES (1, ?, 'thing', ?)", (kind, text))
    expected = sql_leaves(conn)
    found = entity_leaves.leaves(data)
    assert (found is None) == unsure(data)
    if found is not None:
        assert {(path, leaf_kind, *exactly(value), 1) for path, leaf_kind, value in found} == expected
    entity_leaves.add_values(conn, 1, [("thing", kind, text, found)])
    assert stored_values(conn) == expected


@pytest.mark.parametrize("data", [
    {key: {"x": [1, {key: True}]} for key in ODD_KEYS},
    {"n": [text for text in NUMERIC_LOOKING]},
    [2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1, 10 ** 30, 0.0, -0.0, 1e300, 0.1, 1e16, 5e-324, 1.0, 1e5],
    "a root text", 7, 2.5, True, None, [], {}, {"deep": [[[[{"deeper": "1e5"}]]]]},
])
def test_odd_keys_and_numbers_are_named_and_valued_as_sqlite_does(data: Any) -> None:
    conn = entities_db()
    conn.execute("INSERT INTO entities (event_row, kind, name, data) VALUES (1, 'context', 'thing', ?)",
                 (rows.dumps(data),))
    found = entity_leaves.leaves(data)
    assert found is not None  # none of these is left to SQL
    assert {(path, kind, *exactly(value), 1) for path, kind, value in found} == sql_leaves(conn)


@pytest.mark.parametrize("data", [{"a": math.nan, "b": 1}, {"a": "x\x00y", "b": 1}, {1: "int key"},
                                  {"a": {"b": b"bytes"}}, {"a": json.loads("[" * 120 + "1" + "]" * 120)}])
def test_what_python_cannot_be_sure_of_is_left_to_the_sql(data: Any) -> None:
    conn = entities_db()
    try:
        text = rows.dumps(data)
    except TypeError:  # bytes are no JSON: no entity holds them, leaves() still declines them
        assert entity_leaves.leaves(data) is None
        return
    conn.execute("INSERT INTO entities (event_row, kind, name, data) VALUES (1, 'context', 'thing', ?)", (text,))
    assert entity_leaves.leaves(data) is None
    entity_leaves.add_values(conn, 1, [("thing", "context", text, None)])
    assert stored_values(conn) == sql_leaves(conn)


# -- through the store's own writes --------------------------------------------------------------------------------

def raw(query: str = "", body: bytes | None = None) -> RawPayload:
    """Return a GET (or, with a body, a tp2 POST) as the collector would build it."""
    return RawPayload(
        method="POST" if body is not None else "GET", path="/com.snowplowanalytics.snowplow/tp2",
        vendor="com.snowplowanalytics.snowplow", version="tp2", querystring=query, body=body,
        content_type="application/json" if body is not None else None, headers=[("Host", "localhost")],
        ip="127.0.0.1", useragent="leaves-test", referer=None, hostname="localhost",
        network_userid="11111111-2222-4333-8444-555555555555", timestamp=int(time.time() * 1000),
        body_size=len(body or b""))


def thing_view(data: Any, app: str = "shop") -> RawPayload:
    """Return a page view carrying a com.acme thing context with this data (JSON text: NaN written as such)."""
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": THING, "data": data}]})
    return raw(urlencode({"e": "pv", "p": "web", "tv": "t", "aid": app, "co": co}))


def gitlab_batch(project_ids: list[int]) -> RawPayload:
    """Return a tp2 POST of structured events, each with a gitlab_standard context of one project."""
    events = [{"e": "se", "p": "srv", "tv": "t", "aid": "gitlab", "se_ca": "c", "se_ac": "a", "co": json.dumps(
        {"schema": CONTEXTS, "data": [{"schema": GITLAB_STANDARD, "data": {
            "environment": "production", "project_id": p, "namespace_id": 3, "instance_version": "17.2.0",
            "feature_enabled_by_namespace_ids": [1, 2], "extra": {"odd key": 1.5}}}]})} for p in project_ids]
    return raw(body=json.dumps({"schema": PAYLOAD_DATA, "data": events}).encode())


def save(store: Store, payload: RawPayload) -> list[int]:
    """Store a request as the collector does, then what the pipeline decodes from it; return the new row ids."""
    request_id = store.save_request(payload)
    request = store.requests([request_id])[request_id]
    return [s.id for s in store.save_decoded([(request, ingest(payload))])]


def assert_values_match_the_entities(store: Store) -> None:
    """entity_values holds exactly what leaves_sql finds in the stored entities (by path id, as forget reads it)."""
    leaves = read_indexes.leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                                      "json_valid(n.data)")
    stored = {(r[0], r[1], *exactly(r[2]), r[3]) for r in sql(store, "SELECT * FROM entity_values")}
    assert stored == {(r[0], r[1], *exactly(r[2]), r[3]) for r in sql(store, leaves)}


def matching(store: Store, *pairs: tuple[str, str]) -> set[int]:
    """Return the ids of the rows a filter matches."""
    return {s.id for s in reads.summaries(store, parse_args(list(pairs)), 100)}


ODD = {"odd key": {"a.b": ["1e5", 2 ** 64, 0.1]}, "é": -0.0, "": "16.11.0", "nul\x00key": True}


@pytest.fixture
def store(tmp_path: Path):
    """Return a store on a temporary file that keeps at most 12 event rows."""
    store = Store(str(tmp_path / "events.db"), max_events=12)
    yield store
    store.close()


def test_the_writes_keep_entity_values_equal_to_the_sql_through_every_kind_of_write(store: Store) -> None:
    first = save(store, gitlab_batch([7, 8, 7]))
    odd = save(store, thing_view(ODD))
    declined = save(store, raw(urlencode({"e": "pv", "p": "web", "aid": "shop", "co": json.dumps(
        {"schema": CONTEXTS, "data": [{"schema": THING, "data": {"n": 1, "t": "a\x00b"}}]})})))
    assert_values_match_the_entities(store)
    assert sql(store, "SELECT count(*) FROM entity_values")[0][0] > 20
    assert matching(store, ("gitlab_standard.project_id", "7")) == {first[0], first[2]}
    assert matching(store, ("gitlab_standard.instance_version", "17.2.0")) == set(first)
    assert matching(store, ("thing.n", "1")) == set(declined)
    # leaves() declined that entity (a NUL in a text): the SQL indexed it
    assert sql(store, "SELECT data FROM entities WHERE event_row = ?", declined)[0][0] == '{"n":1,"t":"a\\u0000b"}'

    request_id = sql(store, "SELECT request_id FROM events WHERE id = ?", [first[0]])[0][0]
    store.redecode(store.requests([request_id])[request_id], ingest(gitlab_batch([9, 7])))
    assert_values_match_the_entities(store)
    # the third row, which the new outcome has no event for, keeps its entities and their values
    assert matching(store, ("gitlab_standard.project_id", "7")) == {first[1], first[2]}
    assert matching(store, ("gitlab_standard.project_id", "9")) == {first[0]}

    store.delete(parse_args([("app_id", "shop")]))
    assert_values_match_the_entities(store)
    assert matching(store, ("thing.n", "1")) == set()
    assert sql(store, "SELECT count(*) FROM entities WHERE event_row IN (?, ?)", [*odd, *declined])[0][0] == 0

    for project in range(20):  # past max_events: retention deletes the oldest
        save(store, gitlab_batch([project]))
    assert_values_match_the_entities(store)
    assert sql(store, "SELECT count(*) FROM events")[0][0] <= 12 + 1

    store.delete()  # a reset empties entity_paths: no id remembered before may be handed out again
    assert sql(store, "SELECT count(*) FROM entity_paths")[0][0] == 0
    save(store, thing_view({"other": 1, "paths": "first"}))  # new paths take the lowest ids again
    after = save(store, gitlab_batch([7]))
    assert_values_match_the_entities(store)
    assert matching(store, ("gitlab_standard.project_id", "7")) == set(after)


def test_a_rolled_back_write_leaves_no_remembered_path_behind(store: Store) -> None:
    """A write that interned new paths and then failed, alone or beside others in one transaction."""
    payload = thing_view({"fresh": 1, "also": {"new": "x"}})
    request_id = store.save_request(payload)
    request = store.requests([request_id])[request_id]

    def failing(conn: sqlite3.Connection) -> None:
        rows.insert_outcome(conn, request.id, request.received_at, ingest(payload))
        raise RuntimeError("failed after interning its paths")

    with pytest.raises(RuntimeError):
        store._group.submit(failing)  # alone: the whole transaction rolls back
    assert sql(store, "SELECT count(*) FROM entity_paths")[0][0] == 0

    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def blocking(conn: sqlite3.Connection) -> Written:
        started.set()
        release.wait(10)
        return Written("decoded", [])

    def succeeding(conn: sqlite3.Connection) -> Written:
        newest = rows.newest_row(conn)
        stored = rows.insert_outcome(conn, request.id, request.received_at, ingest(payload))
        read_indexes.count_rows_after(conn, newest)  # as save_decoded does
        return Written("decoded", stored)

    def submit(write: Any) -> None:
        try:
            store._group.submit(write)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(write,)) for write in (blocking, failing, succeeding)]
    threads[0].start()
    started.wait(10)  # the writer runs the blocking job: the next two queue up and share one transaction
    for queued, thread in enumerate(threads[1:], start=1):
        thread.start()
        while store._group.queue.qsize() < queued:
            time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 1  # the failing job's savepoint rolled back, then the other one was stored
    assert_values_match_the_entities(store)
    save(store, thing_view({"fresh": 2, "also": {"new": "y"}}))
    assert_values_match_the_entities(store)
    assert len(matching(store, ("thing.fresh", "2"))) == 1


def test_another_process_resetting_the_database_leaves_no_remembered_path_behind(tmp_path: Path) -> None:
    path = str(tmp_path / "events.db")
    first = Store(path)
    try:
        save(first, thing_view({"mine": 1}))
        other = Store(path)  # another process on the same file resets it, then interns other paths
        other.delete()
        save(other, thing_view({"theirs": 1, "more": 2}))
        other.close()
        [row] = save(first, thing_view({"mine": 2}))
        assert_values_match_the_entities(first)
        assert matching(first, ("thing.mine", "2")) == {row}
    finally:
        first.close()


# The trigger that filled entity_values before schema step 10, as step 5 created it.
OLD_TRIGGER = f"""
    CREATE TRIGGER entity_values_insert AFTER INSERT ON entities WHEN json_valid(NEW.data) BEGIN
        INSERT OR IGNORE INTO entity_paths (name, path, unstruct) SELECT NEW.name, fullkey, NEW.kind = 'unstruct'
            FROM json_tree(NEW.data) WHERE type IN ('text', 'integer', 'real', 'true', 'false');
        INSERT OR IGNORE INTO entity_values (path_id, kind, value, event_row)
            {read_indexes.leaves_sql("NEW.data", "NEW.name", "NEW.kind", "NEW.event_row")};
    END"""


def entity_triggers(path: str) -> list[str]:
    """Return the names of the triggers on the entities table."""
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                           "AND tbl_name = 'entities'")]
    finally:
        conn.close()


def test_a_new_and_an_upgraded_database_fill_entity_values_without_a_trigger(tmp_path: Path, monkeypatch) -> None:
    fresh = str(tmp_path / "fresh.db")
    Store(fresh).close()
    assert entity_triggers(fresh) == []

    upgraded = str(tmp_path / "upgraded.db")
    with monkeypatch.context() as patched:  # a database of the release before step 10, its trigger filling values
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:9])
        patched.setattr(schema, "VERSION", 9)
        Store(upgraded).close()
        conn = sqlite3.connect(upgraded)
        conn.execute(OLD_TRIGGER)
        conn.commit()
        conn.close()
        old = Store(upgraded)
        before = save(old, gitlab_batch([7]))
        old.close()
    assert entity_triggers(upgraded) == ["entity_values_insert"]
    store = Store(upgraded)
    try:
        assert entity_triggers(upgraded) == []
        after = save(store, gitlab_batch([7, 8]))
        assert_values_match_the_entities(store)
        assert matching(store, ("gitlab_standard.project_id", "7")) == {before[0], after[0]}
    finally:
        store.close()
