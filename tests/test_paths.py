"""One reading of a path: the Python walk and SQLite's json_extract over the path the store builds agree."""

from __future__ import annotations

import json
import sqlite3

import pytest

from micro_dashboard.paths import MISSING, steps, walk
from micro_dashboard.store.filter_sql import sqlite_json_path

DOCUMENTS = [
    {"feature_enabled_by_namespace_ids": [5, 6], "extra": {"a": {"b": 1}, "0": "zero-key"}, "plan": None},
    {"feature_enabled_by_namespace_ids": [], "extra": [{"a": {"b": 2}}], "flag": False, "n": 7.5},
    {"list": [[1, 2], [3, {"deep": True}]], "a.b": "dotted", "with space": 1, "é²": "unicode", "007": "padded"},
    [10, 11, {"k": "v"}],
    "text",
    None,
]
PATHS = [
    (),
    ("feature_enabled_by_namespace_ids", "0"),
    ("feature_enabled_by_namespace_ids", "1"),
    ("feature_enabled_by_namespace_ids", "2"),  # out of range
    ("feature_enabled_by_namespace_ids", "999999999999999999"),  # out of range, 18 digits
    ("extra", "a", "b"),
    ("extra", "0"),  # digits index a list; on an object they find nothing, even a key "0"
    ("extra", "0", "a", "b"),
    ("extra", "a", "missing"),
    ("plan",),
    ("plan", "x"),  # below a JSON null
    ("flag",),
    ("n",),
    ("list", "1", "1", "deep"),
    ("list", "01", "0"),  # leading zeros index too
    ("a.b",),
    ("with space",),
    ("é²",),
    ("007",),
    ("0",),
    ("2", "k"),
    ("k",),
    ("nothing", "here"),
]


def sqlite_walk(connection: sqlite3.Connection, document: object, parts: tuple[str, ...]) -> object:
    """Return what SQLite's `->` finds at the built path, decoded; MISSING for SQL NULL (nothing there)."""
    found = connection.execute("SELECT ? -> ?", (json.dumps(document, ensure_ascii=False),
                                                 sqlite_json_path(parts))).fetchone()[0]
    return MISSING if found is None else json.loads(found)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: json.dumps(d)[:30])
def test_the_python_walk_and_sqlite_find_the_same_value(document: object) -> None:
    connection = sqlite3.connect(":memory:")
    for parts in PATHS:
        python, sql = walk(document, parts), sqlite_walk(connection, document, parts)
        assert (python is MISSING) == (sql is MISSING) and (python is MISSING or python == sql), parts


def test_list_indexes_are_walked() -> None:
    document = {"feature_enabled_by_namespace_ids": [5]}
    assert walk(document, ("feature_enabled_by_namespace_ids", "0")) == 5
    assert walk(document, ("feature_enabled_by_namespace_ids", "1")) is MISSING
    assert walk({"0": 1}, ("0",)) is MISSING


def test_steps_are_indexes_for_ascii_digits_only() -> None:
    assert steps(["a", "0", "17", "007", "\u00b2", "-1", "1" * 19]) == ("a", 0, 17, 7, "\u00b2", "-1", "1" * 19)
    assert sqlite_json_path(["a", "0", "b c"]) == '$."a"[0]."b c"'


@pytest.mark.parametrize("part", ['a"b', "a\x00b"])
def test_parts_sqlite_cannot_hold_are_refused(part: str) -> None:
    with pytest.raises(ValueError, match="double quote or a NUL"):
        sqlite_json_path(["x", part])
