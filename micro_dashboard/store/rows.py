"""The writes of one transaction: a received request, the events decoded from it, their entities and failures."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ..columns import GITLAB_SUMMARY, PROMOTED, SUMMARY_PROMOTED
from ..pipeline import Event, Failure, Outcome, RawPayload
from ..pipeline.fields import to_compact_json_form
from . import entity_leaves, free_text, read_indexes
from .models import SUMMARY_COLUMNS, Summary
from .packing import FORMAT_DEFLATE_EVENT, dumps, pack, pack_headers, pack_json

GITLAB_STANDARD = "gitlab_standard"


def problems_json(failures: list[Failure]) -> list[dict[str, Any]]:
    """Return the sentences of some failures as a summary lists them."""
    return [{"type": f.type, "path": p.path, "message": p.message, "schema": p.schema}
            for f in failures for p in f.problems]


def event_schema(fields: dict[str, Any]) -> str | None:
    """Return the iglu URI of an event's type, when all four parts are known."""
    parts = [fields.get(k) for k in ("event_vendor", "event_name", "event_format", "event_version")]
    return "iglu:{}/{}/{}/{}".format(*parts) if all(parts) else None


def gitlab_ids(event: Event) -> dict[str, Any] | None:
    """Return the ids and plan a GitLab row shows, from the event's first gitlab_standard context."""
    for entity in event.entities:
        if entity.kind == "context" and entity.schema.split("/")[1:2] == [GITLAB_STANDARD]:
            data = entity.data if isinstance(entity.data, dict) else {}
            return {k: data[k] for k in GITLAB_SUMMARY if data.get(k) is not None}
    return None


def request_values(raw: RawPayload) -> tuple[Any, ...]:
    """Return a request's row values, packed (by the caller's thread, before the write transaction)."""
    return (raw.timestamp, raw.method, raw.path, raw.vendor, raw.version, pack(raw.querystring), pack(raw.body),
            raw.body_size, raw.content_type, pack_headers(raw.headers, raw.useragent, raw.referer), raw.ip, None,
            None, raw.hostname, raw.network_userid)


def insert_request(conn: sqlite3.Connection, raw: RawPayload | tuple[Any, ...]) -> int:
    """Store a request as received (or its request_values); return its id."""
    cur = conn.execute(
        "INSERT INTO requests (received_at, method, path, vendor, version, querystring, body, body_size, "
        "content_type, headers, ip, useragent, referer, hostname, network_userid) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        raw if isinstance(raw, tuple) else request_values(raw),
    )
    return cur.lastrowid


# The columns an event row is written with, besides its id and request.
EVENT_VALUES = ("event_id", "valid", "unverified", "collector_tstamp", "schema", *PROMOTED, "se_value", "gitlab",
                "event_json", "parameters", "contexts", "problems")


def _event_values(event: Event) -> tuple[Any, ...]:
    f = event.fields
    contexts = [e.schema for e in event.entities if e.kind == "context"]
    gitlab = gitlab_ids(event)
    return (f.get("event_id"), int(event.valid), int(event.unverified), f["collector_tstamp"], event_schema(f),
            *(f.get(c) for c in PROMOTED), f.get("se_value"), None if gitlab is None else dumps(gitlab),
            pack(dumps(to_compact_json_form(f)), FORMAT_DEFLATE_EVENT), pack_json(event.parameters), dumps(contexts),
            dumps(problems_json(event.failures)))


def _summary_values(event: Event) -> tuple[Any, ...]:
    f = event.fields
    return (f.get("event_id"), event.valid, event.unverified, f["collector_tstamp"], event_schema(f),
            *(f.get(c) for c in SUMMARY_PROMOTED), f.get("se_value"), gitlab_ids(event), problems_json(event.failures))


@dataclass
class Encoded:
    """What is stored of one event, serialised and packed before the write transaction: the writer thread, which
    every write waits for, then runs little more than SQLite (which lets go of the GIL)."""

    values: tuple[Any, ...]
    entities: list[tuple[Any, ...]]  # without the event row's id
    leaves: list[entity_leaves.EntityLeaves]  # the entities' leaves, for entity_values
    failures: list[tuple[Any, ...]]  # without the request's and the event row's ids
    summary: tuple[Any, ...]  # without the event row's id


def encode(event: Event) -> Encoded:
    """Serialise and pack an event's rows."""
    entities, leaves = _entity_values(event)
    return Encoded(_event_values(event), entities, leaves, _failure_values(event.failures), _summary_values(event))


def encode_outcome(outcome: Outcome) -> list[Encoded]:
    """Serialise and pack the rows of the events decoded from one request (insert_outcome takes them)."""
    return [encode(event) for event in outcome.events]


def insert_event(conn: sqlite3.Connection, request_id: int, event: Event, encoded: Encoded | None = None) -> Summary:
    """Store one decoded event with its entities and failures."""
    encoded = encoded or encode(event)
    cur = conn.execute(f"INSERT INTO events (request_id, {', '.join(EVENT_VALUES)}) "
                       f"VALUES ({', '.join('?' * (1 + len(EVENT_VALUES)))})", (request_id, *encoded.values))
    _insert_parts(conn, request_id, cur.lastrowid, encoded)
    return Summary(cur.lastrowid, *encoded.summary)


