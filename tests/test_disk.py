"""The disk stays bounded: retention counts bytes as well as rows, a paused export holds no snapshot that would
pin the write-ahead log, and the log is cut back once a reader lets go. Loopback only, bounded in size."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest
import requests
from sending import tp2
from support import sql, wait_for

import micro_dashboard.store as store_module
from micro_dashboard.filters import parse_args
from micro_dashboard.store import reads

pytestmark = pytest.mark.hostile


def used_bytes(db: str) -> int:
    """Return the bytes of the database's pages that hold data, read as another program would."""
    conn = sqlite3.connect(db)
    try:
        return store_module.Store.used_bytes(conn)
    finally:
        conn.close()


def test_retention_by_bytes_keeps_the_newest_events_under_the_bound(make_live_server) -> None:
    limit = 2 * 1024 * 1024
    server = make_live_server(max_bytes=limit, max_events=0)
    # Each event stores its request, its fields and its parameters, packed (store/packing.py): random text stays
    # ~110 KB a row, where 50,000 times the same letter would pack to almost nothing.
    sent = [tp2(server.url, {"e": "pv", "url": f"https://example.com/{i}", "page": secrets.token_urlsafe(37_500)})[0]
            for i in range(40)]
    requests.get(f"{server.url}/micro/all", timeout=30)  # once every request is decoded
    # Each write deletes what it estimates brings the file under the bound, and the idle pipeline goes on until it
    # is (the free-text index, written later, grows the file after a write was checked).
    assert wait_for(lambda: used_bytes(server.store.path) <= limit, seconds=30)
    assert 0 < requests.get(f"{server.url}/micro/all", timeout=30).json()["total"] < len(sent)
    kept = [r["event_id"] for r in sql(server.store, "SELECT event_id FROM events ORDER BY id")]
    assert kept == sent[-len(kept):]  # the oldest went first


def test_a_paused_export_holds_no_snapshot_so_the_log_is_checkpointed(make_live_server) -> None:
    server = make_live_server()
    for batch in range(7):  # more events than one export page
        tp2(server.url, *({"e": "se", "se_ca": "c", "se_ac": f"a{batch}-{i}"} for i in range(100)))
    requests.get(f"{server.url}/micro/all", timeout=30)  # decoded
    export = reads.export_fields(server.store, parse_args([]))
    first = next(export)  # a reader that stops after its first event, for as long as it likes
    assert first["se_action"] == "a0-0"
    tp2(server.url, {"e": "se", "se_ca": "c", "se_ac": "while paused"})
    requests.get(f"{server.url}/micro/all", timeout=30)
    conn = sqlite3.connect(server.store.path)
    try:
        busy, logged, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()
    assert busy == 0 and logged == checkpointed  # nothing held the log back
    assert sum(1 for _ in export) == 700  # the rest, and the event sent meanwhile (ids after the first page)


def test_the_log_is_cut_back_after_a_reader_that_pinned_it_lets_go(make_live_server, monkeypatch) -> None:
    limit = 256 * 1024
    monkeypatch.setattr(store_module, "JOURNAL_SIZE_LIMIT", limit)  # a small bound, so a test can exceed it
    server = make_live_server()
    wal = Path(server.store.path + "-wal")
    pinning = sqlite3.connect(server.store.path, isolation_level=None)
    pinning.execute("BEGIN")
    pinning.execute("SELECT count(*) FROM events").fetchone()  # a snapshot the checkpointer must not overwrite
    for i in range(20):
        tp2(server.url, {"e": "pv", "url": f"https://example.com/{i}", "page": "q" * 20_000})
    requests.get(f"{server.url}/micro/all", timeout=30)
    grown = wal.stat().st_size
    assert grown > 4 * limit
    pinning.execute("COMMIT")
    pinning.close()
    server.store.checkpoint()  # as after an export
    tp2(server.url, {"e": "pv", "url": "https://example.com/after"})  # the next write starts the log over
    requests.get(f"{server.url}/micro/all", timeout=30)
    assert wal.stat().st_size <= limit


def test_a_file_opened_over_its_limit_is_pruned_in_short_writes_while_idle(make_live_server, monkeypatch) -> None:
    first = make_live_server()
    for batch in range(6):
        tp2(first.url, *({"e": "se", "se_ca": "c", "se_ac": f"a{batch}-{i}"} for i in range(10)))
    assert requests.get(f"{first.url}/micro/all", timeout=30).json()["total"] == 60
    first.close()
    path = first.store.path
    monkeypatch.setattr(store_module, "PRUNE_ROWS", 10)  # the rows one write may delete
    # Write by write, in-process: each deletes at most 10 of the oldest, until the limit holds.
    store = store_module.Store(path, max_events=45)
    totals = [store.totals()["total"]]
    while store.prune():
        totals.append(store.totals()["total"])
    store.close()
    assert totals == [60, 50, 45]
    # A dashboard left idle on it: the pipeline prunes between nothing else to do.
    server = make_live_server(max_events=15)
    assert wait_for(lambda: requests.get(f"{server.url}/micro/all", timeout=30).json()["total"] == 15, seconds=30)
    kept = [r["se_action"] for r in sql(server.store, "SELECT se_action FROM events ORDER BY id")]
    assert kept == [f"a{b}-{i}" for b in range(6) for i in range(10)][-15:]  # the newest
