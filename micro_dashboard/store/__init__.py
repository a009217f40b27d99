"""The SQLite store: the only place that speaks SQL. One writer, many readers, listeners told after commit.

A request is stored as received and acknowledged (`save_request`); the pipeline worker later stores what it
decoded from it (`save_decoded`). Every committed change to the events reaches the listeners as a `Change`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..filters import Filter
from ..pipeline import Outcome, RawPayload
from . import entity_leaves, free_text, packing, read_indexes, rows, schema
from .filter_sql import compile_filter
from .models import (
    EVENT_COLUMNS,
    SUMMARY_COLUMNS,
    Change,
    StoredEntity,
    StoredEvent,
    StoredFailure,
    StoredRequest,
    Summary,
)
from .writer import GroupWriter, Job


@dataclass
class Written:
    """What one write did, applied to the store's state only once its transaction has committed."""

    kind: str  # request, requests, decoded, indexed, pruned, redecoded, deleted
    value: Any = None
    removed: int = 0  # event rows deleted (by retention or a delete)
    removed_good: int = 0  # of which valid
    removed_unverified: int = 0  # of which valid but not checked
    cleared: bool = False  # everything was deleted

__all__ = ["QUERY_ERRORS", "Change", "Store", "StoredEntity", "StoredEvent", "StoredFailure", "StoredRequest",
           "Summary", "UnusableDatabase", "database_busy"]

log = logging.getLogger(__name__)
# How long a write waits for another program's lock before it fails (and the tracker gets a 503 to retry).
BUSY_TIMEOUT_SECONDS = 30.0
# Files up to this size are checked (PRAGMA quick_check) before the store opens; larger ones in the background
# (the check reads every page: 2.3 s for a 68 MB file with a cold cache on the 2-core benchmark machine).
CHECK_AT_OPEN_BYTES = 16 * 1024 * 1024
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the write-ahead log is truncated back to after a checkpoint
FULL_DISK_BYTES = 1024 * 1024  # free space under which the disk counts as full when the store opens
# Event rows retention deletes in one write at most: a file opened over its limits (or a limit lowered) is brought
# under them by many short writes, not one that holds the writer, which every tracker's request waits for, for
# minutes (a million-event file opened with the default limits did). Measured on a million events: 200 rows a write
# 124 ms p50 (496 max), 1,000 rows 468 ms; most of it the free-text deletes and the commit.
PRUNE_ROWS = 200
# Retention by bytes deletes the oldest events until the database's used pages are back under this share of the limit.
BYTES_TARGET = 0.9
# Errors a query built from client input can still raise (a safety net: the causes are checked beforehand).
QUERY_ERRORS = (sqlite3.OperationalError, OverflowError, ValueError)


UnusableDatabase = schema.UnusableDatabase


def why_unusable(path: str, exc: BaseException) -> str:
    """Say in one sentence why a database file cannot be opened, naming it and the fix."""
    text = str(exc)
    if isinstance(exc, schema.UnusableDatabase):
        if "newer micro-dashboard" in text:
            return f"cannot use {path}: {text}, or pass --db with another file"
        return f"cannot use {path}: {text}; move it aside (keep it for `sqlite3 .recover`) or pass another --db"
    if "not a database" in text:
        return f"cannot use {path}: it is not a SQLite database; move it aside or pass --db with another file"
    if "malformed" in text or "corrupt" in text:
        return (f"cannot use {path}: it is damaged ({text}); move it aside (keep it for `sqlite3 .recover`) or pass "
                "--db with another file")
    if "full" in text:
        return f"cannot use {path}: the disk is full; free some space or pass --db with a file on another disk"
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(exc, OSError):
        return (f"cannot use {path}: it cannot be written ({text}); make it and its folder writable or pass --db "
                "with a writable place")
    return f"cannot use {path}: {text}; pass --db with another file"


def why_unreadable(path: str, version: int) -> str:
    """Say in one sentence why a database cannot be read as it is (without upgrading it), and the fix."""
    if version == 0:
        return f"cannot read {path}: it holds no micro-dashboard data yet"
    if version > schema.VERSION:
        return (f"cannot read {path}: it was written by a newer micro-dashboard (schema {version}, this release "
                f"reads {schema.VERSION}); upgrade micro-dashboard")
    return (f"cannot read {path} as it is: it was written by an older micro-dashboard (schema {version}, this release "
            f"reads {schema.VERSION}); run `micro-dashboard serve --db {path}` once to upgrade it")


