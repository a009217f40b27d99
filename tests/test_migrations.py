"""The database schema is versioned: a database made by an earlier release opens, upgraded, with nothing lost."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from support import sql

from micro_dashboard.filters import Filter, Text
from micro_dashboard.store import Store, reads, schema

RELEASE_0_1 = Path(__file__).parent / "fixtures" / "release-0.1.db"  # written by release 0.1's own code


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    """Return a copy of a database written by release 0.1 (4 requests: page view, GitLab event, bad event, junk)."""
    path = tmp_path / "events.db"
    shutil.copy(RELEASE_0_1, path)
    return path


def test_a_release_0_1_database_is_upgraded_in_place_and_keeps_every_row(old_db: Path) -> None:
    conn = sqlite3.connect(old_db)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("requests", "events", "entities",
                                                                                 "failures")}
    conn.close()
    store = Store(str(old_db))
    try:
        assert sql(store, "SELECT version FROM schema_version")[0][0] == schema.VERSION
        assert {t: sql(store, f"SELECT count(*) FROM {t}")[0][0] for t in counts} == counts
        assert store.counts() == {"total": 4, "good": 2, "bad": 2}
        # Everything stored by 0.1 was decoded when it was stored: the pipeline has nothing left to do.
        assert store.decoded_through == store.acknowledged_through == 4
        [gitlab] = [e for e in store.events([r[0] for r in sql(store, "SELECT id FROM events")]) if e.summary.gitlab]
        assert gitlab.summary.gitlab == {"user_id": 3, "project_id": 7, "namespace_id": 10, "plan": "free"}
        assert gitlab.summary.se_property == "top_bar" and gitlab.summary.se_value == 2
        assert gitlab.request.path == "/i" and gitlab.entities[0].name == "gitlab_standard"
    finally:
        store.close()


def test_an_upgraded_database_takes_new_requests_after_the_old_ones(old_db: Path, tmp_path: Path) -> None:
    from micro_dashboard.app import create_app

    app = create_app({"db": str(old_db), "iglu_defaults": False})
    try:
        client = app.test_client()
        assert client.get("/i?e=pv&p=web&tv=t&aid=after-upgrade").status_code == 200
        events = client.get("/api/events?limit=10").get_json()["events"]
        assert [e["app_id"] for e in events][:2] == ["after-upgrade", None]
        assert events[0]["id"] > max(e["id"] for e in events[1:])
        assert client.get("/micro/all").get_json() == {"total": 5, "good": 3, "bad": 2}
    finally:
        app.config["STORE"].close()


def test_reopening_an_upgraded_database_runs_no_step_again(old_db: Path) -> None:
    Store(str(old_db)).close()
    conn = sqlite3.connect(old_db)
    conn.execute("UPDATE schema_version SET version = version")  # the file is upgraded and readable as it is
    conn.close()
    assert schema.migrate(sqlite3.connect(old_db, isolation_level=None)) == schema.VERSION


def test_a_database_from_a_newer_release_is_refused_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    Store(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer micro-dashboard"):
        Store(str(path))


def test_a_name_added_to_the_promoted_columns_becomes_a_filled_indexed_column(old_db: Path, monkeypatch) -> None:
    monkeypatch.setattr(schema, "PROMOTED", (*schema.PROMOTED, "page_url"))
    conn = sqlite3.connect(old_db, isolation_level=None)
    schema.migrate(conn)
    assert conn.execute("SELECT page_url FROM events WHERE page_url IS NOT NULL").fetchall() == [
        ("https://shop.example/",)]
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'idx_events_page_url'").fetchone()[0] == 1
    conn.close()


def _api_answers(db: Path, ids: list[int]) -> dict[str, bytes]:
    """Return the answers that show a database's raw requests, parameters and bad rows."""
    from micro_dashboard.app import create_app

    app = create_app({"db": str(db), "iglu_defaults": False})
    try:
        client = app.test_client()
        paths = [*(f"/api/events/{i}" for i in ids), "/api/events?limit=10&columns=param.e,param.co",
                 "/api/events?param.e=pv", "/api/events?q=Produ", "/api/values?key=param.e", "/api/columns",
                 "/micro/good", "/micro/bad", "/micro/events", "/api/export.ndjson", "/api/export.tsv"]
        answers = {}
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.data)
            answers[path] = answer.data
        return answers
    finally:
        app.config["STORE"].close()


