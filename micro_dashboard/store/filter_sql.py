"""Compile parsed filters into SQL conditions over the events table (and its entities and requests).

What each operator means is in operators.OPERATORS; this module writes its SQL form for each kind of value."""

from __future__ import annotations

import json
import math
from typing import Any

from ..filters import AnyOf, Clause, Column, Condition, EntityField, Filter, Has, Not, Param, Text, Unverified, Valid
from ..operators import OPERATORS, Where
from ..paths import steps
from . import free_text, read_indexes


def sqlite_json_path(parts: tuple[str, ...] | list[str]) -> str:
    """Return the SQLite JSON path of a path read by paths.steps: an index step is `[n]`, a key is `."key"`.

    SQLite's quoted keys cannot hold a double quote, and the path is SQL text, which cannot hold a NUL:
    such a part raises ValueError (the filter parser rejects them first, naming the filter)."""
    out = "$"
    for step in steps(parts):
        if isinstance(step, str) and ('"' in step or "\x00" in step):
            raise ValueError(f"a JSON path part cannot contain a double quote or a NUL character: {step!r}")
        out += f"[{step}]" if isinstance(step, int) else f'."{step}"'
    return out


# The name store/micro_reads.py imports (it is not this module's owner's to edit).


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


class _Value:
    """The SQL forms of one value: a text column (`kind` None, `text_column`), a parameter, or a JSON value.

    `kind` is the value's json_type for JSON values, None when the value is text."""

    def __init__(self, expr: str, kind: str | None, text_column: bool):
        self.expr, self.kind, self.text_column = expr, kind, text_column

    def equals(self, value: Any) -> Where:
        """Equal: a number also matches its text; a boolean matches JSON true/false or the text of it."""
        expr, kind = self.expr, self.kind
        if isinstance(value, bool):
            word = "true" if value else "false"
            if kind is None:
                return f"({expr} = ?)", [word]
            return f"({kind} = ? OR ({kind} = 'text' AND {expr} = ?))", [word, word]
        if isinstance(value, (int, float)):
            if self.text_column:
                return f"({expr} = ?)", [str(value)]
            return f"({expr} = ? OR {_numeric(expr, kind)} = ?)", [str(value), value]
        if kind is not None:
            return f"({kind} = 'text' AND {expr} = ?)", [value]
        return f"({expr} = ?)", [value]

    def compare(self, sql_op: str, value: Any) -> Where:
        """Ordered: numbers numerically (numeric text included), text as text, booleans as 0/1."""
        expr, kind = self.expr, self.kind
        if isinstance(value, bool):
            return f"({expr} {sql_op} ?)", ["true" if value else "false"] if kind is None else [int(value)]
        if isinstance(value, (int, float)):
            return f"({_numeric(expr, kind)} {sql_op} ?)", [value]
        if kind is not None:
            return f"({kind} = 'text' AND {expr} {sql_op} ?)", [value]
        return f"({expr} {sql_op} ?)", [value]

    def substring(self, text: str, prefix: bool) -> Where:
        """The value's text contains (or starts with) `text`."""
        return _contains(self.expr, text, prefix)

    def member(self, values: tuple[Any, ...]) -> Where:
        """The same matches as one `equals` per value, but with one JSON array per kind of value."""
        expr, kind = self.expr, self.kind
        if self.text_column:
            return in_json(expr, [_text_of(v) for v in values])
        strings = [v for v in values if isinstance(v, str)]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        parts = [self.equals(v) for v in sorted(set(v for v in values if isinstance(v, bool)))]
        if strings:
            sql, params = in_json(expr, strings)
            parts.append((f"({kind} = 'text' AND {sql})", params) if kind is not None else (sql, params))
        if numbers:
            as_text = in_json(expr, [str(v) for v in numbers])
            finite = [v for v in numbers if math.isfinite(v)]
            as_number = in_json(_numeric(expr, kind), finite) if finite else ("0", [])
            parts.append(join([as_text, as_number], "OR"))
        return join(parts, "OR") if parts else ("0", [])

    def null(self, is_null: bool) -> Where:
        """Absent or null, or neither."""
        return f"({self.expr} IS {'' if is_null else 'NOT '}NULL)", []


