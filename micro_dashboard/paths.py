"""Paths into JSON values (`project_id`, `extra.a.b`, `feature_enabled_by_namespace_ids.0`), read one way everywhere.

`steps()` is the one reading of a path: the store builds SQLite JSON paths from it and `walk()` follows it in Python,
so a filter the API applies and the same expectation checked by the test client select the same values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Parts that index arrays: ASCII digits, at most 18 of them (SQLite reads a longer index as out of range anyway).
INDEX = re.compile(r"[0-9]{1,18}")

MISSING: Any = object()  # what a path that leads nowhere gives; a JSON null is None


def steps(parts: Iterable[str]) -> tuple[str | int, ...]:
    """Return the steps of a path: an int indexes an array, a str is an object key (digits index, never key)."""
    return tuple(int(part) if INDEX.fullmatch(part) else part for part in parts)


def walk(value: Any, parts: Iterable[str]) -> Any:
    """Return the value at a path inside decoded JSON, or MISSING where a step finds nothing."""
    for step in steps(parts):
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value
