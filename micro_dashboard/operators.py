"""Filter operators (`field__op=value`), defined once: how each reads its value, its SQL form, its Python test.

The filter parser (filters.py), the store's SQL compiler (store/filter_sql.py), the test client's matcher
(testing/matching.py), the OpenAPI document and the README all draw from OPERATORS, the way Datasette's filters.py
keeps one list of filters. A new operator is one entry here plus its test; a test fails while the docs lack it.
No SQL driver or web framework is imported here: the test client imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .paths import MISSING

# An SQL condition and its parameters.
Where = tuple[str, list[Any]]
# Reads the text of a filter into the value compared; the second argument reads one value as the field types it.
ValueReader = Callable[[str, Callable[[str], Any]], Any]


class SqlForms(Protocol):
    """The comparisons the store's compiler writes for one filtered value (a column, a parameter, an entity field).

    An operator's SQL form is built from these, so that the compiler keeps the per-kind details (JSON types,
    numbers held as text, time columns) and the operator says only which comparison it is."""

    def equals(self, value: Any) -> Where:
        """The value equals `value` (a number also matches its text, a boolean only true/false)."""
        ...

    def compare(self, sql_op: str, value: Any) -> Where:
        """The value compares with `value` under `<`, `<=`, `>` or `>=` (numerically when `value` is a number)."""
        ...

    def substring(self, text: str, prefix: bool) -> Where:
        """The value's text contains (or starts with) `text`, ASCII case-insensitively."""
        ...

    def member(self, values: tuple[Any, ...]) -> Where:
        """The value equals one of `values`."""
        ...

    def null(self, is_null: bool) -> Where:
        """The value is absent or null (`is_null`), or present and not null."""
        ...


@dataclass(frozen=True)
class Operator:
    """One filter operator: its name (the `__name` suffix), what it does, and how each consumer applies it."""

    name: str
    description: str  # one line, shown in the OpenAPI document
    read: ValueReader  # the filter's text -> the value compared
    sql: Callable[[SqlForms, Any], Where] | None  # None for an operator that negates another
    test: Callable[[Any, Any], bool]  # (actual, expected); actual is MISSING where the path leads nowhere
    negates: str | None = None  # the operator whose whole condition this one negates

    @property
    def suffix(self) -> str:
        """Return the suffix that selects this operator, e.g. `__gte`."""
        return f"__{self.name}"


# -- how a value is read from the filter's text -----------------------------------------------------------------

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def read_flag(text: str) -> bool:
    """Read `true` or `false` (also 1/0, yes/no); raise ValueError otherwise."""
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS or lowered in FALSE_WORDS:
        return lowered in TRUE_WORDS
    raise ValueError(f"must be true or false, not {text!r}")


def one_value(text: str, read_one: Callable[[str], Any]) -> Any:
    """One value, typed as the field types it (a number, a boolean, a time, else text)."""
    return read_one(text)


def raw_text(text: str, read_one: Callable[[str], Any]) -> str:
    """The text exactly as written."""
    return text


def value_list(text: str, read_one: Callable[[str], Any]) -> tuple[Any, ...]:
    """A comma-separated list of values, each typed as the field types it."""
    return tuple(read_one(item.strip()) for item in text.split(","))


def flag(text: str, read_one: Callable[[str], Any]) -> bool:
    """`true` or `false`."""
    return read_flag(text)


# -- Python tests (the test client's matcher) ---------------------------------------------------------------------

def present(test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bool]:
    """Return a test that fails where the path leads nowhere or the two values cannot be compared."""

    def applied(actual: Any, expected: Any) -> bool:
        if actual is MISSING:
            return False
        try:
            return bool(test(actual, expected))
        except TypeError:
            return False

    return applied


def ordered(test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bool]:
    """Return an ordering test under which a boolean is no number (true is not less than 6), as in the SQL form."""
    return present(lambda actual, expected: (isinstance(expected, bool) or not isinstance(actual, bool))
                   and test(actual, expected))


def equal(actual: Any, expected: Any) -> bool:
    """Return whether two values are equal, a boolean being equal only to itself (1 is not True)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return actual == expected


def is_null(actual: Any, expected: Any) -> bool:
    """Return whether the value is absent or null, compared with the expected flag."""
    return (actual is MISSING or actual is None) == bool(expected)


# -- the registry ---------------------------------------------------------------------------------------------------

OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("exact", "equal to the value (the default when no operator is written)", one_value,
             lambda sql, value: sql.equals(value), present(equal)),
    Operator("contains", "the text contains the value, ASCII case-insensitively", raw_text,
             lambda sql, value: sql.substring(value, prefix=False), present(lambda actual, text: text in actual)),
    Operator("startswith", "the text starts with the value, ASCII case-insensitively", raw_text,
             lambda sql, value: sql.substring(value, prefix=True),
             present(lambda actual, text: isinstance(actual, str) and actual.startswith(text))),
    Operator("in", "equal to one of a comma-separated list of values", value_list,
             lambda sql, values: sql.member(values), present(lambda actual, values: actual in values)),
    Operator("gt", "greater than the value (numerically when it is a number)", one_value,
             lambda sql, value: sql.compare(">", value), ordered(lambda actual, value: actual > value)),
    Operator("gte", "greater than or equal to the value", one_value,
             lambda sql, value: sql.compare(">=", value), ordered(lambda actual, value: actual >= value)),
    Operator("lt", "less than the value", one_value,
             lambda sql, value: sql.compare("<", value), ordered(lambda actual, value: actual < value)),
    Operator("lte", "less than or equal to the value", one_value,
             lambda sql, value: sql.compare("<=", value), ordered(lambda actual, value: actual <= value)),
    Operator("isnull", "`true`: absent or null, `false`: present and not null", flag,
             lambda sql, value: sql.null(value), is_null),
    Operator("not", "not equal to the value (an entity filter: no such entity has it)", one_value,
             None, lambda actual, value: not present(equal)(actual, value), negates="exact"),
)}
DEFAULT = OPERATORS["exact"]


def split_operator(key: str) -> tuple[str, str | None]:
    """Split `se_value__gt` into ("se_value", "gt"); the operator is None when the key has no known suffix."""
    base, sep, name = key.rpartition("__")
    if sep and base and name in OPERATORS:
        return base, name
    return key, None