class _TimeColumn(_Value):
    """A time column holding epoch milliseconds, compared with times already parsed; never null."""

    def __init__(self, column: str):
        super().__init__(column, None, text_column=True)

    def equals(self, value: Any) -> Where:
        return f"({self.expr} = ?)", [value]

    def compare(self, sql_op: str, value: Any) -> Where:
        return f"({self.expr} {sql_op} ?)", [value]

    def member(self, values: tuple[Any, ...]) -> Where:
        return in_json(self.expr, list(values))

    def null(self, is_null: bool) -> Where:
        return ("0" if is_null else "1"), []


class _CountedColumn(_Value):
    """A column whose distinct values are kept with their counts (read_indexes.COUNTED_COLUMNS): a substring or an
    ordered comparison is checked on those few values, then looked up in the column's index."""

    def __init__(self, column: str):
        super().__init__(f"events.{column}", None, text_column=True)
        self.grouping = read_indexes.COUNTED_COLUMNS[column]

    def _among_values(self, where: Where) -> Where:
        sql, params = where
        return (f"({self.expr} IN (SELECT c.value FROM event_counts c WHERE c.grouping = ? AND c.total > 0 "
                f"AND typeof(c.value) = 'text' AND {sql}))", [self.grouping, *params])

    def compare(self, sql_op: str, value: Any) -> Where:
        return self._among_values(_Value("c.value", None, text_column=True).compare(sql_op, value))

    def substring(self, text: str, prefix: bool) -> Where:
        return self._among_values(_contains("c.value", text, prefix))


def _rows_with_entities(where: str, params: list[Any]) -> Where:
    """Match event rows having an entity (`n`) that satisfies `where`.

    Driven from the entities table (its name index, one pass) rather than a correlated EXISTS per event row:
    3-43x faster on a million events, the same rows (a NULL event_row, which the writes never store, would make
    the IN unknown rather than false: negations coalesce it)."""
    return f"(events.id IN (SELECT n.event_row FROM entities n WHERE {where}))", params


def _value_pairs(value: Any) -> list[tuple[str, Any]]:
    """Return the (kind, value) pairs of read_indexes.entity_values that `_Value.equals(value)` matches on a JSON
    value: a string its text; a boolean JSON true/false or its text; a number a JSON number, a numeric text holding
    it, or its own text."""
    if isinstance(value, bool):
        word = "true" if value else "false"
        return [(read_indexes.BOOLEAN, word), (read_indexes.TEXT, word)]
    if isinstance(value, (int, float)):
        pairs = [(read_indexes.TEXT, str(value))]
        if math.isfinite(value):  # NaN equals nothing; an infinity is no JSON number
            pairs += [(read_indexes.NUMBER, value), (read_indexes.NUMERIC_TEXT, value)]
        return pairs
    return [(read_indexes.TEXT, value)]


