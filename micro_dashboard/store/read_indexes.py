"""Tables the reads are answered from instead of the events, kept in step with every write.

`entity_values` holds each scalar leaf of each entity's data once per event row, under the entity's name and the
leaf's JSON path (interned in `entity_paths`), so an entity-field equality or `__in` is an index lookup instead of a
json_extract of every entity of that name. `event_counts` holds the counts /api/stats and Micro's totals show
(everything, by event, by app, by schema, by minute), so they are read instead of counted.

entity_values is filled by the writes themselves (store/entity_leaves.py, from leaves computed in Python before the
write transaction, named exactly as `leaves_sql` here, which fills the index on upgrade and forgets it on delete). The
counts of inserted rows are
added once per write (`count_rows_after`, by the store's two paths that insert event rows: one grouped statement per
grouping instead of a trigger's five upserts per row, measured 10x cheaper a batch), and updates keep them through a
trigger. Deletes go through `forget` and `clear` here instead of DELETE triggers, which would cost a reset SQLite's
truncate optimisation."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

# How a leaf's value is kept: `t` text, `n` a JSON number, `b` a JSON boolean (as the text true/false), and `c` the
# number a numeric text holds (a second row beside its `t` row), so that every equality the filters define
# (filter_sql._Value.equals) is one lookup per (kind, value) pair.
TEXT, NUMBER, BOOLEAN, NUMERIC_TEXT = "t", "n", "b", "c"
# Text SQLite's CAST reads as a number: the same test filter_sql._numeric makes.
_NUMERIC_TEXT = "(t.atom GLOB '*[0-9]*' AND t.atom NOT GLOB '*[^0-9.eE+-]*')"


def leaves_sql(data: str, name: str, kind: str, row: str, source: str = "", where: str = "1") -> str:
    """Return a SELECT of (path_id, kind, value, event_row) for the scalar leaves of entity data `data`.

    `source` adds tables to the FROM clause (the entities being forgotten) and `where` conditions on them. CROSS JOIN
    keeps SQLite from reading the paths first and parsing the data once per path of that entity name."""
    return (
        f"SELECT p.id, CASE WHEN d.copy = 2 THEN '{NUMERIC_TEXT}' WHEN t.type = 'text' THEN '{TEXT}' "
        f"WHEN t.type IN ('true', 'false') THEN '{BOOLEAN}' ELSE '{NUMBER}' END, "
        "CASE WHEN d.copy = 2 THEN CAST(t.atom AS REAL) WHEN t.type IN ('true', 'false') THEN t.type ELSE t.atom END, "
        f"{row} FROM {source} json_tree({data}) t CROSS JOIN (SELECT 1 AS copy UNION ALL SELECT 2) d "
        "CROSS JOIN entity_paths p "
        f"WHERE {where} AND t.type IN ('text', 'integer', 'real', 'true', 'false') "
        f"AND (d.copy = 1 OR (t.type = 'text' AND {_NUMERIC_TEXT})) "
        f"AND p.name = {name} AND p.path = t.fullkey AND p.unstruct = ({kind} = 'unstruct')")


def paths_of_entities_sql(where: str) -> str:
    """Return the INSERT interning the leaf paths of the entities `entities n` matching `where` (json_tree's)."""
    return ("INSERT OR IGNORE INTO entity_paths (name, path, unstruct) SELECT DISTINCT n.name, t.fullkey, "
            "n.kind = 'unstruct' FROM entities n, json_tree(n.data) t WHERE json_valid(n.data) AND n.name IS NOT NULL "
            f"AND t.type IN ('text', 'integer', 'real', 'true', 'false') AND ({where})")


# Groupings of event_counts -> the SQL of the value an events row (`r`: NEW, OLD or a table) counts under.
GROUPINGS = {
    "all": "0",
    "event": "coalesce({r}.se_action, {r}.event_name, {r}.event)",
    "app": "{r}.app_id",
    "schema": "{r}.schema",
    "minute": "{r}.collector_tstamp / 60000 * 60000",
}
MINUTE = 60_000
# Columns whose distinct values event_counts lists (column -> grouping): a substring or a range on them is checked on
# those values only (filter_sql._CountedColumn).
COUNTED_COLUMNS = {"app_id": "app", "schema": "schema"}
# event_counts' key cannot hold NULL (a primary key of a WITHOUT ROWID table): a NULL value is kept as this blob,
# which no events column ever holds.
NULL_VALUE = "X''"
_UPSERT = ("ON CONFLICT (grouping, value) DO UPDATE SET total = total + excluded.total, "
           "valid = valid + excluded.valid, unverified = unverified + excluded.unverified")


def _count_rows(r: str, sign: str) -> str:
    """Return the VALUES rows adding (sign '') or removing (sign '-') one events row `r` to every grouping."""
    return ", ".join(f"('{g}', coalesce({expr.format(r=r)}, {NULL_VALUE}), {sign}1, {sign}{r}.valid, "
                     f"{sign}({r}.valid AND {r}.unverified))" for g, expr in GROUPINGS.items())


def create(conn: sqlite3.Connection) -> None:
    """Create the tables and the triggers that keep the counts, if missing."""
    create_value_index(conn)
    create_counts(conn)


def create_value_index(conn: sqlite3.Connection) -> None:
    """Create the index of entity values, if missing (the writes fill it: add_values)."""
    conn.execute("CREATE TABLE IF NOT EXISTS entity_paths (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "path TEXT NOT NULL, unstruct INTEGER NOT NULL, UNIQUE (name, path, unstruct))")
    # No type on `value`: texts and numbers are kept as they are, never converted into each other.
    conn.execute("CREATE TABLE IF NOT EXISTS entity_values (path_id INTEGER NOT NULL, kind TEXT NOT NULL, "
                 "value NOT NULL, event_row INTEGER NOT NULL, PRIMARY KEY (path_id, kind, value, event_row)) "
                 "WITHOUT ROWID")


def create_counts(conn: sqlite3.Connection) -> None:
    """Create the kept counts and the trigger on `events` that keeps them on updates, if missing (inserted rows are
    counted by count_rows_after)."""
    conn.execute("CREATE TABLE IF NOT EXISTS event_counts (grouping TEXT NOT NULL, value NOT NULL, "
                 "total INTEGER NOT NULL, valid INTEGER NOT NULL, unverified INTEGER NOT NULL, "
                 "PRIMARY KEY (grouping, value)) WITHOUT ROWID")
    columns = sorted({"valid", "unverified", "se_action", "event_name", "event", "app_id", "schema",
                      "collector_tstamp"})
    conn.execute(f"""
        CREATE TRIGGER IF NOT EXISTS event_counts_update AFTER UPDATE OF {", ".join(columns)} ON events BEGIN
            INSERT INTO event_counts (grouping, value, total, valid, unverified) VALUES {_count_rows("OLD", "-")}
                {_UPSERT};
            INSERT INTO event_counts (grouping, value, total, valid, unverified) VALUES {_count_rows("NEW", "")}
                {_UPSERT};
        END""")


def fill(conn: sqlite3.Connection) -> None:
    """Fill the tables from the rows already stored (the migration that creates them; run again, the same)."""
    clear(conn)
    conn.execute(paths_of_entities_sql("1"))
    conn.execute("INSERT OR IGNORE INTO entity_values (path_id, kind, value, event_row) "
                 + leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                              "json_valid(n.data)"))
    _add_counts(conn, "1", [], "")


