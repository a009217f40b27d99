"""The SQLite schema as numbered migration steps, and the promoted columns kept in step with columns.PROMOTED.

A database remembers the last step it ran in `schema_version`; opening it runs the steps after that one, each in
its own transaction (as Mailpit does). A release that changes the tables adds a step at the end of MIGRATIONS and
never edits an old one. A database made before versioning (release 0.1) has the tables of step 1 and no version.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable

from ..columns import GITLAB_SUMMARY, PROMOTED
from . import free_text, packing, read_indexes

# Columns of the events table besides the promoted ones that get an index of their own.
ALSO_INDEXED = ("event_id", "schema", "collector_tstamp", "valid", "request_id")


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (executescript would commit the migration's transaction half-way)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _step_1_tables(conn: sqlite3.Connection) -> None:
    """The tables of release 0.1: requests as received, events, entities, failures, cached schemas."""
    _run(conn, """
        CREATE TABLE IF NOT EXISTS requests (
            id INTEGER PRIMARY KEY, received_at INTEGER, method TEXT, path TEXT, vendor TEXT, version TEXT,
            querystring TEXT, body BLOB, body_size INTEGER, content_type TEXT, headers TEXT, ip TEXT,
            useragent TEXT, referer TEXT, hostname TEXT, network_userid TEXT);
        -- AUTOINCREMENT keeps row ids growing after deletes, so an id is a cursor that never points backwards.
        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
            event_id TEXT, valid INTEGER NOT NULL, unverified INTEGER NOT NULL DEFAULT 0,
            collector_tstamp INTEGER NOT NULL, schema TEXT,
            app_id TEXT, platform TEXT, event TEXT, event_name TEXT, event_vendor TEXT, name_tracker TEXT,
            user_id TEXT, domain_userid TEXT, network_userid TEXT, se_category TEXT, se_action TEXT, se_label TEXT,
            event_json TEXT, parameters TEXT, contexts TEXT, problems TEXT);
        CREATE TABLE IF NOT EXISTS entities (
            id INTEGER PRIMARY KEY, event_row INTEGER REFERENCES events(id), kind TEXT, position INTEGER,
            schema TEXT, vendor TEXT, name TEXT, format TEXT, version TEXT, data TEXT, status TEXT, note TEXT);
        CREATE TABLE IF NOT EXISTS failures (
            id INTEGER PRIMARY KEY, request_id INTEGER REFERENCES requests(id), event_row INTEGER REFERENCES events(id),
            type TEXT, bad_row TEXT, problems TEXT);
        CREATE TABLE IF NOT EXISTS schemas (uri TEXT PRIMARY KEY, body TEXT, source TEXT, fetched_at INTEGER);
        CREATE INDEX IF NOT EXISTS idx_entities_event_row ON entities (event_row);
        CREATE INDEX IF NOT EXISTS idx_entities_name_vendor ON entities (name, vendor);
        CREATE INDEX IF NOT EXISTS idx_failures_event_row ON failures (event_row);
        CREATE INDEX IF NOT EXISTS idx_failures_request_id ON failures (request_id);
    """)


def _step_2_decoded_after_commit(conn: sqlite3.Connection) -> None:
    """Requests are decoded after they are acknowledged: request ids never reused, the pipeline's cursor, and
    the summary columns a list row shows without a second query (se_value, the GitLab ids)."""
    # AUTOINCREMENT, so that after a reset a new request never takes the id of one the pipeline still holds.
    columns = ", ".join(r[1] for r in conn.execute("PRAGMA table_info(requests)"))
    _run(conn, f"""
        CREATE TABLE requests_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER, method TEXT, path TEXT, vendor TEXT,
            version TEXT, querystring TEXT, body BLOB, body_size INTEGER, content_type TEXT, headers TEXT, ip TEXT,
            useragent TEXT, referer TEXT, hostname TEXT, network_userid TEXT);
        INSERT INTO requests_v2 ({columns}) SELECT {columns} FROM requests;
        DROP TABLE requests;
        ALTER TABLE requests_v2 RENAME TO requests;
    """)
    conn.execute("CREATE TABLE pipeline (id INTEGER PRIMARY KEY CHECK (id = 1), decoded_through INTEGER NOT NULL)")
    # Everything stored before this step was decoded before it was stored.
    conn.execute("INSERT INTO pipeline (id, decoded_through) SELECT 1, coalesce(max(id), 0) FROM requests")
    conn.execute("ALTER TABLE events ADD COLUMN se_value REAL")
    conn.execute("ALTER TABLE events ADD COLUMN gitlab TEXT")
    conn.execute("UPDATE events SET se_value = json_extract(event_json, '$.se_value')")
    # json_patch drops the keys whose value is null, as the pipeline's summaries do.
    pairs = ", ".join(f"'{k}', json_extract(n.data, '$.{k}')" for k in GITLAB_SUMMARY)
    conn.execute(f"""
        UPDATE events SET gitlab = (
            SELECT json_patch('{{}}', json_object({pairs}))
            FROM entities n WHERE n.event_row = events.id AND n.name = 'gitlab_standard' AND n.kind = 'context'
            ORDER BY n.position LIMIT 1)""")
    conn.execute("CREATE INDEX idx_entities_unverified ON entities (schema) WHERE status = 'unverified'")


def _step_3_free_text_index(conn: sqlite3.Connection) -> None:
    """Free text found through FTS5 trigram indexes of each event row's text and each request's, filled from the
    stored rows. Contentless (no second copy of the text) and detail=none (which rows hold a trigram, not where):
    a search asks for rows holding all of its trigrams, then checks the substring on those rows only."""
    for index in ("event_text", "request_text"):
        conn.execute(f"CREATE VIRTUAL TABLE {index} USING fts5(text, content='', detail='none', tokenize='trigram')")
    # The same text as free_text.EVENT_TEXT and REQUEST_TEXT, from rows packed (step 4) or not: unpack() passes text
    # through, and a request's headers say whether its body was packed (a BLOB from the first release on).
    packing.register(conn)
    body = "CASE WHEN typeof(requests.headers) = 'blob' THEN unpack(requests.body) ELSE requests.body END"
    request_text = f"coalesce({packing.unpacked('requests.querystring')}, '') || char(10) || " \
                   f"coalesce(CAST({body} AS TEXT), '')"
    free_text.index_text(conn, "events", "1", ())
    # A request is in the index exactly while it has event rows (the delete paths take it out with its last one).
    free_text.index_text(conn, "requests", "EXISTS (SELECT 1 FROM events e WHERE e.request_id = requests.id)", (),
                    text=request_text)


def _step_4_packed(conn: sqlite3.Connection) -> None:
    """Pack what is read only on demand (store/packing.py): a request's query string, body and headers (its user
    agent and referer inside them), an event's parameters, a failure's bad row. The text is the same, so the
    free-text index stays as it is. The tables are copied rather than updated in place: rows shrunk in place keep
    their pages (new rows go after the last one), a copy frees them for the rows to come."""
    packing.register(conn)
    conn.create_function("pack", 1, packing.pack, deterministic=True)
    conn.create_function("pack_headers", 3, lambda headers, useragent, referer: packing.pack_headers(
        json.loads(headers) if headers else [], useragent, referer), deterministic=True)
    # A row written before this step has its headers as text; one written after, packed (a BLOB).
    old = "typeof(headers) = 'text'"
    _copied(conn, "requests", {
        "querystring": f"CASE WHEN {old} THEN pack(querystring) ELSE querystring END",
        "body": f"CASE WHEN {old} THEN pack(body) ELSE body END",
        "headers": f"CASE WHEN {old} THEN pack_headers(headers, useragent, referer) ELSE headers END",
        "useragent": f"CASE WHEN {old} THEN NULL ELSE useragent END",
        "referer": f"CASE WHEN {old} THEN NULL ELSE referer END"})
    _copied(conn, "events", {"parameters": "CASE WHEN typeof(parameters) = 'text' THEN pack(parameters) "
                                           "ELSE parameters END"})
    conn.execute("UPDATE failures SET bad_row = pack(bad_row) WHERE typeof(bad_row) = 'text'")


def _copied(conn: sqlite3.Connection, table: str, replaced: dict[str, str]) -> None:
    """Copy a table's rows (ids kept) into a new table of the same definition, some columns replaced by SQL
    expressions, then put the new one in its place with the same indexes and AUTOINCREMENT high-water mark."""
    definition = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
    indexes = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                          "AND sql IS NOT NULL", (table,))]
    high = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    conn.execute(re.sub(r'^CREATE TABLE (IF NOT EXISTS )?"?\w+"?', f"CREATE TABLE {table}_copy", definition))
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(replaced.get(c, f'"{c}"') for c in columns)
    conn.execute(f"INSERT INTO {table}_copy ({names}) SELECT {values} FROM {table} ORDER BY id")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {table}_copy RENAME TO {table}")
    for index in indexes:
        conn.execute(index)
    if high is not None:
        conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, max(?, (SELECT coalesce(max(id), 0) FROM "
                     f"{table})))", (table, high[0]))


def _step_5_read_indexes(conn: sqlite3.Connection) -> None:
    """What the reads at a million events need (issue 15): an index of entity values and kept counts
    (store/read_indexes.py), filled from the stored rows; a partial index of the unverified rows, so that
    is:unverified is a lookup; entities indexed by (name, event_row) instead of (name, vendor); the failures'
    request_id index, which no query uses, dropped."""
    read_indexes.create(conn)
    read_indexes.fill(conn)
    # Only the rows not fully checked, in row order, for is:unverified (an index of (valid, unverified) would not
    # keep Micro's good and bad lists in row order, as the index on valid alone does: it sorted every valid row).
    conn.execute("CREATE INDEX IF NOT EXISTS idx_events_unverified ON events (unverified) WHERE unverified = 1")
    conn.execute("DROP INDEX IF EXISTS idx_failures_request_id")
    # has: and the entity filters read the event rows of every entity of a name: with event_row in the index they
    # never visit the entities' rows (their data); no query names the vendor.
    conn.execute("DROP INDEX IF EXISTS idx_entities_name_vendor")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_entities_name_event_row ON entities (name, event_row)")


def _step_6_invalid_by_app(conn: sqlite3.Connection) -> None:
    """Events indexed by (valid, app_id), so that an app's invalid events (`app:shop is:invalid`) are a lookup in row
    order: the index on valid alone walked every invalid row and read its app_id, the index on app_id every row of
    the app. Neither single-column index is replaced: each keeps its own filter's rows in row order."""
    conn.execute("CREATE INDEX IF NOT EXISTS idx_events_valid_app_id ON events (valid, app_id)")


