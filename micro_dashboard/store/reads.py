"""The read queries of the dashboard's own API: summaries, counts, one event, stats, exports, columns.

Each takes a parsed filter and returns typed objects; the SQL stays here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ..filters import Column, EntityField, Filter, Param, Target
from ..paths import MISSING, walk
from . import Store, StoredEvent, Summary, read_indexes
from .filter_sql import Where, compile_filter, row_ids, sqlite_json_path, value_lookup
from .models import SUMMARY_COLUMNS
from .packing import unpack_json
from .rows import dumps


def _cursor(where: Where, before: int | None = None, since: int | None = None) -> Where:
    sql, params = where
    params = list(params)
    if before is not None:
        sql, params = f"({sql}) AND events.id < ?", [*params, before]
    if since is not None:
        sql, params = f"({sql}) AND events.id > ?", [*params, since]
    return sql, params


def summaries(store: Store, flt: Filter, limit: int, before: int | None = None, since: int | None = None,
              oldest_first: bool = False, among: list[int] | None = None) -> list[Summary]:
    """Return the summaries of matching rows (only `among` these ids, if given), newest first unless `oldest_first`."""
    order = "ASC" if oldest_first else "DESC"
    if among is None and (rows := row_ids(flt)) is not None:
        # The page's row ids straight from the entities' index, in its order: never the list of every match.
        sub, params = rows
        bounds = [f"event_row {op} ?" for op, value in (("<", before), (">", since)) if value is not None]
        params = [*params, *(v for v in (before, since) if v is not None), limit]
        ids = (f"SELECT DISTINCT event_row FROM {sub} WHERE {' AND '.join(bounds) or '1'} "
               f"ORDER BY event_row {order} LIMIT ?")
        found = store._query(f"SELECT {SUMMARY_COLUMNS} FROM events WHERE id IN ({ids}) ORDER BY id {order}", params)
        return [Summary.from_row(r) for r in found]
    sql, params = _cursor(compile_filter(flt), before, since)
    if among is not None:
        sql, params = f"({sql}) AND events.id IN (SELECT value FROM json_each(?))", [*params, dumps(among)]
    found = store._query(f"SELECT {SUMMARY_COLUMNS} FROM events WHERE {sql} ORDER BY id {order} LIMIT ?",
                         [*params, limit])
    return [Summary.from_row(r) for r in found]


def _merged_from_value_index(store: Store, flt: Filter, limit: int | None) -> Where | None:
    """Return the SELECT of the first `limit` rows of an entity-field equality, merged from the value index's
    lookups (read_indexes.page_of_rows), or None for another filter.

    Used to count: the DISTINCT over every lookup's rows read them all (6.6 ms to cap a common value at 10,001 on a
    million events, 0.8 this way). A page is faster through row_ids (0.5 against 1.4 ms): SQLite stops early there."""
    if (lookup := value_lookup(flt)) is None:
        return None
    scope, scope_params, skeleton, pairs = lookup
    path_ids = [r[0] for r in store._query(*read_indexes.paths_sql(scope, scope_params, skeleton))]
    if not path_ids:
        return "SELECT NULL WHERE 0", []
    return read_indexes.merged_rows(path_ids, pairs, limit)


def count(store: Store, flt: Filter, up_to: int | None = None) -> int:
    """Count the matching rows, stopping after `up_to` of them if given (a list's total need not be exact)."""
    if not flt.clauses and not store.readonly:  # everything: the count the writes keep
        total = store.totals()["total"]
        return total if up_to is None else min(total, up_to)
    if (merged := _merged_from_value_index(store, flt, up_to)) is not None:  # read from the value index alone
        return store._query(f"SELECT count(*) FROM ({merged[0]})", merged[1])[0][0]
    if (rows := row_ids(flt)) is not None:  # read from the entities' indexes alone
        sql, params = rows
        capped = ("LIMIT ?", [up_to]) if up_to is not None else ("", [])
        return store._query(f"SELECT count(*) FROM (SELECT DISTINCT event_row FROM {sql} {capped[0]})",
                            [*params, *capped[1]])[0][0]
    sql, params = compile_filter(flt)
    if up_to is None:
        return store._query(f"SELECT count(*) FROM events WHERE {sql}", params)[0][0]
    return store._query(f"SELECT count(*) FROM (SELECT 1 FROM events WHERE {sql} LIMIT ?)", [*params, up_to])[0][0]


def event(store: Store, key: str) -> StoredEvent | None:
    """Return the event with this row id or event_id (the newest if an event id was sent twice), in full."""
    by_id = re.fullmatch(r"[0-9]+", key) is not None
    if by_id and (len(key) > 19 or int(key) > 2**63 - 1):
        return None  # beyond SQLite's row ids
    found = store._query(f"SELECT id FROM events WHERE {'id' if by_id else 'event_id'} = ? ORDER BY id DESC "
                         "LIMIT 1", [int(key) if by_id else key])
    return store.events([found[0][0]])[0] if found else None


def latest(store: Store, flt: Filter) -> StoredEvent | None:
    """Return the newest matching event, in full."""
    sql, params = compile_filter(flt)
    found = store._query(f"SELECT id FROM events WHERE {sql} ORDER BY id DESC LIMIT 1", params)
    return store.events([found[0][0]])[0] if found else None


EXPORT_PAGE = 500  # events per read transaction of an export


def export_fields(store: Store, flt: Filter) -> Iterator[dict[str, Any]]:
    """Yield the compact JSON form of every matching event, oldest first, in constant memory.

    Each page is its own short read: a slow reader never holds one snapshot open, which would keep the writer's
    log from being checkpointed (it grew by a GiB a minute under load). A checkpoint follows the export."""
    sql, params = compile_filter(flt)
    after = 0
    while page := store._query(f"SELECT id, event_json FROM events WHERE ({sql}) AND event_json IS NOT NULL "
                               "AND id > ? ORDER BY id LIMIT ?", [*params, after, EXPORT_PAGE]):
        after = page[-1][0]
        for row in page:
            yield unpack_json(row[1])
    store.checkpoint()


STATS_GROUPS = 50  # values listed per grouping of /api/stats


def _grouped(store: Store, where: Where, expr: str, limit: int = STATS_GROUPS) -> list[dict[str, Any]]:
    """Count matching rows by an SQL expression, most frequent first."""
    found = store._query(f"SELECT {expr} AS value, count(*) AS n FROM events WHERE {where[0]} GROUP BY value "
                         "ORDER BY n DESC, value LIMIT ?", [*where[1], limit])
    return [{"value": r["value"], "count": r["n"]} for r in found]


def stats(store: Store, flt: Filter, start: int, end: int) -> dict[str, Any]:
    """Return totals, counts by event, app and schema, and per-minute valid/invalid counts in [start, end]."""
    if not flt.clauses:
        return _kept_stats(store, start, end)
    where = compile_filter(flt)
    total, valid, unverified = store._query(
        f"SELECT count(*), coalesce(sum(valid), 0), coalesce(sum(valid AND unverified), 0) FROM events "
        f"WHERE {where[0]}", where[1])[0]
    minute = 60_000
    first, last = start // minute * minute, end // minute * minute
    buckets = store._query(
        f"SELECT collector_tstamp / {minute} * {minute} AS start, coalesce(sum(valid), 0) AS valid, "
        f"coalesce(sum(1 - valid), 0) AS invalid FROM events WHERE ({where[0]}) AND collector_tstamp >= ? "
        "AND collector_tstamp <= ? GROUP BY 1 ORDER BY 1", [*where[1], first, end])
    seen = {r["start"]: {"start": r["start"], "valid": r["valid"], "invalid": r["invalid"]} for r in buckets}
    minutes = _minutes(seen, first, last)
    return {
        "total": total, "valid": valid, "invalid": total - valid, "unverified": unverified,
        "by_event": _grouped(store, where, "coalesce(se_action, event_name, event)"),
        "by_app": _grouped(store, where, "app_id"),
        "by_schema": _grouped(store, where, "schema"),
        "minutes": minutes,
    }


def _kept_stats(store: Store, start: int, end: int) -> dict[str, Any]:
    """Return stats() of every event from the counts the writes keep (store/read_indexes.py), in one read
    transaction; only the minute `end` falls in is counted from the rows, up to `end` (the index on the time)."""
    minute = read_indexes.MINUTE
    first, last = start // minute * minute, end // minute * minute
    conn = store.reader
    conn.execute("BEGIN")  # one snapshot: the totals and the groupings agree
    try:
        totals = read_indexes.totals(conn)
        groups = {g: read_indexes.grouped(conn, g, STATS_GROUPS) for g in ("event", "app", "schema")}
        seen = {t: {"start": t, "valid": v, "invalid": i} for t, v, i in read_indexes.minutes(conn, first, last - 1)}
        valid, invalid = conn.execute(
            "SELECT coalesce(sum(valid), 0), coalesce(sum(1 - valid), 0) FROM events WHERE collector_tstamp >= ? "
            "AND collector_tstamp <= ?", [last, end]).fetchone()
        if valid or invalid:
            seen[last] = {"start": last, "valid": valid, "invalid": invalid}
    finally:
        conn.execute("COMMIT")
    return {"total": totals["total"], "valid": totals["good"], "invalid": totals["bad"],
            "unverified": totals["unverified"], "by_event": groups["event"], "by_app": groups["app"],
            "by_schema": groups["schema"], "minutes": _minutes(seen, first, last)}


def _minutes(seen: dict[int, dict[str, int]], first: int, last: int) -> list[dict[str, int]]:
    """List every minute from `first` to `last` (the ones without events as zeros), or only those with events
    when the range is too long to list."""
    minute = read_indexes.MINUTE
    if (last - first) // minute <= 7 * 24 * 60:
        return [seen.get(t, {"start": t, "valid": 0, "invalid": 0}) for t in range(first, last + 1, minute)]
    return [seen[t] for t in sorted(seen)]


def _found(value: Any) -> Any:
    return None if value is MISSING else value


def column_values(store: Store, ids: list[int], targets: dict[str, Target]) -> dict[int, dict[str, Any]]:
    """Return the requested column values of each row: canonical fields, `param.<k>`, `<entity>.<path>`."""
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return out
    names = {t.entity for t in targets.values() if isinstance(t, EntityField)}
    plain = sorted(n for n in names if n != "unstruct")
    entities: dict[int, list[tuple[str, str, Any]]] = {}
    if names:
        for e in store._query(
                "SELECT event_row, kind, name, data FROM entities WHERE event_row IN (SELECT value FROM json_each(?)) "
                "AND (name IN (SELECT value FROM json_each(?)) OR (? AND kind = 'unstruct')) "
                "ORDER BY event_row, kind != 'unstruct', position", [dumps(ids), dumps(plain), "unstruct" in names]):
            entities.setdefault(e["event_row"], []).append((e["kind"], e["name"], json.loads(e["data"])))
    for event in store.events(ids, full=False):
        fields, params = event.fields or {}, event.parameters or {}
        row = event.summary.to_json()
        for column, target in targets.items():
            if isinstance(target, Column):
                value = fields.get(target.name, row.get(target.name))
            elif isinstance(target, Param):
                value = params.get(target.key)
            else:
                value = next((_found(walk(data, target.path)) for kind, name, data in entities.get(event.id, [])
                              if (kind == "unstruct" if target.entity == "unstruct" else name == target.entity)),
                             None)
            out[event.id][column] = value
    return out


def known_columns(store: Store, sample: int = 500) -> tuple[list[str], list[tuple[str, str, str, Any]]]:
    """Return the parameter keys and the (kind, schema, name, data) of entities seen in recent stored data."""
    params: set[str] = set()
    for row in store._query("SELECT CAST(unpack(parameters) AS TEXT) FROM events WHERE parameters IS NOT NULL "
                            "ORDER BY id DESC LIMIT ?", [sample]):
        params.update(json.loads(row[0]))
    entities = [(row["kind"], row["schema"], row["name"], json.loads(row["data"])) for row in store._query(
        "SELECT kind, schema, name, data FROM entities ORDER BY id DESC LIMIT ?", [sample])]
    return sorted(params), entities


def leaf_paths(value: Any, prefix: str = "", depth: int = 3) -> list[str]:
    """Return the dotted paths to the leaves of a JSON object, `depth` levels deep at most."""
    if not isinstance(value, dict) or depth == 0:
        return [prefix] if prefix else []
    out: list[str] = []
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.extend(leaf_paths(item, path, depth - 1) if isinstance(item, dict) else [path])
    return out



# Entity fields and parameters have no index: their top values are counted over this many newest rows at most.
VALUES_SAMPLE = 5000


def top_values(store: Store, target: Target, prefix: str = "", limit: int = 10) -> list[dict[str, Any]]:
    """Return the most frequent values of a column, entity field or parameter (starting with `prefix`), with counts.

    A column is read through its index (a range on the prefix, then an index-only scan); an entity field or a
    parameter is read from the newest VALUES_SAMPLE rows that carry it."""
    if isinstance(target, Column):
        expr, source, params = f'"{target.name}"', "events", []
    elif isinstance(target, Param):
        path = sqlite_json_path([target.key]).replace("'", "''")
        expr = f"json_extract(CAST(unpack(parameters) AS TEXT), '{path}')"  # packed: store/packing.py
        source, params = "(SELECT parameters FROM events WHERE parameters IS NOT NULL ORDER BY id DESC LIMIT ?)", [
            VALUES_SAMPLE]
    else:
        path = sqlite_json_path(list(target.path)).replace("'", "''")
        expr = f"json_extract(data, '{path}')"
        which = "kind = 'unstruct'" if target.entity == "unstruct" else "name = ?"
        # Newest event rows first: the order of the (name, event_row) index, so no sort of every entity of the name.
        source = f"(SELECT data FROM entities WHERE {which} ORDER BY event_row DESC LIMIT ?)"
        params = [VALUES_SAMPLE] if target.entity == "unstruct" else [target.entity, VALUES_SAMPLE]
    where, more = f"{expr} IS NOT NULL", []
    if prefix:
        # A range rather than LIKE, so that a promoted column's index serves it.
        where, more = f"{expr} >= ? AND {expr} < ?", [prefix, prefix + "\U0010ffff"]
    found = store._query(f"SELECT {expr} AS value, count(*) AS n FROM {source} WHERE {where} GROUP BY 1 "
                         "ORDER BY n DESC, 1 LIMIT ?", [*params, *more, limit])
    return [{"value": r["value"], "count": r["n"]} for r in found]


def duplicates(store: Store, ids: list[int]) -> set[int]:
    """Return which of these rows carry an event_id an earlier row already had (a replay or a tracker's retry)."""
    if not ids:
        return set()
    found = store._query(
        "SELECT e.id FROM events e WHERE e.id IN (SELECT value FROM json_each(?)) AND e.event_id IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM events o WHERE o.event_id = e.event_id AND o.id < e.id)", [dumps(ids)])
    return {r[0] for r in found}