def _add_counts(conn: sqlite3.Connection, where: str, params: list[Any], sign: str) -> None:
    """Add (sign '') or remove (sign '-') the counts of the events rows matching `where`."""
    for grouping, expr in GROUPINGS.items():
        conn.execute(
            f"INSERT INTO event_counts (grouping, value, total, valid, unverified) SELECT ?, "
            f"coalesce({expr.format(r='events')}, {NULL_VALUE}) AS v, {sign}count(*), {sign}sum(valid), "
            f"{sign}sum(valid AND unverified) FROM events WHERE {where} GROUP BY v {_UPSERT}", [grouping, *params])


def count_rows_after(conn: sqlite3.Connection, row: int) -> None:
    """Add the counts of the event rows after `row` (those the current write inserted)."""
    _add_counts(conn, "events.id > ?", [row], "")


FORGET_CHUNK = 10_000  # entity_values rows read, then deleted, at a time (a big delete stays in bounded memory)


def forget_entities(conn: sqlite3.Connection, where: str, params: list[Any] | tuple[Any, ...]) -> None:
    """Take the entities matching `where` (over `entities n`) out of entity_values, before they are deleted.

    Each leaf is deleted by its whole key. One DELETE ... WHERE (path_id, kind, value, event_row) IN (leaves) used
    the key's first column only, walking every value of those paths: 1.4 s for 1,000 rows of a million events."""
    found = conn.execute(leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                                    f"json_valid(n.data) AND ({where})"), list(params))
    while chunk := found.fetchmany(FORGET_CHUNK):
        conn.executemany("DELETE FROM entity_values WHERE path_id = ? AND kind = ? AND value = ? AND event_row = ?",
                         chunk)


def forget(conn: sqlite3.Connection, rows: str) -> None:
    """Take the events rows `events.id IN (<rows>)` and their entities out, before they are deleted."""
    forget_entities(conn, f"n.event_row IN ({rows})", ())
    _add_counts(conn, f"events.id IN ({rows})", [], "-")
    conn.execute("DELETE FROM event_counts WHERE total = 0 AND grouping != 'all'")