def _step_7_event_json_packed(conn: sqlite3.Connection) -> None:
    """Events written from now on keep their JSON packed (store/packing.py, FORMAT_DEFLATE_EVENT: 1,425 bytes of
    the seeded mix's JSON become 416). No table changes and the rows written before stay text, which every read
    takes as well: the step is the version an earlier release, which would read packed JSON as text, refuses."""


def _step_8_free_text_behind(conn: sqlite3.Connection) -> None:
    """The free-text indexes are filled behind a cursor instead of with each row (store/free_text.py): every row
    stored so far was indexed with it."""
    if "indexed_through" not in {r[1] for r in conn.execute("PRAGMA table_info(pipeline)")}:
        conn.execute("ALTER TABLE pipeline ADD COLUMN indexed_through INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE pipeline SET indexed_through = (SELECT coalesce(max(id), 0) FROM events)")


def _step_9_counted_per_write(conn: sqlite3.Connection) -> None:
    """Inserted rows are counted once per write (read_indexes.count_rows_after) instead of by a trigger per row."""
    conn.execute("DROP TRIGGER IF EXISTS event_counts_insert")


def _step_10_values_written_by_the_writes(conn: sqlite3.Connection) -> None:
    """entity_values is filled by the writes (entity_leaves.add_values, from leaves computed before the write
    transaction) instead of the trigger step 5 made, which ran json_tree twice per entity in the one writer thread
    every write waits for. What it holds is the same, so it stays as it is."""
    conn.execute("DROP TRIGGER IF EXISTS entity_values_insert")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_step_1_tables, _step_2_decoded_after_commit,
                                                          _step_3_free_text_index, _step_4_packed,
                                                          _step_5_read_indexes, _step_6_invalid_by_app,
                                                          _step_7_event_json_packed, _step_8_free_text_behind,
                                                          _step_9_counted_per_write,
                                                          _step_10_values_written_by_the_writes]
