"""entity_values filled by the writes: each entity's leaves computed in Python, named and valued exactly as
read_indexes.leaves_sql's json_tree and CAST would, before the write transaction (schema step 10 dropped the trigger
that ran json_tree twice per entity inside the one writer thread).

`leaves` declines the data it cannot be sure of (NaN, a NUL in a text, non-string keys, very deep data), which
`add_values` then leaves to that SQL; leaves_sql still fills the index on upgrade and forgets it on delete, so the two
must agree (tests/test_entity_leaves.py). The writer's connection remembers the entity_paths ids it interned."""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from .packing import dumps  # how entity data is stored, so how json_tree reads its keys
from .read_indexes import BOOLEAN, NUMBER, NUMERIC_TEXT, TEXT, leaves_sql, paths_of_entities_sql

# A leaf as add_values takes it: (json_tree's fullkey, kind, the value SQLite would store).
Leaf = tuple[str, str, Any]
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_EXACT_FLOAT = 2.0 ** 53  # an integral float below this is written "<digits>.0", which SQLite reads back exactly
_NUMERIC = re.compile(r"[0-9.eE+-]*[0-9][0-9.eE+-]*")  # _NUMERIC_TEXT's GLOB
# A numeric text whose CAST reads an integer of at most 15 digits and stops there: exact in any double arithmetic.
_SHORT_INTEGER = re.compile(r"([+-]?)([0-9]{1,15})(?![0-9.eE])")
_MAX_DEPTH = 100  # deeper data is left to the SQL (json.loads would not give much deeper data anyway)
_private = threading.local()  # a private in-memory connection per thread, for _SQLiteSays


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
_key_step = _SQLiteSays("SELECT substr(fullkey, 2) FROM json_tree(?) WHERE type = 'null'", lambda k: dumps({k: None}))
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
            conn.execute(paths_of_entities_sql(where), (row, data))
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
