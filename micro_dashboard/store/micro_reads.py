"""The queries behind Snowplow Micro's API: the classic good/bad lists and Micro 4.x's paged events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..columns import FILTERABLE
from ..pipeline.fields import TIMESTAMPS, iso_timestamp, parse_iso_timestamp
from . import Store, StoredEvent
from .filter_sql import Where, _quote, in_json, join, sqlite_json_path
from .packing import unpack_json, unpacked

EVENT_JSON_SQL = unpacked("events.event_json")  # packed from schema step 7 on: store/packing.py


def good_events(store: Store, event_type: str | None = None, schema: str | None = None,
                contexts: list[str] | None = None, limit: int | None = None) -> Iterator[StoredEvent]:
    """Yield valid events in full, newest first, filtered as Micro's POST /micro/good does (in bounded batches)."""
    where, params = ["valid = 1"], []
    if event_type is not None:
        where.append("event = ?")
        params.append(event_type)
    if schema is not None:
        where.append("schema = ?")
        params.append(schema)
    if contexts:  # every URI is among the event's contexts; one JSON array, however many URIs
        where.append("NOT EXISTS (SELECT 1 FROM json_each(?) c WHERE NOT EXISTS (SELECT 1 FROM entities n WHERE "
                     "n.event_row = events.id AND n.kind = 'context' AND n.schema = c.value))")
        params.append(json.dumps(contexts))
    return _events(store, f"SELECT id FROM events WHERE {' AND '.join(where)}", "id", params, limit)


def bad_events(store: Store, vendor: str | None = None, version: str | None = None,
               limit: int | None = None) -> Iterator[StoredEvent]:
    """Yield invalid rows (bad events and unreadable requests) in full, newest first (in bounded batches)."""
    where, params = ["e.valid = 0"], []
    if vendor is not None:
        where.append("r.vendor = ?")
        params.append(vendor)
    if version is not None:
        where.append("r.version = ?")
        params.append(version)
    return _events(store, f"SELECT e.id FROM events e JOIN requests r ON r.id = e.request_id "
                          f"WHERE {' AND '.join(where)}", "e.id", params, limit)


STREAM_BATCH = 200  # events read (and held) at a time by a streamed answer


def _events(store: Store, sql: str, id_column: str, params: list[Any], limit: int | None) -> Iterator[StoredEvent]:
    """Yield the events `sql` selects the ids of, newest first, a batch at a time (each its own short read)."""
    before: int | None = None
    remaining = limit
    while remaining is None or remaining > 0:
        size = STREAM_BATCH if remaining is None else min(STREAM_BATCH, remaining)
        page = f"{sql} AND {id_column} < ?" if before is not None else sql
        ids = [r[0] for r in store._query(f"{page} ORDER BY {id_column} DESC LIMIT ?",
                                          [*params, *([] if before is None else [before]), size])]
        found = {e.id: e for e in store.events(ids)}
        yield from (found[i] for i in ids if i in found)  # a row deleted in between is left out
        if len(ids) < size:
            return
        before = ids[-1]
        if remaining is not None:
            remaining -= len(ids)


# -- Micro 4.x's paged API -----------------------------------------------------------------------------------

PROMOTED_SQL = frozenset(FILTERABLE)


def field_expr(name: str) -> str:
    """Return the SQL expression of a canonical field: its promoted column, else a JSON lookup."""
    if name in PROMOTED_SQL:
        return f"events.{name}"
    return f"json_extract({EVENT_JSON_SQL}, '{_quote(sqlite_json_path([name]))}')"


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
    path = _quote(sqlite_json_path([name]))
    expr = (f"(CASE json_type({EVENT_JSON_SQL}, '{path}') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST(json_extract({EVENT_JSON_SQL}, '{path}') AS TEXT) END)")
    if name in TIMESTAMPS:  # stored as pipeline.fields.iso_timestamp wrote them
        values = [*values, *(_iso(ms) for ms in map(_epoch_ms, values) if ms is not None)]
    return in_json(expr, [v for v in values if v is not None])


def _iso(ms: int) -> str | None:
    try:
        return iso_timestamp(ms)
    except (ValueError, OverflowError, OSError):
        return None


@dataclass
class MicroQuery:
    """Micro 4's filters: canonical fields (each one of its values), validity, start <= time <= end."""

    fields: list[tuple[str, list[str]]] = field(default_factory=list)
    valid: bool | None = None
    start: int | None = None
    end: int | None = None
    events_only: bool = True  # leave out the rows of requests nothing could be decoded from


def _micro_where(query: MicroQuery) -> Where:
    """Compile Micro 4's filters."""
    parts: list[Where] = [("events.event_json IS NOT NULL", [])] if query.events_only else []
    parts += [field_in(name, values) for name, values in query.fields]
    if query.valid is not None:
        parts.append(("(events.valid = ?)", [int(query.valid)]))
    if query.start is not None:
        parts.append(("(events.collector_tstamp >= ?)", [query.start]))
    if query.end is not None:
        parts.append(("(events.collector_tstamp <= ?)", [query.end]))
    return join(parts, "AND")


def count(store: Store, query: MicroQuery) -> int:
    """Count the rows Micro 4's filters match."""
    where = _micro_where(query)
    return store._query(f"SELECT count(*) FROM events WHERE {where[0]}", where[1])[0][0]


def page(store: Store, query: MicroQuery, sort: str, desc: bool, limit: int, offset: int) -> list[dict[str, Any]]:
    """Return a page of matching events (compact JSON form), sorted by a canonical field, then row id."""
    where = _micro_where(query)
    direction = "DESC" if desc else "ASC"
    rows = store._query(f"SELECT event_json FROM events WHERE {where[0]} ORDER BY {field_expr(sort)} {direction}, "
                       f"id {direction} LIMIT ? OFFSET ?", [*where[1], limit, offset])
    return [unpack_json(r[0]) for r in rows]


def iterate_sorted(store: Store, query: MicroQuery, sort: str, desc: bool) -> Iterator[dict[str, Any]]:
    """Yield every matching event (compact JSON form), sorted by a canonical field, then row id."""
    where = _micro_where(query)
    direction = "DESC" if desc else "ASC"
    for row in store._iterate(f"SELECT event_json FROM events WHERE {where[0]} ORDER BY {field_expr(sort)} "
                             f"{direction}, id {direction}", where[1]):
        yield unpack_json(row[0])


def valid_counts(store: Store, query: MicroQuery, start: int, end: int) -> tuple[int, int]:
    """Count valid and invalid matching rows with start <= collector_tstamp < end."""
    where = _micro_where(query)
    valid, invalid = store._query(
        f"SELECT coalesce(sum(valid), 0), coalesce(sum(1 - valid), 0) FROM events WHERE ({where[0]}) "
        "AND collector_tstamp >= ? AND collector_tstamp < ?", [*where[1], start, end])[0]
    return valid, invalid


# added for GET /micro/events
def good_and_incomplete_events(store: Store) -> Iterator[StoredEvent]:
    """Yield, in full and newest first, every row an event was read from: Micro's good and incomplete events."""
    return _events(store, "SELECT id FROM events WHERE event_json IS NOT NULL", "id", [], None)
