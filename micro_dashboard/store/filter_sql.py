"""Compile parsed filters into SQL conditions over the events table (and its entities and requests)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..filters import AnyOf, Clause, Column, Condition, Filter, Has, Not, Param, Text, Valid

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
