"""The read queries of the dashboard's own API: summaries, counts, one event, stats, exports, columns."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from . import SUMMARY_COLUMNS, Store, Summary
from .filter_sql import Where


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