def test_packing_keeps_every_request_parameter_and_bad_row_as_the_api_showed_them(old_db: Path, tmp_path: Path,
                                                                                  monkeypatch) -> None:
    conn = sqlite3.connect(old_db)
    old = {r[0]: r[1:] for r in conn.execute("SELECT id, querystring, body, headers, useragent, referer FROM requests")}
    ids = [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]
    conn.close()
    # Before: the tables as the steps before packing left them, read by this release (which reads both).
    before_db = tmp_path / "before.db"
    shutil.copy(old_db, before_db)
    with monkeypatch.context() as patched:  # every step but packing: this release reads the other steps' tables
        unpacked = [step for step in schema.MIGRATIONS if step is not schema._step_4_packed]
        patched.setattr(schema, "MIGRATIONS", unpacked)
        patched.setattr(schema, "VERSION", len(unpacked))
        before = _api_answers(before_db, ids)
    after = _api_answers(old_db, ids)
    for path in before:
        assert before[path] == after[path], path

    store = Store(str(old_db))
    try:
        assert sql(store, "SELECT count(*) FROM requests WHERE typeof(querystring) != 'blob' OR useragent IS NOT NULL "
                          "OR typeof(headers) != 'blob'")[0][0] == 0
        for request_id, stored in store.requests(old).items():
            querystring, body, headers, useragent, referer = old[request_id]
            assert (stored.querystring, stored.body, stored.useragent, stored.referer) == (
                querystring, body, useragent, referer)
            assert stored.headers == [tuple(h) for h in json.loads(headers)]
        [bad] = [e for e in store.events(ids) if e.request and e.request.body == b"not json"]
        assert bad.failures and bad.failures[0].bad_row["data"]["payload"]
        assert [s.id for s in reads.summaries(store, Filter([Text("not json")]), 10)] == [bad.id]  # the raw body
        assert sql(store, "SELECT max(seq) FROM sqlite_sequence WHERE name = 'events'")[0][0] == max(ids)
    finally:
        store.close()


def test_the_upgrade_fills_the_value_index_and_the_kept_counts_from_the_stored_rows(old_db: Path) -> None:
    from micro_dashboard.filters import parse_args

    store = Store(str(old_db))
    try:
        kept = sql(store, "SELECT total, valid FROM event_counts WHERE grouping = 'all'")[0]
        assert tuple(kept) == tuple(sql(store, "SELECT count(*), sum(valid) FROM events")[0]) == (4, 2)
        assert sql(store, "SELECT count(*) FROM entity_values")[0][0] > 0
        [gitlab] = reads.summaries(store, parse_args([("gitlab_standard.project_id", "7")]), 10)
        assert gitlab.gitlab["project_id"] == 7
        assert reads.count(store, parse_args([("gitlab_standard.plan__in", "free,premium")])) == 1
        assert reads.stats(store, Filter([]), 0, 60_000)["total"] == 4
    finally:
        store.close()


def test_the_valid_and_app_index_step_runs_again_to_the_same_schema(old_db: Path) -> None:
    Store(str(old_db)).close()
    conn = sqlite3.connect(old_db, isolation_level=None)
    schema_sql = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    before = conn.execute(schema_sql).fetchall()
    assert ("index", "idx_events_valid_app_id") in [(t, n) for t, n, _ in before]
    schema._step_6_invalid_by_app(conn)
    assert conn.execute(schema_sql).fetchall() == before
    conn.close()