class _EntityField:
    """A path inside entities of one name: the event matches when one of them does (isnull: when none has it).

    Equality and `in` are looked up in the index of entity values (store/read_indexes.py); the other operators
    read each entity of that name."""

    def __init__(self, entity: str, path: tuple[str, ...]):
        quoted = _quote(sqlite_json_path(path))
        self.value = _Value(f"json_extract(n.data, '{quoted}')", f"json_type(n.data, '{quoted}')", False)
        self.scope, self.scope_params = (("n.kind = 'unstruct'", []) if entity == "unstruct"
                                         else ("n.name = ?", [entity]))
        self.paths_scope, self.paths_params = (("p.unstruct = 1", []) if entity == "unstruct"
                                               else ("p.name = ?", [entity]))
        self.skeleton = read_indexes.path_skeleton(steps(path))

    def _any(self, where: Where) -> Where:
        sql, params = where
        return _rows_with_entities(f"{self.scope} AND {sql}", [*self.scope_params, *params])

    def _indexed(self, values: tuple[Any, ...]) -> Where:
        """Match rows with an entity whose leaf at the path equals one of `values`, through the value index."""
        assert self.skeleton is not None
        pairs = list(dict.fromkeys(pair for value in values for pair in _value_pairs(value)))
        sql, params = read_indexes.rows_with_values(self.paths_scope, self.paths_params, self.skeleton, pairs)
        return f"(events.id IN {sql})", params

    def equals(self, value: Any) -> Where:
        if self.skeleton is None:
            return self._any(self.value.equals(value))
        return self._indexed((value,))

    def compare(self, sql_op: str, value: Any) -> Where:
        return self._any(self.value.compare(sql_op, value))

    def substring(self, text: str, prefix: bool) -> Where:
        where = self.value.substring(text, prefix)
        query = fts_trigrams(text) if _verbatim_in_entity_data(text) else None
        if query is None:
            return self._any(where)
        # The entities of the events whose text (event_text: every entity's data) holds the rarest trigrams, and of
        # those not indexed yet (store/free_text.py); every entity of that name when even the rarest trigrams are
        # common (the index would then list more rows than that).
        match, match_params = _rare_trigrams("event_text", f"(SELECT max(id) FROM events) - {PROBE_ROWS}", text)
        sql, params = where
        return (f"(events.id IN (WITH z AS MATERIALIZED (SELECT {match} AS q) SELECT n.event_row FROM z "
                f"CROSS JOIN event_text f CROSS JOIN entities n WHERE z.q IS NOT NULL AND f.event_text MATCH z.q "
                f"AND n.event_row = f.rowid AND {self.scope} AND {sql} UNION ALL SELECT n.event_row FROM z "
                f"CROSS JOIN entities n WHERE z.q IS NOT NULL AND n.event_row > {free_text.INDEXED_THROUGH} "
                f"AND {self.scope} AND {sql} UNION ALL SELECT n.event_row FROM z "
                f"CROSS JOIN entities n WHERE z.q IS NULL AND {self.scope} AND {sql}))"), [
            *match_params, *self.scope_params, *params, *self.scope_params, *params, *self.scope_params, *params]

    def member(self, values: tuple[Any, ...]) -> Where:
        if self.skeleton is None:
            return self._any(self.value.member(values))
        return self._indexed(values) if values else ("0", [])

    def null(self, is_null: bool) -> Where:
        sql, params = self._any(self.value.null(False))
        return (f"(NOT coalesce({sql}, 0))" if is_null else sql), params


# Characters that make a substring of a field's text possibly absent from the entity's stored JSON: JSON escapes
# them (the quote, the backslash, control characters), they sit between tokens (which SQLite's rendering of an object
# or array drops whitespace around), or they are not ASCII (a writer may have escaped them as \uXXXX).
_NOT_VERBATIM = frozenset('"\\,:[]{}') | frozenset(map(chr, range(32))) | frozenset(chr(127))
# The characters of SQLite's text of a number (json_extract gives a number, which CAST writes its own way: 1e+16 as
# 1.0e+16, 17 digits rounded to 15, an infinity as Inf), lower-cased as the substring check lowers it.
_NUMBER_TEXT = frozenset("0123456789.+-einf")


