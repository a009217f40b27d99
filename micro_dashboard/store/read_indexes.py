"""Tables the reads are answered from instead of the events, kept in step with every write.

`entity_values` holds each scalar leaf of each entity's data once per event row, under the entity's name and the
leaf's JSON path (interned in `entity_paths`), so an entity-field equality or `__in` is an index lookup instead of a
json_extract of every entity of that name. `event_counts` holds the counts /api/stats and Micro's totals show
(everything, by event, by app, by schema, by minute), so they are read instead of counted.

entity_values is filled by the writes themselves (`add_values`, from the leaves `leaves` computes in Python before
the write transaction: schema step 10 dropped the trigger that ran json_tree twice per entity inside the one writer
thread); `leaves` names each leaf exactly as `leaves_sql`, which fills the index on upgrade and forgets it on delete,
and declines the data it cannot be sure of, which `add_values` then leaves to that SQL. The counts of inserted rows are
added once per write (`count_rows_after`, by the store's two paths that insert event rows: one grouped statement per
grouping instead of a trigger's five upserts per row, measured 10x cheaper a batch), and updates keep them through a
trigger. Deletes go through `forget` and `clear` here instead of DELETE triggers, which would cost a reset SQLite's
truncate optimisation."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from collections.abc import Callable
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


def _paths_sql(where: str) -> str:
    """Return the INSERT interning the leaf paths of the entities `entities n` matching `where` (json_tree's)."""
    return ("INSERT OR IGNORE INTO entity_paths (name, path, unstruct) SELECT DISTINCT n.name, t.fullkey, "
            "n.kind = 'unstruct' FROM entities n, json_tree(n.data) t WHERE json_valid(n.data) AND n.name IS NOT NULL "
            f"AND t.type IN ('text', 'integer', 'real', 'true', 'false') AND ({where})")


# -- the leaves in Python, named and valued exactly as leaves_sql's json_tree and CAST would ------------------------

# A leaf as add_values takes it: (json_tree's fullkey, kind, the value SQLite would store).
Leaf = tuple[str, str, Any]
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_EXACT_FLOAT = 2.0 ** 53  # an integral float below this is written "<digits>.0", which SQLite reads back exactly
_NUMERIC = re.compile(r"[0-9.eE+-]*[0-9][0-9.eE+-]*")  # _NUMERIC_TEXT's GLOB
# A numeric text whose CAST reads an integer of at most 15 digits and stops there: exact in any double arithmetic.
_SHORT_INTEGER = re.compile(r"([+-]?)([0-9]{1,15})(?![0-9.eE])")
_MAX_DEPTH = 100  # deeper data is left to the SQL (json.loads would not give much deeper data anyway)
_private = threading.local()  # a private in-memory connection per thread, for _SQLiteSays


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as rows.dumps stores entity data


class _SQLiteSays:
    """What this process's SQLite makes of a text (how json_tree quotes a key in a path, how it and CAST read a
    number), asked once on a private in-memory connection and remembered, so the answer is SQLite's own."""

    LIMIT = 10_000  # remembered answers (keys and numbers repeat; a flood of distinct ones only costs the asking)

    def __init__(self, sql: str, written: Callable[[str], str] = str) -> None:
        self.sql, self.written = sql, written  # `written`: the parameter SQLite is given for a remembered text
        self.answers: dict[str, Any] = {}

    def __call__(self, text: str) -> Any:
        """Return SQLite's value of the query for this text."""
        answer = self.answers.get(text, self)
        if answer is self:
            conn = getattr(_private, "conn", None)
            if conn is None:
                conn = _private.conn = sqlite3.connect(":memory:")
            answer = conn.execute(self.sql, (self.written(text),)).fetchone()[0]
            if len(self.answers) >= self.LIMIT:
                self.answers.clear()
            self.answers[text] = answer
        return answer


# json_tree names a key {"k": ...} as $ + this step; the same step follows any path (a fullkey is its parent's
# fullkey and a step). 3.40 writes `.k` for ASCII letters then letters and digits, else `."k"` as escaped in the JSON.
_key_step = _SQLiteSays("SELECT substr(fullkey, 2) FROM json_tree(?) WHERE type = 'null'", lambda k: _dumps({k: None}))
_json_number = _SQLiteSays("SELECT json_extract(?, '$')")  # json_tree's atom of a number as written
_cast = _SQLiteSays("SELECT CAST(? AS REAL)")


def _cast_real(text: str) -> float:
    """Return CAST(text AS REAL) as SQLite computes it."""
    short = _SHORT_INTEGER.match(text)
    if short:
        number = float(short[2])
        return -number if short[1] == "-" else number  # "-0" is -0.0 for SQLite too
    return _cast(text)


def leaves(data: Any) -> list[Leaf] | None:
    """Return the leaves leaves_sql finds in the JSON rows.dumps writes of `data` (its paths, kinds and values as
    SQLite names and stores them), or None when Python cannot be sure to match it (add_values then runs the SQL)."""
    found: list[Leaf] = []
    todo: list[tuple[str, Any, int]] = [("$", data, 0)]  # (path, value, depth), walked without recursion
    while todo:
        path, value, depth = todo.pop()
        kind = type(value)
        if kind is str:
            if "\x00" in value:  # json_tree's atom of a text ends at an escaped NUL (3.40)
                return None
            found.append((path, TEXT, value))
            if _NUMERIC.fullmatch(value):
                found.append((path, NUMERIC_TEXT, _cast_real(value)))
        elif kind is int:
            found.append((path, NUMBER, value if _INT64[0] <= value <= _INT64[1] else _json_number(str(value))))
        elif kind is dict:
            if depth >= _MAX_DEPTH:
                return None
            for key, item in value.items():
                if type(key) is not str:  # json.dumps would write it as some text, maybe twice
                    return None
                todo.append((path + _key_step(key), item, depth + 1))
        elif kind is bool:
            found.append((path, BOOLEAN, "true" if value else "false"))
        elif kind is float:
            if not math.isfinite(value):  # written NaN or Infinity: not JSON, json_valid says no
                return None
            found.append((path, NUMBER, value if value.is_integer() and abs(value) < _EXACT_FLOAT else _json_number(
                repr(value))))
        elif kind is list or kind is tuple:
            if depth >= _MAX_DEPTH:
                return None
            todo += [(f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value)]
        elif value is not None:  # not JSON: json.dumps would fail or write what Python cannot foresee
            return None
    return found


# -- filling entity_values on insert ----------------------------------------------------------------------------

class PathIds:
    """The ids of entity_paths rows one connection knows, so that a known path costs no SQL.

    `known` holds committed rows; `new` the rows interned by the open transaction, forgotten if it rolls back (the
    ids would not exist, or name other paths later). The connection's owner says when its transactions end; another
    process's commit (a reset) is noticed through PRAGMA data_version before the first use in a transaction."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str, int], int] = {}
        self.new: dict[tuple[str, str, int], int] = {}
        self.data_version: int | None = None
        self.checked = False

    def committed(self) -> None:
        """The transaction committed: its paths exist."""
        self.known.update(self.new)
        self.new.clear()
        self.checked = False

    def rolled_back(self) -> None:
        """The transaction (or a savepoint in it) rolled back: the paths it interned may not exist."""
        self.new.clear()
        self.checked = False

    def clear(self) -> None:
        """entity_paths is being emptied."""
        self.known.clear()
        self.new.clear()

    def check(self, conn: sqlite3.Connection) -> None:
        """Forget the known paths if another connection committed since (a reset may have emptied entity_paths)."""
        if not self.checked:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self.data_version:
                self.known.clear()
                self.data_version = version
            self.checked = True

    def id(self, conn: sqlite3.Connection, path: tuple[str, str, int]) -> int:
        """Return the id of a path (after check), interning it if new."""
        found = self.known.get(path) or self.new.get(path)
        if found is None:
            found = self.new[path] = _path_id(conn, path)
        return found


def _path_id(conn: sqlite3.Connection, path: tuple[str, str, int]) -> int:
    found = conn.execute("SELECT id FROM entity_paths WHERE name = ? AND path = ? AND unstruct = ?", path).fetchone()
    if found:
        return found[0]
    return conn.execute("INSERT INTO entity_paths (name, path, unstruct) VALUES (?, ?, ?)", path).lastrowid


class WriterConnection(sqlite3.Connection):
    """A connection that remembers the entity_paths ids it knows (the store's writer, which says when its
    transactions end); add_values on any other connection looks each path up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path_ids = PathIds()


# An entity as add_values takes it: (name, kind, its data as stored, its leaves or None when leaves declined).
EntityLeaves = tuple[str | None, str, str, list[Leaf] | None]


def add_values(conn: sqlite3.Connection, row: int, entities: list[EntityLeaves]) -> None:
    """Add the leaves of the entities just inserted for event row `row` to entity_values (and their paths to
    entity_paths); the entities whose leaves Python declined are read by leaves_sql instead."""
    path_ids: PathIds = getattr(conn, "path_ids", None) or PathIds()  # none remembered: looked up each time
    path_ids.check(conn)
    values = []
    for name, kind, data, found in entities:
        if found is None:
            where = "n.event_row = ? AND n.data = ?"  # this entity (or another with its data: the same leaves)
            conn.execute(_paths_sql(where), (row, data))
            conn.execute("INSERT OR IGNORE INTO entity_values (path_id, kind, value, event_row) "
                         + leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                                      f"json_valid(n.data) AND {where}"), (row, data))
        elif name is not None:
            unstruct = int(kind == "unstruct")
            values += [(path_ids.id(conn, (name, path, unstruct)), leaf_kind, value, row)
                       for path, leaf_kind, value in found]
    # OR IGNORE: two entities of one name in one event may hold the same value at the same path
    conn.executemany("INSERT OR IGNORE INTO entity_values (path_id, kind, value, event_row) VALUES (?, ?, ?, ?)",
                     values)


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
    conn.execute(_paths_sql("1"))
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


def forget_entities(conn: sqlite3.Connection, where: str, params: list[Any] | tuple[Any, ...]) -> None:
    """Take the entities matching `where` (over `entities n`) out of entity_values, before they are deleted."""
    conn.execute("DELETE FROM entity_values WHERE (path_id, kind, value, event_row) IN ("
                 + leaves_sql("n.data", "n.name", "n.kind", "n.event_row", "entities n CROSS JOIN",
                              f"json_valid(n.data) AND ({where})") + ")", list(params))


def forget(conn: sqlite3.Connection, rows: str) -> None:
    """Take the events rows `events.id IN (<rows>)` and their entities out, before they are deleted."""
    forget_entities(conn, f"n.event_row IN ({rows})", ())
    _add_counts(conn, f"events.id IN ({rows})", [], "-")
    conn.execute("DELETE FROM event_counts WHERE total = 0 AND grouping != 'all'")


def clear(conn: sqlite3.Connection) -> None:
    """Empty the tables (everything is being deleted)."""
    for table in ("entity_values", "entity_paths", "event_counts"):
        conn.execute(f"DELETE FROM {table}")
    if isinstance(conn, WriterConnection):
        conn.path_ids.clear()


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