def clear(conn: sqlite3.Connection) -> None:
    """Empty the tables (everything is being deleted)."""
    for table in ("entity_values", "entity_paths", "event_counts"):
        conn.execute(f"DELETE FROM {table}")
    if (path_ids := getattr(conn, "path_ids", None)) is not None:  # the writer's (store/entity_leaves.py)
        path_ids.clear()


def totals(conn: sqlite3.Connection) -> dict[str, int]:
    """Return Micro's summary and the unverified count, as kept (exact: updated in every write's transaction)."""
    found = conn.execute("SELECT total, valid, unverified FROM event_counts WHERE grouping = 'all'").fetchone()
    total, good, unverified = found if found else (0, 0, 0)
    return {"total": total, "good": good, "bad": total - good, "unverified": unverified}


def grouped(conn: sqlite3.Connection, grouping: str, limit: int) -> list[dict[str, Any]]:
    """Return the counts of one grouping, most frequent first (a NULL value first among equals, as SQL sorts)."""
    found = conn.execute(f"SELECT nullif(value, {NULL_VALUE}) AS v, total FROM event_counts WHERE grouping = ? "
                         "AND total > 0 ORDER BY total DESC, v LIMIT ?", [grouping, limit]).fetchall()
    return [{"value": r[0], "count": r[1]} for r in found]


def minutes(conn: sqlite3.Connection, first: int, last: int) -> list[tuple[int, int, int]]:
    """Return (minute start, valid, invalid) of the minutes starting in [first, last] that have events."""
    return [tuple(r) for r in conn.execute(
        "SELECT value, valid, total - valid FROM event_counts WHERE grouping = 'minute' AND value >= ? "
        "AND value <= ? AND total > 0 ORDER BY value", [first, last])]


# Array indexes beyond this are looked up without the index (the skeleton document below would be that long).
MAX_INDEX_STEP = 1000


def path_skeleton(steps: tuple[str | int, ...]) -> str | None:
    """Return a JSON document whose only `true` sits at `steps`, so that json_tree names that leaf's path exactly as
    it named the stored leaves (the same SQLite quotes keys the same way); None if an index step is too large."""
    value: Any = True
    for step in reversed(steps):
        if isinstance(step, int):
            if step > MAX_INDEX_STEP:
                return None
            value = [None] * step + [value]
        else:
            value = {step: value}
    return json.dumps(value)


# Lookups (path x value pairs) a count is merged from; beyond it, the DISTINCT over all matches counts.
MAX_LOOKUPS = 16


def paths_sql(scope: str, scope_params: list[Any], skeleton: str) -> tuple[str, list[Any]]:
    """Return the SELECT of the ids of the paths in `scope` (over entity_paths `p`) at the skeleton's path."""
    return (f"SELECT p.id FROM entity_paths p WHERE {scope} AND "
            "p.path = (SELECT fullkey FROM json_tree(?) WHERE type = 'true')", [*scope_params, skeleton])


def merged_rows(path_ids: list[int], pairs: list[tuple[str, Any]], limit: int | None) -> tuple[str, list[Any]] | None:
    """Return the SELECT of the newest `limit` (None: all) distinct event rows having one of the paths with one of
    the (kind, value) pairs. Each lookup reads its index range in row order and SQLite merges them (a compound
    SELECT's ORDER BY), stopping at `limit`: a capped count costs the same at any size, where a DISTINCT over every
    match grew with the database. None beyond MAX_LOOKUPS lookups, or for a value SQLite cannot bind."""
    if not 0 < len(path_ids) * len(pairs) <= MAX_LOOKUPS or any(
            isinstance(v, int) and not -2**63 <= v < 2**63 for _, v in pairs):
        return None
    arms = " UNION ".join(["SELECT event_row FROM entity_values WHERE path_id = ? AND kind = ? AND value = ?"]
                          * (len(path_ids) * len(pairs)))
    params = [value for path_id in path_ids for kind, v in pairs for value in (path_id, kind, v)]
    return f"{arms} ORDER BY event_row DESC LIMIT ?", [*params, -1 if limit is None else limit]


def rows_with_values(scope: str, scope_params: list[Any], skeleton: str, pairs: list[tuple[str, Any]]) -> tuple[
        str, list[Any]]:
    """Return the SQL of the event rows having an entity in `scope` (over entity_paths `p`) whose leaf at the
    skeleton's path is one of the (kind, value) pairs. CROSS JOIN keeps the order: paths, pairs, then lookups."""
    return (f"(SELECT v.event_row FROM entity_paths p CROSS JOIN json_each(?) q CROSS JOIN entity_values v "
            f"WHERE {scope} AND p.path = (SELECT fullkey FROM json_tree(?) WHERE type = 'true') "
            "AND v.path_id = p.id AND v.kind = json_extract(q.value, '$[0]') "
            "AND v.value = json_extract(q.value, '$[1]'))",
            [json.dumps([list(p) for p in pairs]), *scope_params, skeleton])