def _verbatim_in_entity_data(text: str) -> bool:
    """Return whether every text of an entity field containing `text` (ASCII case aside) holds it as it is in the
    entity's stored JSON, so that the free-text index of that JSON can narrow the search: a string's characters and
    an object's or array's tokens are stored as SQLite renders them, but not across an escape or a token boundary,
    and not a number's text (nor a boolean's 1 or 0, shorter than the 3 characters the index needs), nor `null`
    (newer SQLite renders a stored NaN so)."""
    return (text.isascii() and not _NOT_VERBATIM.intersection(text)
            and not set(_ascii_lower(text)) <= _NUMBER_TEXT and _ascii_lower(text) not in "null")


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _forms(target: Column | Param | Any) -> _Value | _EntityField:
    """Return the SQL forms of what a condition compares."""
    if isinstance(target, Column):
        column = f"events.{target.name}"
        if target.name == "collector_tstamp":
            return _TimeColumn(column)
        if target.name in read_indexes.COUNTED_COLUMNS:
            return _CountedColumn(target.name)
        return _Value(column, None, text_column=True)
    if isinstance(target, Param):
        return _Value(f"json_extract(CAST(unpack(events.parameters) AS TEXT), "  # packed: store/packing.py
                      f"'{_quote(sqlite_json_path([target.key]))}')", None, False)
    return _EntityField(target.entity, target.path)


def _condition(cond: Condition) -> Where:
    op = OPERATORS[cond.op]
    if op.negates:
        return compile_clause(Not(Condition(cond.target, op.negates, cond.value)))
    assert op.sql is not None  # only negating operators have no SQL form of their own
    return op.sql(_forms(cond.target), cond.value)


def _quote(path: str) -> str:
    return path.replace("'", "''")


def compile_clause(clause: Clause) -> Where:
    """Compile one clause into an SQL condition over `events` and its parameters."""
    if isinstance(clause, Condition):
        return _condition(clause)
    if isinstance(clause, Valid):
        return "(events.valid = ?)", [int(clause.value)]
    if isinstance(clause, Unverified):
        # As /api/stats counts them: an event found invalid is invalid, whatever could not be checked besides.
        # Through the partial index of unverified rows (the unary + keeps SQLite from the index on valid instead).
        return "(events.unverified = 1 AND +events.valid = 1)", []
    if isinstance(clause, Has):
        if clause.entity == "unstruct":
            return _rows_with_entities("n.kind = 'unstruct'", [])
        return _rows_with_entities("n.name = ?", [clause.entity])
    if isinstance(clause, Text):
        return _free_text(clause.text)
    if isinstance(clause, AnyOf):
        return join([compile_clause(c) for c in clause.clauses], "OR")
    if isinstance(clause, Not):
        sql, params = compile_clause(clause.clause)
        return f"(NOT coalesce({sql}, 0))", params
    raise TypeError(f"not a filter clause: {clause!r}")


# Trigrams of a search asked of the free-text index at most (the substring check on its candidates is exact anyway).
MAX_TRIGRAMS = 32


def fts_trigrams(text: str) -> str | None:
    """Return the FTS5 query for rows holding every trigram of `text`, or None when the index cannot narrow the
    search: fewer than 3 characters, or a NUL (the query string would end there)."""
    if len(text) < 3 or "\x00" in text:
        return None
    grams = list(dict.fromkeys(text[i:i + 3] for i in range(len(text) - 2)))
    if len(grams) > MAX_TRIGRAMS:  # spread over the whole text, the first and last included
        grams = [grams[round(i * (len(grams) - 1) / (MAX_TRIGRAMS - 1))] for i in range(MAX_TRIGRAMS)]
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


# How the rarest trigrams of a search are found: each trigram's rows among the newest PROBE_ROWS event rows are
# counted, up to PROBE_CAP. Reading a trigram's rows costs as many as it has (one held by every event row took 26 ms
# of a search's 37 at 495k events), and the rare ones alone already leave few candidates for the exact check.
PROBE_ROWS = 5_000
PROBE_CAP = 200
PROBED_TRIGRAMS = 8


