"""Compile filters into SQL over the events table, and the read queries of the dashboard's own API."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from ..filters import AnyOf, Clause, Column, Condition, Filter, Has, Not, Param, Text, Valid
from ..pipeline.fields import TIMESTAMPS, iso_timestamp, parse_iso_timestamp
from . import SUMMARY_COLUMNS, Store, Summary, schema

Where = tuple[str, list[Any]]


def json_path(parts: tuple[str, ...] | list[str]) -> str:
    """Return a SQLite JSON path: numeric parts (ASCII digits) index arrays, others are quoted object keys.

    SQLite's quoted keys cannot hold a double quote, and the path is SQL text, which cannot hold a NUL:
    such a part raises ValueError (the filter parser rejects them first, naming the filter)."""
    out = "$"
    for part in parts:
        if '"' in part or "\x00" in part:
            raise ValueError(f"a JSON path part cannot contain a double quote or a NUL character: {part!r}")
        out += f"[{part}]" if re.fullmatch(r"[0-9]{1,18}", part) else f'."{part}"'
    return out


def _ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as SQLite's lower() does."""
    return text.translate({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


def _contains(expr: str, text: str, prefix: bool = False) -> Where:
    """Match text containing (or starting with) `text`, ASCII case-insensitively, as LIKE would.

    instr() rather than LIKE: a LIKE pattern ends at a NUL character, so `%<NUL>%` would match everything."""
    sql = f"instr(lower(CAST({expr} AS TEXT)), ?)"
    return (f"({sql} = 1)" if prefix else f"({sql} > 0)"), [_ascii_lower(text)]


def in_json(expr: str, values: list[Any]) -> Where:
    """Match `expr` against a list of values bound as one JSON array (any length, one SQL variable)."""
    return f"({expr} IN (SELECT value FROM json_each(?)))", [json.dumps(list(values))]


def join(parts: list[Where], op: str) -> Where:
    """Join conditions with AND or OR as a balanced tree, so that thousands stay within SQLite's depth limit."""
    if not parts:
        return ("1" if op == "AND" else "0"), []
    if len(parts) == 1:
        return parts[0]
    mid = len(parts) // 2
    (left, lp), (right, rp) = join(parts[:mid], op), join(parts[mid:], op)
    return f"({left} {op} {right})", [*lp, *rp]


def _numeric(expr: str, kind: str | None) -> str:
    """Return an SQL expression giving the number a value holds (JSON number or numeric text), else NULL."""
    text_is_number = f"({expr} GLOB '*[0-9]*' AND {expr} NOT GLOB '*[^0-9.eE+-]*')"
    if kind is None:
        return f"(CASE WHEN {text_is_number} THEN CAST({expr} AS REAL) END)"
    return (f"(CASE WHEN {kind} IN ('integer', 'real') THEN {expr} "
            f"WHEN {kind} = 'text' AND {text_is_number} THEN CAST({expr} AS REAL) END)")


def _compare(expr: str, kind: str | None, op: str, value: Any, text_column: bool) -> Where:
    """Compare one SQL expression; `kind` is its json_type for JSON values, None for text columns."""
    if op == "in":
        return _compare_in(expr, kind, list(value), text_column)
    if op == "isnull":
        return f"({expr} IS {'' if value else 'NOT '}NULL)", []
    if op in ("contains", "startswith"):
        return _contains(expr, value, op == "startswith")
    sql_op = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    if isinstance(value, bool):
        word = "true" if value else "false"
        if kind is None:
            return f"({expr} {sql_op} ?)", [word]
        if op == "exact":
            return f"({kind} = ? OR ({kind} = 'text' AND {expr} = ?))", [word, word]
        return f"({expr} {sql_op} ?)", [int(value)]
    if isinstance(value, (int, float)):
        if op == "exact" and text_column:
            return f"({expr} = ?)", [str(value)]
        number = _numeric(expr, kind)
        if op == "exact":
            return f"({expr} = ? OR {number} = ?)", [str(value), value]
        return f"({number} {sql_op} ?)", [value]
    if kind is not None:
        return f"({kind} = 'text' AND {expr} {sql_op} ?)", [value]
    return f"({expr} {sql_op} ?)", [value]


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _compare_in(expr: str, kind: str | None, values: list[Any], text_column: bool) -> Where:
    """`in`: the same matches as one `exact` per value, but with one JSON array per kind of value."""
    if text_column:
        return in_json(expr, [_text_of(v) for v in values])
    strings = [v for v in values if isinstance(v, str)]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    parts = [_compare(expr, kind, "exact", v, text_column) for v in sorted(set(v for v in values
                                                                               if isinstance(v, bool)))]
    if strings:
        sql, params = in_json(expr, strings)
        parts.append((f"({kind} = 'text' AND {sql})", params) if kind is not None else (sql, params))
    if numbers:
        as_text = in_json(expr, [str(v) for v in numbers])
        finite = [v for v in numbers if math.isfinite(v)]
        as_number = in_json(_numeric(expr, kind), finite) if finite else ("0", [])
        parts.append(join([as_text, as_number], "OR"))
    return join(parts, "OR") if parts else ("0", [])


def _condition(cond: Condition) -> Where:
    target = cond.target
    if isinstance(target, Column):
        column = f"events.{target.name}"
        if target.name == "collector_tstamp" and cond.op not in ("contains", "startswith"):
            if cond.op == "in":
                return in_json(column, list(cond.value))
            if cond.op == "isnull":
                return ("0" if cond.value else "1"), []
            return f"({column} {({'exact': '=', 'gt': '>', 'gte': '>=', 'lt': '<', 'lte': '<='})[cond.op]} ?)", [
                cond.value]
        return _compare(column, None, cond.op, cond.value, text_column=True)
    if isinstance(target, Param):
        expr = f"json_extract(events.parameters, '{_quote(json_path([target.key]))}')"
        return _compare(expr, None, cond.op, cond.value, text_column=False)
    path = json_path(target.path)
    scope, scope_params = (("n.kind = 'unstruct'", []) if target.entity == "unstruct"
                           else ("n.name = ?", [target.entity]))
    expr, kind = f"json_extract(n.data, '{_quote(path)}')", f"json_type(n.data, '{_quote(path)}')"
    if cond.op == "isnull":
        inner = f"{expr} IS NOT NULL"
        exists = f"EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id AND {scope} AND {inner})"
        return (f"(NOT {exists})" if cond.value else exists), scope_params
    inner, params = _compare(expr, kind, cond.op, cond.value, text_column=False)
    return (f"EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id AND {scope} AND {inner})",
            scope_params + params)


def _quote(path: str) -> str:
    return path.replace("'", "''")


def compile_clause(clause: Clause) -> Where:
    """Compile one clause into an SQL condition over `events` and its parameters."""
    if isinstance(clause, Condition):
        return _condition(clause)
    if isinstance(clause, Valid):
        return "(events.valid = ?)", [int(clause.value)]
    if isinstance(clause, Has):
        if clause.entity == "unstruct":
            return "EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id AND n.kind = 'unstruct')", []
        return "EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id AND n.name = ?)", [clause.entity]
    if isinstance(clause, Text):
        # The raw payload, plus the decoded entities (a tracker may have base64-encoded them).
        (params, p1), (data, p2), (qs, p3), (body, p4) = (_contains(e, clause.text) for e in (
            "events.parameters", "n.data", "r.querystring", "r.body"))
        return (f"({params} OR EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id AND {data}) OR "
                f"EXISTS (SELECT 1 FROM requests r WHERE r.id = events.request_id AND ({qs} OR {body})))"), [
            *p1, *p2, *p3, *p4]
    if isinstance(clause, AnyOf):
        return join([compile_clause(c) for c in clause.clauses], "OR")
    if isinstance(clause, Not):
        sql, params = compile_clause(clause.clause)
        return f"(NOT coalesce({sql}, 0))", params
    raise TypeError(f"not a filter clause: {clause!r}")


def compile_filter(flt: Filter) -> Where:
    """Compile a filter into a WHERE condition over `events` (`1` when empty) and its parameters."""
    return join([compile_clause(c) for c in flt.clauses], "AND")


def _cursor(where: Where, before: int | None = None, since: int | None = None) -> Where:
    sql, params = where
    params = list(params)
    if before is not None:
        sql, params = f"({sql}) AND events.id < ?", [*params, before]
    if since is not None:
        sql, params = f"({sql}) AND events.id > ?", [*params, since]
    return sql, params


def summaries(store: Store, where: Where, limit: int, before: int | None = None, since: int | None = None,
              oldest_first: bool = False) -> list[Summary]:
    """Return the summaries of matching rows, newest first unless `oldest_first`."""
    sql, params = _cursor(where, before, since)
    order = "ASC" if oldest_first else "DESC"
    rows = store.query(f"SELECT {SUMMARY_COLUMNS} FROM events WHERE {sql} ORDER BY id {order} LIMIT ?",
                       [*params, limit])
    return [Summary.from_row(r) for r in rows]


def count(store: Store, where: Where) -> int:
    """Count the matching rows."""
    return store.query(f"SELECT count(*) FROM events WHERE {where[0]}", where[1])[0][0]


def event_row(store: Store, key: str) -> sqlite3.Row | None:
    """Return the event row with this row id or event_id (the newest if an event id was sent twice)."""
    by_id = re.fullmatch(r"[0-9]+", key) is not None
    if by_id and (len(key) > 19 or int(key) > 2**63 - 1):
        return None  # beyond SQLite's row ids
    rows = store.query(f"SELECT * FROM events WHERE {'id' if by_id else 'event_id'} = ? ORDER BY id DESC LIMIT 1",
                       [int(key) if by_id else key])
    return rows[0] if rows else None


def rows_by_id(store: Store, ids: list[int]) -> list[sqlite3.Row]:
    """Return full event rows in id order."""
    if not ids:
        return []
    return store.query(f"SELECT * FROM events WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id", ids)


def latest(store: Store, where: Where) -> sqlite3.Row | None:
    """Return the newest matching event row."""
    rows = store.query(f"SELECT * FROM events WHERE {where[0]} ORDER BY id DESC LIMIT 1", where[1])
    return rows[0] if rows else None


def export_json(store: Store, where: Where) -> Iterator[str]:
    """Yield the canonical JSON of every matching event, oldest first, in constant memory."""
    sql = f"SELECT event_json FROM events WHERE ({where[0]}) AND event_json IS NOT NULL ORDER BY id"
    for row in store.iterate(sql, where[1]):
        yield row[0]


def grouped(store: Store, where: Where, expr: str, limit: int = 50) -> list[dict[str, Any]]:
    """Count matching rows by an SQL expression, most frequent first."""
    rows = store.query(f"SELECT {expr} AS value, count(*) AS n FROM events WHERE {where[0]} GROUP BY value "
                       "ORDER BY n DESC, value LIMIT ?", [*where[1], limit])
    return [{"value": r["value"], "count": r["n"]} for r in rows]


def stats(store: Store, where: Where, start: int, end: int) -> dict[str, Any]:
    """Return totals, counts by event, app and schema, and per-minute valid/invalid counts in [start, end]."""
    total, valid = store.query(f"SELECT count(*), coalesce(sum(valid), 0) FROM events WHERE {where[0]}",
                               where[1])[0]
    minute = 60_000
    first, last = start // minute * minute, end // minute * minute
    buckets = store.query(
        f"SELECT collector_tstamp / {minute} * {minute} AS start, coalesce(sum(valid), 0) AS valid, "
        f"coalesce(sum(1 - valid), 0) AS invalid FROM events WHERE ({where[0]}) AND collector_tstamp >= ? "
        "AND collector_tstamp <= ? GROUP BY 1 ORDER BY 1", [*where[1], first, end])
    seen = {r["start"]: {"start": r["start"], "valid": r["valid"], "invalid": r["invalid"]} for r in buckets}
    if (last - first) // minute <= 7 * 24 * 60:
        minutes = [seen.get(t, {"start": t, "valid": 0, "invalid": 0}) for t in range(first, last + 1, minute)]
    else:  # too long a range to list every minute: only the minutes that have events
        minutes = list(seen.values())
    return {
        "total": total, "valid": valid, "invalid": total - valid,
        "by_event": grouped(store, where, "coalesce(se_action, event_name, event)"),
        "by_app": grouped(store, where, "app_id"),
        "by_schema": grouped(store, where, "schema"),
        "minutes": minutes,
    }


def entity_rows(store: Store, rows: list[int], names: set[str]) -> list[sqlite3.Row]:
    """Return the entities with these schema names (or `unstruct`) of the given event rows, in order."""
    if not rows or not names:
        return []
    plain = [n for n in names if n != "unstruct"]
    cond = f"name IN ({', '.join('?' * len(plain))})" if plain else "0"
    if "unstruct" in names:
        cond = f"({cond} OR kind = 'unstruct')"
    return store.query(f"SELECT event_row, kind, name, data FROM entities WHERE event_row IN "
                       f"({', '.join('?' * len(rows))}) AND {cond} ORDER BY event_row, kind != 'unstruct', "
                       "position", [*rows, *plain])


def known_columns(store: Store, sample: int = 500) -> dict[str, list[str]]:
    """Return parameter keys and entity paths seen in the most recent stored data."""
    params: set[str] = set()
    for row in store.query("SELECT parameters FROM events WHERE parameters IS NOT NULL ORDER BY id DESC "
                           "LIMIT ?", [sample]):
        params.update(json.loads(row[0]))
    entities: list[tuple[str, str, str]] = []
    for row in store.query("SELECT kind, name, vendor, format, version, data FROM entities ORDER BY id DESC "
                           "LIMIT ?", [sample]):
        entities.append((row["kind"], f"iglu:{row['vendor']}/{row['name']}/{row['format']}/{row['version']}",
                         row["data"]))
    return {"params": sorted(params), "entities": [(k, s, json.loads(d)) for k, s, d in entities]}


def json_paths(value: Any, prefix: str = "", depth: int = 3) -> list[str]:
    """Return the dotted paths to the leaves of a JSON object, `depth` levels deep at most."""
    if not isinstance(value, dict) or depth == 0:
        return [prefix] if prefix else []
    out: list[str] = []
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.extend(json_paths(item, path, depth - 1) if isinstance(item, dict) else [path])
    return out



# -- Micro 4.x's paged API -----------------------------------------------------------------------------------

PROMOTED_SQL = frozenset(schema.FILTERABLE)


def field_expr(name: str) -> str:
    """Return the SQL expression of a canonical field: its promoted column, else a JSON lookup."""
    if name in PROMOTED_SQL:
        return f"events.{name}"
    return f"json_extract(events.event_json, '{_quote(json_path([name]))}')"


def _epoch_ms(text: str) -> int | None:
    try:
        return parse_iso_timestamp(text)
    except (ValueError, OverflowError):
        return None


def field_in(name: str, values: list[str]) -> Where:
    """Match rows whose canonical field, in its JSON form as text, is one of `values`.

    Times match by instant (`...:00Z` and `...:00.000Z` alike); booleans match `true` and `false`."""
    if name == "collector_tstamp":
        instants = [ms for ms in map(_epoch_ms, values) if ms is not None]
        return in_json("events.collector_tstamp", instants) if instants else ("0", [])
    if name in PROMOTED_SQL:
        return in_json(f"CAST(events.{name} AS TEXT)", values)
    path = _quote(json_path([name]))
    expr = (f"(CASE json_type(events.event_json, '{path}') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST(json_extract(events.event_json, '{path}') AS TEXT) END)")
    if name in TIMESTAMPS:  # stored as pipeline.fields.iso_timestamp wrote them
        values = [*values, *(_iso(ms) for ms in map(_epoch_ms, values) if ms is not None)]
    return in_json(expr, [v for v in values if v is not None])


def _iso(ms: int) -> str | None:
    try:
        return iso_timestamp(ms)
    except (ValueError, OverflowError, OSError):
        return None


def micro_where(fields: list[tuple[str, list[str]]], valid: bool | None = None, start: int | None = None,
                end: int | None = None, events_only: bool = True) -> Where:
    """Compile Micro 4's filters: canonical fields (each one of its values), validity, start <= time <= end."""
    parts: list[Where] = [("events.event_json IS NOT NULL", [])] if events_only else []
    parts += [field_in(name, values) for name, values in fields]
    if valid is not None:
        parts.append(("(events.valid = ?)", [int(valid)]))
    if start is not None:
        parts.append(("(events.collector_tstamp >= ?)", [start]))
    if end is not None:
        parts.append(("(events.collector_tstamp <= ?)", [end]))
    return join(parts, "AND")


def page(store: Store, where: Where, sort: str, desc: bool, limit: int, offset: int) -> list[str]:
    """Return a page of matching canonical events (JSON text), sorted by a canonical field, then row id."""
    direction = "DESC" if desc else "ASC"
    rows = store.query(f"SELECT event_json FROM events WHERE {where[0]} ORDER BY {field_expr(sort)} {direction}, "
                       f"id {direction} LIMIT ? OFFSET ?", [*where[1], limit, offset])
    return [r[0] for r in rows]


def iterate_sorted(store: Store, where: Where, sort: str, desc: bool) -> Iterator[str]:
    """Yield every matching canonical event (JSON text), sorted by a canonical field, then row id."""
    direction = "DESC" if desc else "ASC"
    for row in store.iterate(f"SELECT event_json FROM events WHERE {where[0]} ORDER BY {field_expr(sort)} "
                             f"{direction}, id {direction}", where[1]):
        yield row[0]


def valid_counts(store: Store, where: Where, start: int, end: int) -> tuple[int, int]:
    """Count valid and invalid matching rows with start <= collector_tstamp < end."""
    valid, invalid = store.query(
        f"SELECT coalesce(sum(valid), 0), coalesce(sum(1 - valid), 0) FROM events WHERE ({where[0]}) "
        "AND collector_tstamp >= ? AND collector_tstamp < ?", [*where[1], start, end])[0]
    return valid, invalid
