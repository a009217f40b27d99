"""The SQLite store: the only place that speaks SQL. One writer, many readers, listeners told after commit."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from ..columns import SUMMARY_PROMOTED
from ..pipeline import Event, Failure, Outcome, RawPayload
from ..pipeline.fields import to_compact_json_form
from . import schema
from .writer import GroupWriter, Job

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ("id, event_id, valid, unverified, collector_tstamp, schema, app_id, platform, event, "
                   "event_name, event_vendor, name_tracker, user_id, se_category, se_action, se_label, problems")


def dumps(value: Any) -> str:
    """Serialise JSON compactly."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Summary:
    """The short form of a stored event row: what a list, a websocket client or a waiter needs."""

    id: int
    event_id: str | None
    valid: bool
    unverified: bool
    collector_tstamp: int
    schema: str | None
    app_id: str | None
    platform: str | None
    event: str | None
    event_name: str | None
    event_vendor: str | None
    name_tracker: str | None
    user_id: str | None
    se_category: str | None
    se_action: str | None
    se_label: str | None
    problems: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Summary:
        """Build a summary from a row selected with SUMMARY_COLUMNS."""
        values = dict(row)
        values["valid"], values["unverified"] = bool(values["valid"]), bool(values["unverified"])
        values["problems"] = json.loads(values["problems"] or "[]")
        return cls(**values)


def _problems_json(failures: list[Failure]) -> list[dict[str, Any]]:
    return [{"type": f.type, "path": p.path, "message": p.message, "schema": p.schema}
            for f in failures for p in f.problems]


def _event_schema(fields: dict[str, Any]) -> str | None:
    parts = [fields.get(k) for k in ("event_vendor", "event_name", "event_format", "event_version")]
    return "iglu:{}/{}/{}/{}".format(*parts) if all(parts) else None


