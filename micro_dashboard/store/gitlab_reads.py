"""The reads GitLab metrics are counted from: per ISO week, the matching events, their distinct values or sum.

A rule is (event name, filter pairs); the caller says what a metric counts. Every condition is on a promoted,
indexed column (`se_action`, `se_label`, `se_property`) or on the row's own values, so counting never walks the
whole table: only the rows of the named events. Custom filter keys are read from the gitlab_standard context's
`extra` object, type-sensitively (`"30"` does not match `30`; integers and floats compare as numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import Store
from .packing import unpacked

# What a `unique` names -> the SQL expression of that value on an events row.
UNIQUE_SQL = {
    "user.id": "json_extract(e.gitlab, '$.user_id')",
    "project.id": "json_extract(e.gitlab, '$.project_id')",
    "namespace.id": "json_extract(e.gitlab, '$.namespace_id')",
    "label": "e.se_label",
    "property": "e.se_property",
    "value": "e.se_value",
}
# The time an event counts at: when it happened (derived_tstamp: the true time if the tracker sent one, else the
# collector's time corrected for the device's clock), in milliseconds; the collector's time when there is none.
EVENT_TIME_SQL = (f"coalesce(CAST(round((julianday(json_extract({unpacked('e.event_json')}, '$.derived_tstamp')) "
                  "- 2440587.5) * 86400000) AS INTEGER), e.collector_tstamp)")
# The Monday (UTC) starting the ISO week of the event time, as YYYY-MM-DD.
WEEK_SQL = f"date({EVENT_TIME_SQL} / 1000, 'unixepoch', '-6 days', 'weekday 1')"

Rule = tuple[str, Sequence[tuple[str, Any]]]  # (event name, filter key/value pairs)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _filter_sql(key: str, value: Any) -> tuple[str, list[Any]]:
    """Return the condition that one filter pair puts on an events row `e`."""
    if key in ("label", "property"):
        # A non-string filter never equals the string GitLab compares it with (SQLite would cast it).
        # Unary + keeps SQLite from choosing this column's index over se_action's (a label is rarely selective).
        return (f"+e.se_{key} = ?", [value]) if isinstance(value, str) else ("0", [])
    if key == "value":
        return ("e.se_value = ?", [value]) if _is_number(value) else ("0", [])
    if isinstance(value, str):
        types = "('text')"
    elif _is_number(value):
        types = "('integer', 'real')"
    else:
        return "0", []
    return (f"EXISTS (SELECT 1 FROM entities n, json_each(n.data, '$.extra') x WHERE n.event_row = e.id "
            f"AND n.name = 'gitlab_standard' AND n.kind = 'context' AND x.key = ? AND x.type IN {types} "
            "AND x.value = ?)", [key, value])


def _rules_sql(rules: Sequence[Rule]) -> tuple[str, list[Any]]:
    """Return the condition matching any of the rules: the event names through se_action's index, then the rules."""
    if not rules:
        return "0", []
    names = list(dict.fromkeys(name for name, _ in rules))
    parts, params = [], []
    for name, flt in rules:
        conditions, rule_params = ["+e.se_action = ?"], [name]
        for key, value in flt:
            sql, more = _filter_sql(key, value)
            conditions.append(sql)
            rule_params += more
        parts.append("(" + " AND ".join(conditions) + ")")
        params += rule_params
    return f"e.se_action IN ({', '.join('?' * len(names))}) AND ({' OR '.join(parts)})", [*names, *params]


def weekly(store: Store, rules: Sequence[Rule], unique: str | None, since_ms: int | None = None,
           row: int | None = None) -> list[tuple[str, Any, int, float]]:
    """Return (ISO week's Monday, distinct value or None, events, sum of se_value) of the events the rules match.

    With `unique`, one row per week and distinct value (events without that value are left out); without, one row
    per week. `since_ms` leaves out events the collector received before then (an event's own time is never later
    than its collector time, unless its tracker set a true time in the future); `row` looks at one events row."""
    where, params = _rules_sql(rules)
    where = f"({where})"
    value = "NULL"
    if unique is not None:
        value = UNIQUE_SQL[unique]
        where += f" AND {value} IS NOT NULL"
    if since_ms is not None:
        where += " AND e.collector_tstamp >= ?"
        params.append(since_ms)
    if row is not None:
        where += " AND e.id = ?"
        params.append(row)
    found = store._query(f"SELECT {WEEK_SQL} AS week, {value} AS value, count(*) AS n, "
                         f"coalesce(sum(e.se_value), 0) AS total FROM events e WHERE {where} GROUP BY week, value",
                         params)
    return [(r["week"], r["value"], r["n"], r["total"]) for r in found]


def event_time(store: Store, row: int) -> int | None:
    """Return the time an events row counts at (milliseconds since the epoch)."""
    found = store._query(f"SELECT {EVENT_TIME_SQL} FROM events e WHERE e.id = ?", [row])
    return found[0][0] if found else None
