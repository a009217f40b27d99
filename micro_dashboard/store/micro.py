"""The queries behind Snowplow Micro's classic API."""

from __future__ import annotations

import json
import sqlite3

from . import Store


def good_rows(store: Store, event_type: str | None = None, schema: str | None = None,
              contexts: list[str] | None = None, limit: int | None = None) -> list[sqlite3.Row]:
    """Return valid event rows, newest first, filtered as Micro's POST /micro/good does."""
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
    sql = f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return store.query(sql, params)


def bad_rows(store: Store, vendor: str | None = None, version: str | None = None,
             limit: int | None = None) -> list[sqlite3.Row]:
    """Return invalid rows (bad events and unreadable requests), newest first."""
    where, params = ["e.valid = 0"], []
    if vendor is not None:
        where.append("r.vendor = ?")
        params.append(vendor)
    if version is not None:
        where.append("r.version = ?")
        params.append(version)
    sql = (f"SELECT e.* FROM events e JOIN requests r ON r.id = e.request_id WHERE {' AND '.join(where)} "
           "ORDER BY e.id DESC")
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return store.query(sql, params)