def database_busy(exc: BaseException) -> bool:
    """Return whether an error means another writer holds the database (worth trying again)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


class Store:
    """A SQLite database of received requests, decoded events, entities and failures."""

    def __init__(self, path: str, max_events: int | None = None, max_age: float | None = None,
                 readonly: bool = False, max_bytes: int | None = None):
        self.path = path
        self.readonly = readonly
        self.max_events, self.max_age, self.max_bytes = max_events, max_age, max_bytes
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._change_listeners: list[Callable[[Change], None]] = []
        self._request_listeners: list[Callable[[int], None]] = []
        self._close_listeners: list[Callable[[], None]] = []
        self._last_age_prune = 0.0
        self.retention_behind = True  # until a write has checked the limits (a file may be opened over them)
        self._decoded = threading.Condition()
        if readonly:  # for reading a database another process may be writing (exports): no writer, no DDL
            self._writer = self._group = None
            try:
                found = schema.version(self.reader)
            except (sqlite3.Error, schema.UnusableDatabase) as exc:
                raise UnusableDatabase(why_unusable(path, exc)) from exc
            if found != schema.VERSION:  # the reads expect this release's tables, which only a writer migrates to
                raise UnusableDatabase(why_unreadable(path, found))
            return
        try:
            self._writer = self._connect(entity_leaves.WriterConnection)
            self._open_checked()
        except (sqlite3.Error, schema.UnusableDatabase, OSError) as exc:
            raise UnusableDatabase(why_unusable(path, exc)) from exc
        self.acknowledged_through = self._writer.execute("SELECT coalesce(max(id), 0) FROM requests").fetchone()[0]
        self.decoded_through = self._writer.execute("SELECT decoded_through FROM pipeline").fetchone()[0]
        # Micro's totals, counted once and then kept by the writer thread, so no read or push counts the table.
        self._counts = self._count_rows(self._writer)
        self._group = GroupWriter(self._writer, self._write_lock, self._after_commit,
                                  self._writer.path_ids.rolled_back)

    def _open_checked(self) -> None:
        """Check the file (SQLite, undamaged, ours, writable), then set it up and migrate it.

        A quick_check reads every page: a file larger than CHECK_AT_OPEN_BYTES is checked in the background
        instead (a million events is ~10 s of reading), so the dashboard answers at once."""
        size = os.path.getsize(self.path) if self.path != ":memory:" and os.path.exists(self.path) else 0
        if size <= CHECK_AT_OPEN_BYTES:
            self.integrity = self._quick_check(self._writer)
        else:
            self.integrity = f"quick_check of {size / 1e9:.1f} GB running in the background"
            threading.Thread(target=self._check_in_background, name="micro-dashboard-check", daemon=True).start()
        self._writer.execute("PRAGMA journal_mode=WAL")
        # After a checkpoint the log is cut back to this size: a long read may grow it, but it never stays grown.
        self._writer.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        schema.migrate(self._writer)
        # The write below may still find room in a log left from before, and the first events then fail: say it now.
        if self.path != ":memory:":
            disk = os.statvfs(Path(self.path).absolute().parent)
            if disk.f_bavail * disk.f_frsize < FULL_DISK_BYTES:
                raise OSError("the disk is full")
        self._writer.execute("BEGIN IMMEDIATE")  # a write, so a read-only file or a full disk is said now
        self._writer.execute("UPDATE pipeline SET decoded_through = decoded_through")
        self._writer.execute("COMMIT")

    @staticmethod
    def _quick_check(conn: sqlite3.Connection) -> str:
        """Run SQLite's quick_check; raise UnusableDatabase naming what is damaged, else say how long it took."""
        started = time.monotonic()
        found = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        if found != ["ok"]:
            raise schema.UnusableDatabase(f"it is damaged ({'; '.join(found)})")
        return f"quick_check ok in {time.monotonic() - started:.2f} s"

    def _check_in_background(self) -> None:
        """Check a large file on a connection of its own; damage found is logged as the sentence a start gives."""
        conn = self._connect()
        try:
            self.integrity = self._quick_check(conn)
        except (sqlite3.Error, schema.UnusableDatabase) as exc:
            self.integrity = why_unusable(self.path, exc)
            log.error("%s", self.integrity)
        finally:
            conn.close()

    def _connect(self, factory: type[sqlite3.Connection] = sqlite3.Connection) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened explicitly, so a request's rows commit together.
        target, uri = (f"file:{Path(self.path).absolute()}?mode=ro", True) if self.readonly else (self.path, False)
        conn = sqlite3.connect(target, uri=uri, check_same_thread=False, isolation_level=None,
                               timeout=BUSY_TIMEOUT_SECONDS, factory=factory)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash in WAL mode, and fast
        packing.register(conn)  # SQL reads the packed columns through unpack()
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
        self._notify(self._close_listeners)  # the pipeline stores what it is decoding first
        self._group.close()
        with self._write_lock:
            self._writer.close()

    # -- listeners -------------------------------------------------------------------------------------------

    def on_change(self, callback: Callable[[Change], None]) -> None:
        """Call `callback` with every committed change to the events (insert, update, delete, pruned)."""
        self._change_listeners.append(callback)

    def on_request(self, callback: Callable[[int], None]) -> None:
        """Call `callback` with the newest request id after received requests were committed."""
        self._request_listeners.append(callback)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the store is about to close (the pipeline worker stops then)."""
        self._close_listeners.append(callback)

    def _notify(self, callbacks: Iterable[Callable[..., None]], *args: Any) -> None:
        for callback in callbacks:
            try:
                callback(*args)
            except Exception:  # a broken listener must never fail the tracker's request
                log.exception("store listener failed")

    def _tell(self, change: Change) -> None:
        self._notify(self._change_listeners, change)

    # -- the collector's write: a request as received -----------------------------------------------------------

    def save_request(self, raw: RawPayload) -> int:
        """Store a request as received; return its id once it is committed (durable: it may be acknowledged)."""
        values = rows.request_values(raw)  # packed here, outside the writer thread every write waits for
        return self._group.submit(lambda conn: Written("request", rows.insert_request(conn, values))).value

    def save_requests(self, raws: list[RawPayload]) -> list[int]:
        """Store many requests as received in one transaction (imports and seeding); return their ids."""
        return self._group.submit(lambda conn: Written("requests", [rows.insert_request(conn, r) for r in raws])).value

    # -- the pipeline's writes ---------------------------------------------------------------------------------

    def undecoded(self, limit: int = 100) -> list[StoredRequest]:
        """Return committed requests the pipeline has not decoded yet, oldest first."""
        found = self.reader.execute("SELECT * FROM requests WHERE id > ? ORDER BY id LIMIT ?",
                                    (self.decoded_through, limit)).fetchall()
        return [StoredRequest.from_row(r) for r in found]

    def save_decoded(self, decoded: list[tuple[StoredRequest, Outcome]]) -> list[Summary]:
        """Store what the pipeline made of some requests and move its cursor past them, in one transaction."""
        last = max(request.id for request, _ in decoded)
        encoded = [rows.encode_outcome(outcome) for _, outcome in decoded]  # outside the writer thread

        def write(conn: sqlite3.Connection) -> Written:
            summaries: list[Summary] = []
            newest = rows.newest_row(conn)
            for (request, outcome), values in zip(decoded, encoded):
                # A reset may have deleted the request while it was being decoded: then there is nothing to keep.
                if conn.execute("SELECT 1 FROM requests WHERE id = ?", (request.id,)).fetchone():
                    summaries += rows.insert_outcome(conn, request.id, request.received_at, outcome, values)
            conn.execute("UPDATE pipeline SET decoded_through = max(decoded_through, ?)", (last,))
            read_indexes.count_rows_after(conn, newest)
            return self._prune(conn, Written("decoded", summaries))

        return self._group.submit(write).value

    def index_free_text(self) -> bool:
        """Index the next batch of rows behind the free-text cursor (store/free_text.py); False when none waited."""
        # Retention runs after it too: the index grows the file after the write that stored the rows was checked.
        return self._group.submit(lambda conn: self._prune(conn, Written("indexed", free_text.catch_up(conn)))).value

    def unindexed_rows(self) -> int:
        """Return how many row ids lie after the free-text cursor (an upper bound of the rows not indexed yet)."""
        return self.reader.execute(f"SELECT coalesce(max(id), 0) - {free_text.INDEXED_THROUGH} FROM events"
                                   ).fetchone()[0]

    def redecode(self, request: StoredRequest, outcome: Outcome) -> list[Summary]:
        """Replace what was decoded from a request (re-validation), keeping its rows' ids; return them."""

        def write(conn: sqlite3.Connection) -> Written:
            if not conn.execute("SELECT 1 FROM requests WHERE id = ?", (request.id,)).fetchone():
                return Written("redecoded", ([], []))
            newest = rows.newest_row(conn)
            replaced = rows.replace_outcome(conn, request.id, request.received_at, outcome)
            read_indexes.count_rows_after(conn, newest)  # the rows it added (its updates count themselves)
            return Written("redecoded", replaced)

        updated, inserted = self._group.submit(write).value
        return updated + inserted

    def unverified_requests(self, schemas: Iterable[str], after: int = 0, limit: int = 500) -> list[StoredRequest]:
        """Return decoded requests after `after` with entities of these schemas still unverified, oldest first."""
        found = self.reader.execute(
            "SELECT * FROM requests WHERE id IN (SELECT e.request_id FROM entities n JOIN events e "
            "ON e.id = n.event_row WHERE n.status = 'unverified' AND n.schema IN (SELECT value FROM json_each(?))) "
            "AND id > ? ORDER BY id LIMIT ?", (rows.dumps(sorted(schemas)), after, limit)).fetchall()
        return [StoredRequest.from_row(r) for r in found]

    def undecoded_count(self) -> int:
        """Return how many stored requests the pipeline has not decoded yet (from the file: works read-only)."""
        return self.reader.execute("SELECT count(*) FROM requests WHERE id > (SELECT decoded_through FROM pipeline)"
                                   ).fetchone()[0]

    def unverified_schemas(self) -> list[str]:
        """Return the schemas of stored entities that are still unverified."""
        return [r[0] for r in self.reader.execute(
            "SELECT DISTINCT schema FROM entities WHERE status = 'unverified'")]

    def _after_commit(self, jobs: list[Job]) -> None:
        self._writer.path_ids.committed()
        done: list[Written] = [job.result for job in jobs]
        requests = [w.value for w in done if w.kind == "request"] + [max(w.value) for w in done
                                                                     if w.kind == "requests" and w.value]
        decoded = [s for w in done if w.kind == "decoded" for s in w.value]
        updated = [s for w in done if w.kind == "redecoded" for s in w.value[0]]
        inserted = [s for w in done if w.kind == "redecoded" for s in w.value[1]]
        if requests:
            self.acknowledged_through = max(self.acknowledged_through, *requests)
            self._notify(self._request_listeners, self.acknowledged_through)
        if any(w.kind == "decoded" for w in done):
            with self._decoded:
                self.decoded_through = self._writer.execute("SELECT decoded_through FROM pipeline").fetchone()[0]
                self._decoded.notify_all()
        self._recount(done, decoded + inserted, bool(updated))
        if decoded or inserted:
            self._tell(Change("insert", decoded + inserted, counts=self.totals(),
                              decoded_through=self.decoded_through))
        if updated:
            self._tell(Change("update", updated, counts=self.totals()))
        if any(w.removed for w in done if w.kind != "deleted"):
            oldest = self._writer.execute("SELECT coalesce(min(id), 0) FROM events").fetchone()[0]
            self._tell(Change("pruned", counts=self.totals(), oldest_id=oldest))
        if any(w.kind == "deleted" for w in done):
            self._tell(Change("delete", counts=self.totals()))

    def _recount(self, done: list[Written], new: list[Summary], updated: bool) -> None:
        """Keep Micro's totals in step with what was just committed."""
        if updated or any(w.cleared for w in done):  # rare: re-validation may move rows between sides; a reset
            self._counts = self._count_rows(self._writer)
            return
        counts = self._counts
        removed, removed_good = sum(w.removed for w in done), sum(w.removed_good for w in done)
        counts["total"] += len(new) - removed
        counts["good"] += sum(s.valid for s in new) - removed_good
        counts["bad"] = counts["total"] - counts["good"]
        counts["unverified"] += (sum(s.valid and s.unverified for s in new)
                                 - sum(w.removed_unverified for w in done))

    def wait_decoded(self, request_id: int, timeout: float) -> bool:
        """Wait until the pipeline has decoded every request up to `request_id`; False if it has not by `timeout`."""
        with self._decoded:
            return self._decoded.wait_for(lambda: self.decoded_through >= request_id, timeout=timeout)

    # -- retention and deletes ---------------------------------------------------------------------------------

    def _prune(self, conn: sqlite3.Connection, written: Written, now: bool = False) -> Written:
        """Apply retention inside the current write transaction (at most PRUNE_ROWS rows); note in `written` what
        it deleted, and in `retention_behind` whether more is due. `now`: check every limit, whatever the throttles."""
        behind = False
        # The kept count says how many rows are over the limit (finding the cutoff row by an OFFSET walked
        # max_events index entries: ~1 s at a million).
        excess = read_indexes.totals(conn)["total"] - self.max_events if self.max_events else 0
        if excess > 0:
            behind |= self._delete_oldest(conn, "1", [], "id", written, min(excess, PRUNE_ROWS))
        if self.max_bytes:  # three PRAGMAs per write; rows are counted only once over the limit
            behind |= self._prune_bytes(conn, written)
        if self.max_age and (now or time.monotonic() - self._last_age_prune > 1.0):
            self._last_age_prune = time.monotonic()
            oldest = int((time.time() - self.max_age) * 1000)
            behind |= self._delete_oldest(conn, "collector_tstamp < ?", [oldest], "collector_tstamp", written)
        self.retention_behind = behind
        return written

    def prune(self) -> bool:
        """Delete the next rows retention wants gone when the last write left some (a file opened over its limits,
        a limit lowered); False when none were left (the pipeline calls it when idle)."""
        if not self.retention_behind:
            return False
        return self._group.submit(lambda conn: self._prune(conn, Written("pruned"), now=True)).removed > 0

    def _delete_oldest(self, conn: sqlite3.Connection, where: str, params: list[Any], order: str,
                       written: Written, limit: int | None = None) -> bool:
        """Delete the first `limit` (at most PRUNE_ROWS) event rows in `order` matching `where`; return whether more
        may be due (as many as PRUNE_ROWS went)."""
        deleted = self._delete_where(conn, f"events.id IN (SELECT id FROM events WHERE {where} ORDER BY {order} "
                                           "LIMIT ?)", [*params, limit or PRUNE_ROWS], written)
        return deleted == PRUNE_ROWS

    def _prune_bytes(self, conn: sqlite3.Connection, written: Written) -> bool:
        """Delete the oldest events while the database's used pages exceed max_bytes (freed pages are reused), at
        most PRUNE_ROWS of them; return whether more are due."""
        used = self.used_bytes(conn)
        if used <= self.max_bytes:
            return False
        total = read_indexes.totals(conn)["total"]
        # Rows are about the same size on average: remove the share of them that brings the used bytes under target.
        doomed = min(PRUNE_ROWS, max(1, int(total * (1 - self.max_bytes * BYTES_TARGET / used)) + 1))
        cutoff = conn.execute("SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?", (doomed - 1,)).fetchone()
        if cutoff:
            self._delete_where(conn, "events.id <= ?", [cutoff[0]], written)
            free_text.reclaim(conn)  # the index keeps a deleted row's entries until its segments merge
        # Still over (rows differ in size), and deleting freed pages: the idle pipeline goes on; a delete that freed
        # nothing waits for the next write.
        after = self.used_bytes(conn) if cutoff is not None else used
        return self.max_bytes < after < used

    @staticmethod
    def used_bytes(conn: sqlite3.Connection) -> int:
        """Return the bytes of the database file's pages that hold data (the free ones are not counted)."""
        pages, free, size = (conn.execute(f"PRAGMA {name}").fetchone()[0]
                             for name in ("page_count", "freelist_count", "page_size"))
        return (pages - free) * size

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database after a long read held it back; the next write then starts
        the log over and cuts the file back to JOURNAL_SIZE_LIMIT. Passive: it never waits for a reader."""
        if self._group is not None:
            with self._write_lock:
                self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _delete_where(self, conn: sqlite3.Connection, where: str, params: list[Any], written: Written) -> int:
        """Delete event rows matching `where`, their entities and failures, and requests left with no rows; return
        how many event rows."""
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed_rows (id INTEGER PRIMARY KEY, request_id INTEGER, "
                     "valid INTEGER, unverified INTEGER)")
        conn.execute("DELETE FROM doomed_rows")
        conn.execute(f"INSERT INTO doomed_rows SELECT id, request_id, valid, valid AND unverified FROM events "
                     f"WHERE {where}", params)
        count, good, unverified = conn.execute(
            "SELECT count(*), coalesce(sum(valid), 0), coalesce(sum(unverified), 0) FROM doomed_rows").fetchone()
        written.removed += count
        written.removed_good += good
        written.removed_unverified += unverified
        if count:
            free_text.forget(conn, "doomed_rows")
            read_indexes.forget(conn, "SELECT id FROM doomed_rows")
            conn.execute("DELETE FROM entities WHERE event_row IN (SELECT id FROM doomed_rows)")
            conn.execute("DELETE FROM failures WHERE event_row IN (SELECT id FROM doomed_rows)")
            conn.execute("DELETE FROM events WHERE id IN (SELECT id FROM doomed_rows)")
            orphaned = ("id IN (SELECT request_id FROM doomed_rows) "
                        "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = requests.id)")
            conn.execute(f"DELETE FROM requests WHERE {orphaned}")
        return count

    def delete(self, flt: Filter | None = None) -> int:
        """Delete the event rows a filter matches (everything, received requests too, without one); tell listeners."""

        def write(conn: sqlite3.Connection) -> Written:
            if not flt:
                count = read_indexes.totals(conn)["total"]
                for table in ("entities", "failures", "events", "requests"):
                    conn.execute(f"DELETE FROM {table}")
                read_indexes.clear(conn)
                free_text.clear(conn)
                return Written("deleted", cleared=True, removed=count)
            where, params = compile_filter(flt)
            written = Written("deleted")
            self._delete_where(conn, where, params, written)
            return written

        return self._group.submit(write).removed

    # -- reads -------------------------------------------------------------------------------------------------

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a read query built by this package."""
        return self.reader.execute(sql, tuple(params)).fetchall()

    def _iterate(self, sql: str, params: Iterable[Any] = (), batch: int = 500) -> Iterator[sqlite3.Row]:
        """Yield the rows of a read query in batches, so exports run in constant memory."""
        cur = self.reader.execute(sql, tuple(params))
        while found := cur.fetchmany(batch):
            yield from found

    def summaries(self, ids: list[int]) -> list[Summary]:
        """Return the summaries of the given rows, in id order."""
        if not ids:
            return []
        found = self._query(f"SELECT {SUMMARY_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?)) "
                            "ORDER BY id", [rows.dumps(list(ids))])
        return [Summary.from_row(r) for r in found]

    def last_id(self) -> int:
        """Return the newest row id ever handed out (0 when none), the cursor for 'from now on'."""
        return rows.newest_row(self.reader)

    def counts(self) -> dict[str, int]:
        """Return Micro's summary: total, good and bad rows (as of the last commit)."""
        totals = self.totals()
        return {"total": totals["total"], "good": totals["good"], "bad": totals["bad"]}

    def totals(self) -> dict[str, int]:
        """Return Micro's summary and how many of the good rows could not be checked (`unverified`)."""
        return dict(self._counts) if not self.readonly else self._count_rows(self.reader)

    @staticmethod
    def _count_rows(conn: sqlite3.Connection) -> dict[str, int]:
        return read_indexes.totals(conn)  # kept by every write: no count of the table

    def events(self, ids: list[int], full: bool = True) -> list[StoredEvent]:
        """Return stored events in id order; `full` adds each one's request, entities and failures."""
        if not ids:
            return []
        found = [StoredEvent.from_row(r) for r in self._query(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            [rows.dumps(list(ids))])]
        if full:
            self._complete(found)
        return found

    def _complete(self, events: list[StoredEvent]) -> None:
        """Attach each event's request, entities and failures."""
        ids = rows.dumps([e.id for e in events])
        requests = self.requests(e.request_id for e in events)
        entities: dict[int, list[StoredEntity]] = {}
        for r in self._query("SELECT * FROM entities WHERE event_row IN (SELECT value FROM json_each(?)) "
                             "ORDER BY event_row, kind != 'unstruct', position", [ids]):
            entities.setdefault(r["event_row"], []).append(StoredEntity.from_row(r))
        failures: dict[int, list[StoredFailure]] = {}
        for r in self._query("SELECT * FROM failures WHERE event_row IN (SELECT value FROM json_each(?)) ORDER BY id",
                             [ids]):
            failures.setdefault(r["event_row"], []).append(StoredFailure.from_row(r))
        for event in events:
            event.request = requests.get(event.request_id)
            event.entities = entities.get(event.id, [])
            event.failures = failures.get(event.id, [])

    def requests(self, ids: Iterable[int]) -> dict[int, StoredRequest]:
        """Return stored requests by id."""
        found = self._query("SELECT * FROM requests WHERE id IN (SELECT value FROM json_each(?))",
                            [rows.dumps(sorted(set(ids)))])
        return {r["id"]: StoredRequest.from_row(r) for r in found}
