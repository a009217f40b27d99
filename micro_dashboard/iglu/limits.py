"""The bounds on the work one schema, one datum or one registry answer can cost, and the bounded map that keeps
per-URI memory from growing with every distinct URI a sender makes up."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar

# The largest Iglu Central schema is 32 KiB: a registry answer above this is refused before it is read whole.
MAX_SCHEMA_BYTES = 1024 * 1024
# JSON nesting levels. Iglu Central's deepest schema has 23; validation recurses once per level (and the interpreter
# allows about a thousand frames), so these keep every check far from a RecursionError.
MAX_SCHEMA_DEPTH = 64
MAX_DATA_DEPTH = 64
# URIs whose answers (schemas, not-found answers, attempts, compiled validators) are kept in memory at once; the
# database's schema cache is behind the resolver's, so a schema pushed out resolves again without the network.
REMEMBERED_URIS = 512
# Compiled regular expressions kept at once.
REMEMBERED_PATTERNS = 512
# Data found valid, remembered (as its JSON text, at most MAX_REMEMBERED_DATA bytes) so that the same data is not
# validated again: 4096 x 2 KiB at most.
REMEMBERED_VALID = 4096
MAX_REMEMBERED_DATA = 2048


class Unverifiable(Exception):
    """A schema or datum that micro-dashboard will not check, with the reason as a sentence (its message)."""


def nesting(value: Any, stop_after: int) -> int:
    """Return how many levels of objects and arrays `value` nests (a scalar is 0), counting no further than
    `stop_after` + 1; iterative, so a value too deep for recursion is measured all the same."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > stop_after:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """A mapping that keeps at most `limit` entries, dropping the least recently used (not thread-safe: its owner
    holds a lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """Return the value for `key` (marking it recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def setdefault(self, key: K, value: V) -> V:
        """Return the value for `key`, storing `value` first if there is none."""
        known = self.get(key)
        if known is None:
            self[key] = known = value
        return known

    def pop(self, key: K) -> V | None:
        """Remove `key` and return its value, or None."""
        return self._items.pop(key, None)

    def clear(self) -> None:
        """Remove every entry."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._items))