def _rare_trigrams(index: str, newest: str, text: str) -> Where:
    """Return an SQL expression of the FTS5 query of the rarest trigrams of `text` (fts_trigrams) in `index`: those
    seen at most twice as often as the rarest among the rows from `newest` on; NULL when even the rarest is seen
    PROBE_CAP times there. Any subset of the trigrams finds a superset of the rows holding the text, so the estimate
    decides only the speed; it is made once per statement (the subquery is not correlated)."""
    query = fts_trigrams(text)
    assert query is not None
    grams = query.split(" AND ")
    # Each probe opens the trigram in every segment of the index: probe the trigrams that do not overlap (and the
    # last), which already cover every character of the text.
    probed = [*grams[::3], *([grams[-1]] if (len(grams) - 1) % 3 else [])][:PROBED_TRIGRAMS]
    probe = (f"SELECT g.value AS gram, (SELECT count(*) FROM (SELECT 1 FROM {index} WHERE {index} MATCH g.value "
             f"AND rowid >= {newest} LIMIT ?)) AS seen FROM json_each(?) g")
    return (f"(WITH probe AS MATERIALIZED ({probe}) SELECT group_concat(gram, ' AND ') FROM probe "
            f"WHERE seen <= 2 * (SELECT min(seen) FROM probe) HAVING min(seen) < {PROBE_CAP})"), [
        PROBE_CAP, json.dumps(probed)]


def _free_text(text: str) -> Where:
    """Match the raw payload or the decoded entities (a tracker may have base64-encoded them) containing `text`.

    The FTS5 trigram indexes (store/schema.py step 3) give the candidate rows; the substring check on them keeps
    SQLite's ASCII-only case folding (the index folds all of Unicode, so it finds a superset)."""
    (params, p1), (data, p2), (qs, p3), (body, p4) = (_contains(e, text) for e in (
        "unpack(events.parameters)", "n.data", "unpack(r.querystring)", "unpack(r.body)"))  # store/packing.py
    exact = (f"({params} OR EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id AND {data}) OR "
             f"EXISTS (SELECT 1 FROM requests r WHERE r.id = events.request_id AND ({qs} OR {body})))")
    exact_params = [*p1, *p2, *p3, *p4]
    query = fts_trigrams(text)
    if query is None:
        return exact, exact_params
    return (f"(events.id IN (SELECT rowid FROM event_text WHERE event_text MATCH ? UNION SELECT t.id FROM events t "
            f"WHERE t.request_id IN (SELECT rowid FROM request_text WHERE request_text MATCH ?) "
            f"UNION {free_text.UNINDEXED_ROWS}) AND {exact})"), [query, query, *exact_params]


def row_ids(flt: Filter) -> Where | None:
    """Return a query of the event row ids (column `event_row`, maybe repeated) that a one-clause filter reads from
    the entities alone (has:, entity-field equality and `in`), so that a count need not visit the events rows (every
    stored entity belongs to a stored events row); None for any other filter."""
    if len(flt.clauses) != 1:
        return None
    clause = flt.clauses[0]
    if isinstance(clause, Has):
        if clause.entity == "unstruct":
            return "(SELECT n.event_row FROM entities n WHERE n.kind = 'unstruct')", []
        return "(SELECT n.event_row FROM entities n WHERE n.name = ?)", [clause.entity]
    if (lookup := value_lookup(flt)) is not None:
        return read_indexes.rows_with_values(*lookup)
    return None


def value_lookup(flt: Filter) -> tuple[str, list[Any], str, list[tuple[str, Any]]] | None:
    """Return what the value index answers a one-clause entity-field equality or `in` with: the scope of its paths
    (over entity_paths `p`), the scope's parameters, the path's skeleton and the (kind, value) pairs; else None."""
    if len(flt.clauses) != 1:
        return None
    clause = flt.clauses[0]
    if isinstance(clause, Condition) and isinstance(clause.target, EntityField) and clause.op in ("exact", "in"):
        field = _EntityField(clause.target.entity, clause.target.path)
        values = (clause.value,) if clause.op == "exact" else tuple(clause.value)
        if field.skeleton is None or not values:
            return None
        pairs = list(dict.fromkeys(pair for value in values for pair in _value_pairs(value)))
        return field.paths_scope, field.paths_params, field.skeleton, pairs
    return None


def compile_filter(flt: Filter) -> Where:
    """Compile a filter into a WHERE condition over `events` (`1` when empty) and its parameters."""
    return join([compile_clause(c) for c in flt.clauses], "AND")
