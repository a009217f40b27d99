"""The free-text indexes, filled behind a cursor: the event rows up to `pipeline.indexed_through` are indexed.

Two FTS5 trigram indexes (schema step 3): `event_text` of each event row's text (its parameters and every entity's
data) and `request_text` of each request's text as received. They are not written with the rows: a row becomes
visible as soon as it is decoded, and the pipeline worker indexes the rows behind it in batches of its own
(`catch_up`) when it has nothing to decode, and more than it stores while over MAX_UNINDEXED rows wait. A free-text
search reads the indexes for the rows up to the cursor and checks every row after it (`UNINDEXED_ROWS`), so it finds
the same rows either way. On the collector's hot path this took the FTS5 inserts (two thirds of a page view's SQL)
out of the writer's transaction that makes an event visible.

A request is in `request_text` exactly while it has an event row up to the cursor. The indexes are contentless (no
second copy of the text), so taking a row out needs its text again: build it only from EVENT_TEXT and REQUEST_TEXT.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .packing import unpacked

# The text free-text search looks in, per event row and per request, as SQL over `events` and `requests`.
# (Packing, migration step 4, changed how the columns are stored, not the text: step 3 indexed the same text.)
EVENT_TEXT = (f"coalesce({unpacked('events.parameters')}, '') || char(10) || coalesce((SELECT group_concat(data, "
              "char(10)) FROM (SELECT n.data FROM entities n WHERE n.event_row = events.id ORDER BY n.id)), '')")
REQUEST_TEXT = (f"coalesce({unpacked('requests.querystring')}, '') || char(10) || "
                f"coalesce({unpacked('requests.body')}, '')")
INDEXED_THROUGH = "(SELECT indexed_through FROM pipeline)"
# The event rows not in the indexes yet: every free-text search checks them all.
UNINDEXED_ROWS = f"SELECT id FROM events WHERE id > {INDEXED_THROUGH}"
# Rows indexed per transaction: one batch keeps the writer (which the collector's requests wait for) ~10-30 ms.
BATCH = 500
# Rows waiting beyond which the pipeline indexes more than it stores, so that under load that never pauses a search
# checks at most about this many rows one by one: each costs ~37 us (its parameters, entities and request read and
# inflated), measured on a million events: free text 75 ms with the index caught up, 147 ms 1,000 rows behind, 263 ms
# 5,000 behind.
MAX_UNINDEXED = 2_000


def index_text(conn: sqlite3.Connection, table: str, where: str, params: list[Any] | tuple[Any, ...],
               remove: bool = False, text: str | None = None) -> None:
    """Add the rows of `events` or `requests` matching `where` to their free-text index (or take them out);
    `text` replaces the SQL of their text (for a migration step that runs before their columns were packed)."""
    default, index = (EVENT_TEXT, "event_text") if table == "events" else (REQUEST_TEXT, "request_text")
    text = text or default
    command = "'delete', " if remove else ""
    columns = f"{index}, rowid, text" if remove else "rowid, text"
    conn.execute(f"INSERT INTO {index} ({columns}) SELECT {command}{table}.id, {text} FROM {table} WHERE {where}",
                 params)


def catch_up(conn: sqlite3.Connection) -> bool:
    """Index the next BATCH event rows after the cursor (and the requests whose first row they hold), moving the
    cursor past them; False when there was nothing to index."""
    start = conn.execute(f"SELECT {INDEXED_THROUGH}").fetchone()[0]
    found = conn.execute("SELECT max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?)",
                         (start, BATCH)).fetchone()[0]
    if found is None:
        return False
    index_text(conn, "events", "id > ? AND id <= ?", (start, found))
    index_text(conn, "requests", "id IN (SELECT e.request_id FROM events e WHERE e.id > ? AND e.id <= ?) AND NOT "
                                 "EXISTS (SELECT 1 FROM events o WHERE o.request_id = requests.id AND o.id <= ?)",
               (start, found, start))
    conn.execute("UPDATE pipeline SET indexed_through = ?", (found,))
    return True


def reindex_event(conn: sqlite3.Connection, row: int, remove: bool) -> None:
    """Take an indexed row's text out of the index (before it changes) or put it back (after); nothing for a row
    after the cursor, which the pipeline indexes as it is when it gets there."""
    index_text(conn, "events", f"id = ? AND id <= {INDEXED_THROUGH}", (row,), remove=remove)


def forget(conn: sqlite3.Connection, doomed: str) -> None:
    """Take out the indexed rows about to be deleted (table `doomed`: id, request_id), and the requests left with no
    indexed row once they are."""
    index_text(conn, "events", f"id IN (SELECT id FROM {doomed}) AND id <= {INDEXED_THROUGH}", (), remove=True)
    index_text(conn, "requests", f"id IN (SELECT d.request_id FROM {doomed} d WHERE d.id <= {INDEXED_THROUGH}) "
                                 f"AND NOT EXISTS (SELECT 1 FROM events o WHERE o.request_id = requests.id "
                                 f"AND o.id <= {INDEXED_THROUGH} AND o.id NOT IN (SELECT id FROM {doomed}))", (),
               remove=True)


# Index pages merged after retention deleted rows to make room (FTS5 'merge' with a negative count merges even two
# segments): a contentless index records a delete as one more entry per trigram, which takes space until a merge.
MERGE_PAGES = 200


def reclaim(conn: sqlite3.Connection) -> None:
    """Merge some of both indexes' segments, so that the entries of deleted rows give their space back."""
    for index in ("event_text", "request_text"):
        conn.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('merge', ?)", (-MERGE_PAGES,))


def clear(conn: sqlite3.Connection) -> None:
    """Empty both indexes (everything is being deleted; the cursor stays, row ids are never reused)."""
    for index in ("event_text", "request_text"):  # contentless FTS5 tables are emptied by a command
        conn.execute(f"INSERT INTO {index} ({index}) VALUES ('delete-all')")