def update_event(conn: sqlite3.Connection, row: int, request_id: int, event: Event) -> Summary:
    """Replace what was decoded into an event row, keeping its id (a cursor clients already hold)."""
    free_text.reindex_event(conn, row, remove=True)
    encoded = encode(event)
    conn.execute(f"UPDATE events SET {', '.join(f'{c} = ?' for c in EVENT_VALUES)} WHERE id = ?",
                 (*encoded.values, row))
    # Its entities are replaced: their values leave the index (the new ones enter it with them). A row the new
    # outcome has no event for keeps its entities, and their values.
    read_indexes.forget_entities(conn, "n.event_row = ?", (row,))
    conn.execute("DELETE FROM entities WHERE event_row = ?", (row,))
    conn.execute("DELETE FROM failures WHERE event_row = ?", (row,))
    _insert_parts(conn, request_id, row, encoded)
    free_text.reindex_event(conn, row, remove=False)
    return Summary(row, *encoded.summary)


def _entity_values(event: Event) -> tuple[list[tuple[Any, ...]], list[entity_leaves.EntityLeaves]]:
    """Return the entities' rows and their leaves (computed here, outside the writer thread)."""
    values, leaves = [], []
    for e in event.entities:
        parts = e.schema[len("iglu:"):].split("/")  # vendor, name, format, version
        data = dumps(e.data)
        values.append((e.kind, e.position, e.schema, *parts, data, e.status, e.note))
        leaves.append((parts[1] if len(parts) > 1 else None, e.kind, data, entity_leaves.leaves(e.data)))
    return values, leaves


def _failure_values(failures: list[Failure]) -> list[tuple[Any, ...]]:
    return [(f.type, pack_json(f.bad_row), dumps(problems_json([f]))) for f in failures]


def _insert_parts(conn: sqlite3.Connection, request_id: int, row: int, encoded: Encoded) -> None:
    conn.executemany(
        "INSERT INTO entities (event_row, kind, position, schema, vendor, name, format, version, data, status, "
        "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(row, *values) for values in encoded.entities])
    entity_leaves.add_values(conn, row, encoded.leaves)
    conn.executemany("INSERT INTO failures (request_id, event_row, type, bad_row, problems) VALUES (?, ?, ?, ?, ?)",
                     [(request_id, row, *values) for values in encoded.failures])


def insert_unreadable(conn: sqlite3.Connection, request_id: int, received_at: int,
                      failures: list[Failure]) -> Summary:
    """Store the (invalid, eventless) row of a request nothing could be decoded from.

    It is listed, counted, pushed and waited on like any other row."""
    problems = problems_json(failures)
    cur = conn.execute("INSERT INTO events (request_id, valid, collector_tstamp, problems) VALUES (?, 0, ?, ?)",
                       (request_id, received_at, dumps(problems)))
    insert_failures(conn, request_id, cur.lastrowid, failures)
    return summary_of(conn, cur.lastrowid)


def insert_failures(conn: sqlite3.Connection, request_id: int, row: int, failures: list[Failure]) -> None:
    """Store the bad rows of an event row."""
    conn.executemany("INSERT INTO failures (request_id, event_row, type, bad_row, problems) VALUES (?, ?, ?, ?, ?)",
                     [(request_id, row, *values) for values in _failure_values(failures)])


def newest_row(conn: sqlite3.Connection) -> int:
    """Return the newest event row id ever handed out (rows inserted from now on have larger ids)."""
    found = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return found[0] if found else 0


def summary_of(conn: sqlite3.Connection, row: int) -> Summary:
    """Read one row's summary back inside the current transaction."""
    return Summary.from_row(conn.execute(f"SELECT {SUMMARY_COLUMNS} FROM events WHERE id = ?", (row,)).fetchone())


def insert_outcome(conn: sqlite3.Connection, request_id: int, received_at: int, outcome: Outcome,
                   encoded: list[Encoded] | None = None) -> list[Summary]:
    """Store everything decoded from one request (its events' rows encoded already by encode_outcome, or here)."""
    encoded = encoded or encode_outcome(outcome)
    summaries = [insert_event(conn, request_id, event, values) for event, values in zip(outcome.events, encoded)]
    if outcome.failures:
        summaries.append(insert_unreadable(conn, request_id, received_at, outcome.failures))
    return summaries  # the free-text indexes take them later (store/free_text.py)


def replace_outcome(conn: sqlite3.Connection, request_id: int, received_at: int,
                    outcome: Outcome) -> tuple[list[Summary], list[Summary]]:
    """Decode a request again in place: its rows keep their ids; return (updated, inserted) summaries."""
    old = conn.execute("SELECT id, event_id FROM events WHERE request_id = ? ORDER BY id", (request_id,)).fetchall()
    updated: list[Summary] = []
    for (row, event_id), event in zip(old, outcome.events):
        if "eid" not in event.parameters:  # an id made up for an event that came without one stays the same
            event.fields["event_id"] = event_id
        updated.append(update_event(conn, row, request_id, event))
    inserted = [insert_event(conn, request_id, event) for event in outcome.events[len(old):]]
    leftover = [r[0] for r in old[len(outcome.events):]]
    if leftover and outcome.failures:
        conn.execute("DELETE FROM failures WHERE event_row = ?", (leftover[0],))
        insert_failures(conn, request_id, leftover[0], outcome.failures)
        updated.append(summary_of(conn, leftover[0]))
    return updated, inserted