VERSION = len(MIGRATIONS)


class UnusableDatabase(RuntimeError):
    """The database file cannot be used as it is; the message is one sentence naming the file and the fix."""


# Columns only release 0.1's tables have together: a file without a version whose tables lack them is not ours.
RELEASE_0_1_COLUMNS = {"requests": {"querystring", "body", "body_size"},
                       "events": {"request_id", "valid", "collector_tstamp", "event_json"}}


def version(conn: sqlite3.Connection) -> int:
    """Return the last migration step this database ran (0 for a new file, 1 for a release-0.1 database)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" in tables:
        return conn.execute("SELECT version FROM schema_version").fetchone()[0]
    if not tables:
        return 0
    for table, columns in RELEASE_0_1_COLUMNS.items():
        if not columns <= {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            raise UnusableDatabase("it holds another program's tables (not micro-dashboard's)")
    return 1


def migrate(conn: sqlite3.Connection) -> int:
    """Run the steps this database has not run yet, then add any promoted column it lacks; return the version."""
    current = version(conn)
    if current > VERSION:
        raise UnusableDatabase(f"it was written by a newer micro-dashboard (schema {current}, this release knows "
                               f"{VERSION}); upgrade micro-dashboard")
    for number in range(current + 1, VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number - 1](conn)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    _promote_columns(conn)
    return VERSION


def _promote_columns(conn: sqlite3.Connection) -> None:
    """Give every name in columns.PROMOTED a column, filled from the stored events, so promoting is one edit."""
    existing = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    missing = [name for name in PROMOTED if name not in existing]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in missing:
            conn.execute(f'ALTER TABLE events ADD COLUMN "{name}" TEXT')
            conn.execute(f"UPDATE events SET \"{name}\" = json_extract({packing.unpacked('event_json')}, '$.{name}')")
        for name in (*PROMOTED, *ALSO_INDEXED):
            conn.execute(f'CREATE INDEX IF NOT EXISTS "idx_events_{name}" ON events ("{name}")')
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