class Store:
    """A SQLite database of received requests, decoded events, entities and failures."""

    def __init__(self, path: str, max_events: int | None = None, max_age: float | None = None,
                 readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self.max_events, self.max_age = max_events, max_age
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._listeners: list[Callable[[list[Summary]], None]] = []
        self._reset_listeners: list[Callable[[], None]] = []
        self._prune_listeners: list[Callable[[int], None]] = []
        self._last_age_prune = 0.0
        self._writes_since_prune = 0
        self._pruned = False  # set by the writer thread when retention deleted rows in the current batch
        if readonly:  # for reading a database another process may be writing (exports): no writer, no DDL
            self._writer = self._group = None
            return
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        schema.create(sqlite_utils.Database(self._writer))
        self._group = GroupWriter(self._writer, self._write_lock, self._after_commit)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened explicitly, so a request's rows commit together.
        target, uri = (f"file:{Path(self.path).absolute()}?mode=ro", True) if self.readonly else (self.path, False)
        conn = sqlite3.connect(target, uri=uri, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash in WAL mode, and fast
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def reader(self) -> sqlite3.Connection:
        """Return this thread's read connection (sqlite3 connections are not shared across threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        """Commit what is queued, then close the writer; every acknowledged write is on disk."""
        if self._group is None:
            return
        self._group.close()
        with self._write_lock:
            self._writer.close()

    # -- listeners -------------------------------------------------------------------------------------------

    def on_commit(self, callback: Callable[[list[Summary]], None]) -> None:
        """Call `callback` with the summaries of new rows after each write commits."""
        self._listeners.append(callback)

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call `callback` after rows were deleted, so that views can resync."""
        self._reset_listeners.append(callback)

    def on_prune(self, callback: Callable[[int], None]) -> None:
        """Call `callback` with the oldest remaining row id after retention deleted the rows before it."""
        self._prune_listeners.append(callback)

    def _notify(self, callbacks: Iterable[Callable[..., None]], *args: Any) -> None:
        for callback in callbacks:
            try:
                callback(*args)
            except Exception:  # a broken listener must never fail the tracker's request
                log.exception("store listener failed")

    # -- writes ----------------------------------------------------------------------------------------------

    def save(self, raw: RawPayload, outcome: Outcome) -> list[Summary]:
        """Store a request and everything decoded from it atomically; return the new rows once committed."""
        return self._group.submit(lambda conn: self._write_request(conn, raw, outcome))

    def _write_request(self, conn: sqlite3.Connection, raw: RawPayload, outcome: Outcome) -> list[Summary]:
        request_id = self._insert_request(conn, raw)
        summaries = [self._insert_event(conn, request_id, event) for event in outcome.events]
        if outcome.failures:
            summaries.append(self._insert_failed_request(conn, request_id, raw, outcome.failures))
        self._prune(conn)
        return summaries

    def _after_commit(self, jobs: list[Job]) -> None:
        self._notify(self._listeners, [summary for job in jobs for summary in job.result])
        if self._pruned:
            self._pruned = False
            oldest = self.reader.execute("SELECT coalesce(min(id), 0) FROM events").fetchone()[0]
            self._notify(self._prune_listeners, oldest)

    def _insert_request(self, conn: sqlite3.Connection, raw: RawPayload) -> int:
        cur = conn.execute(
            "INSERT INTO requests (received_at, method, path, vendor, version, querystring, body, body_size, "
            "content_type, headers, ip, useragent, referer, hostname, network_userid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (raw.timestamp, raw.method, raw.path, raw.vendor, raw.version, raw.querystring, raw.body,
             raw.body_size, raw.content_type, dumps(raw.headers), raw.ip, raw.useragent, raw.referer,
             raw.hostname, raw.network_userid),
        )
        return cur.lastrowid

    def _insert_event(self, conn: sqlite3.Connection, request_id: int, event: Event) -> Summary:
        f = event.fields
        problems = _problems_json(event.failures)
        contexts = [e.schema for e in event.entities if e.kind == "context"]
        cur = conn.execute(
            "INSERT INTO events (request_id, event_id, valid, unverified, collector_tstamp, schema, "
            f"{', '.join(schema.PROMOTED)}, event_json, parameters, contexts, problems) "
            f"VALUES ({', '.join('?' * (10 + len(schema.PROMOTED)))})",
            (request_id, f.get("event_id"), int(event.valid), int(event.unverified), f["collector_tstamp"],
             _event_schema(f), *(f.get(c) for c in schema.PROMOTED), dumps(to_compact_json_form(f)),
             dumps(event.parameters), dumps(contexts), dumps(problems)),
        )
        row = cur.lastrowid
        conn.executemany(
            "INSERT INTO entities (event_row, kind, position, schema, vendor, name, format, version, data, status, "
            "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(row, e.kind, e.position, e.schema, *e.schema[len("iglu:"):].split("/"), dumps(e.data), e.status,
              e.note) for e in event.entities],
        )
        self._insert_failures(conn, request_id, row, event.failures)
        return Summary(row, f.get("event_id"), event.valid, event.unverified, f["collector_tstamp"], _event_schema(f),
                       *(f.get(c) for c in SUMMARY_PROMOTED), problems)

    def _insert_failed_request(self, conn: sqlite3.Connection, request_id: int, raw: RawPayload,
                               failures: list[Failure]) -> Summary:
        # A request nothing could be extracted from still gets an (invalid, eventless) row, so that it is
        # listed, counted, pushed and waited on like any other.
        problems = _problems_json(failures)
        cur = conn.execute("INSERT INTO events (request_id, valid, collector_tstamp, problems) VALUES (?, 0, ?, ?)",
                           (request_id, raw.timestamp, dumps(problems)))
        self._insert_failures(conn, request_id, cur.lastrowid, failures)
        return Summary(cur.lastrowid, None, False, False, raw.timestamp, None, *([None] * len(SUMMARY_PROMOTED)),
                       problems)

    def _insert_failures(self, conn: sqlite3.Connection, request_id: int, row: int,
                         failures: list[Failure]) -> None:
        conn.executemany(
            "INSERT INTO failures (request_id, event_row, type, bad_row, problems) VALUES (?, ?, ?, ?, ?)",
            [(request_id, row, f.type, dumps(f.bad_row), dumps(_problems_json([f]))) for f in failures],
        )

    def _prune(self, conn: sqlite3.Connection) -> None:
        """Apply retention inside the current write transaction."""
        self._writes_since_prune += 1
        # Finding the cutoff walks max_events index entries, so it runs every few writes: the table may
        # exceed the limit by that many rows for a moment, and a write stays cheap with a large limit.
        if self.max_events and self._writes_since_prune >= min(100, max(1, self.max_events // 100)):
            self._writes_since_prune = 0
            cutoff = conn.execute("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?",
                                  (self.max_events,)).fetchone()
            if cutoff:
                self._pruned |= self._delete_where(conn, "id <= ?", (cutoff[0],)) > 0
        if self.max_age and time.monotonic() - self._last_age_prune > 1.0:
            self._last_age_prune = time.monotonic()
            oldest = int((time.time() - self.max_age) * 1000)
            self._pruned |= self._delete_where(conn, "collector_tstamp < ?", (oldest,)) > 0

    def _delete_where(self, conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> int:
        """Delete event rows matching `where`, their entities and failures, and requests left with no rows."""
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY, request_id INTEGER)")
        conn.execute("DELETE FROM doomed")
        conn.execute(f"INSERT INTO doomed SELECT id, request_id FROM events WHERE {where}", params)
        count = conn.execute("SELECT count(*) FROM doomed").fetchone()[0]
        if count:
            conn.execute("DELETE FROM entities WHERE event_row IN (SELECT id FROM doomed)")
            conn.execute("DELETE FROM failures WHERE event_row IN (SELECT id FROM doomed)")
            conn.execute("DELETE FROM events WHERE id IN (SELECT id FROM doomed)")
            conn.execute("DELETE FROM requests WHERE id IN (SELECT request_id FROM doomed) "
                         "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = requests.id)")
        return count

    def delete(self, where: str = "1", params: tuple[Any, ...] = ()) -> int:
        """Delete the event rows matching a SQL condition (all by default) and tell reset listeners."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                if where == "1":
                    count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
                    for table in ("entities", "failures", "events", "requests"):
                        conn.execute(f"DELETE FROM {table}")
                else:
                    count = self._delete_where(conn, where, params)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self._notify(self._reset_listeners)
        return count

    # -- reads -----------------------------------------------------------------------------------------------

    def summaries(self, ids: list[int]) -> list[Summary]:
        """Return the summaries of the given rows, in id order."""
        if not ids:
            return []
        rows = self.reader.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM events WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id", ids)
        return [Summary.from_row(r) for r in rows]

    def summaries_after(self, cursor: int, limit: int = 1000) -> list[Summary]:
        """Return the summaries of rows after a cursor, oldest first."""
        rows = self.reader.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit))
        return [Summary.from_row(r) for r in rows]

    def last_id(self) -> int:
        """Return the newest row id ever handed out (0 when none), the cursor for 'from now on'."""
        row = self.reader.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return row[0] if row else 0

    def counts(self) -> dict[str, int]:
        """Return Micro's summary: total, good and bad rows."""
        good, bad = self.reader.execute(
            "SELECT coalesce(sum(valid), 0), coalesce(sum(1 - valid), 0) FROM events").fetchone()
        return {"total": good + bad, "good": good, "bad": bad}

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a read query built by this package's query builders."""
        return self.reader.execute(sql, tuple(params)).fetchall()

    def iterate(self, sql: str, params: Iterable[Any] = (), batch: int = 500) -> Iterator[sqlite3.Row]:
        """Yield the rows of a read query in batches, so exports run in constant memory."""
        cur = self.reader.execute(sql, tuple(params))
        while rows := cur.fetchmany(batch):
            yield from rows

    def request(self, request_id: int) -> sqlite3.Row | None:
        """Return one stored request."""
        return self.reader.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()

    def requests(self, ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        """Return stored requests by id."""
        ids = list(set(ids))
        if not ids:
            return {}
        rows = self.reader.execute(f"SELECT * FROM requests WHERE id IN ({', '.join('?' * len(ids))})", ids)
        return {r["id"]: r for r in rows}

    def failures_of(self, rows: Iterable[int]) -> dict[int, list[sqlite3.Row]]:
        """Return the failures of event rows, grouped by row."""
        rows = list(rows)
        out: dict[int, list[sqlite3.Row]] = {r: [] for r in rows}
        if rows:
            for f in self.reader.execute(
                    f"SELECT * FROM failures WHERE event_row IN ({', '.join('?' * len(rows))}) ORDER BY id", rows):
                out[f["event_row"]].append(f)
        return out

    def entities_of(self, row: int) -> list[sqlite3.Row]:
        """Return the entities of one event row, the self-describing event first."""
        return self.reader.execute(
            "SELECT * FROM entities WHERE event_row = ? ORDER BY kind != 'unstruct', position", (row,)).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the writer for one transaction: commit on success, roll back on error."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise

    # -- the Iglu schema cache (implements iglu's SchemaCache protocol) --------------------------------------

    def get(self, uri: str) -> tuple[dict[str, Any], str] | None:
        """Return a cached schema and where it came from."""
        row = self.reader.execute("SELECT body, source FROM schemas WHERE uri = ?", (uri,)).fetchone()
        return (json.loads(row["body"]), row["source"]) if row else None

    def put(self, uri: str, body: dict[str, Any], source: str) -> None:
        """Keep a fetched schema so that it resolves again after a restart with no network."""
        with self._write_lock:
            self._writer.execute("INSERT OR REPLACE INTO schemas (uri, body, source, fetched_at) VALUES (?, ?, ?, ?)",
                                 (uri, dumps(body), source, int(time.time() * 1000)))
