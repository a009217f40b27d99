"""The queries that re-check events whose schemas could not be resolved when they arrived."""

from __future__ import annotations

import json
import time
from typing import Any

from ..pipeline import RawPayload, Verdict, failures
from ..pipeline.fields import TIMESTAMPS, iso_timestamp, parse_iso_timestamp
from . import Store, dumps


def unverified_schemas(store: Store, rows: list[int] | None = None) -> list[str]:
    """Return the schemas of stored entities that are still unverified (of the given event rows, or all)."""
    sql = "SELECT DISTINCT schema FROM entities WHERE status = 'unverified'"
    if rows is None:
        return [r[0] for r in store.query(sql)]
    return [r[0] for r in store.query(f"{sql} AND event_row IN ({', '.join('?' * len(rows))})", rows)]


def unverified_entities(store: Store, schema: str) -> list[dict[str, Any]]:
    """Return the stored entities of one schema that are still unverified, with their data decoded."""
    rows = store.query("SELECT id, event_row, kind, position, data FROM entities "
                       "WHERE schema = ? AND status = 'unverified' ORDER BY id", (schema,))
    return [{**dict(r), "data": json.loads(r["data"]), "schema": schema} for r in rows]


def record_revalidation(store: Store, entity: dict[str, Any], verdict: Verdict) -> None:
    """Store a late verdict on an entity; an invalid one makes its event invalid with a failure."""
    with store.transaction() as conn:
        conn.execute("UPDATE entities SET status = ?, note = ? WHERE id = ?",
                     (verdict.status, verdict.note, entity["id"]))
        if verdict.status == "invalid":
            where = "the self-describing event" if entity["kind"] == "unstruct" else f"context {entity['position']}"
            problems = verdict.problems or []
            for problem in problems:
                problem.schema = problem.schema or entity["schema"]
                problem.message = f"{problem.message} ({where}, checked after its schema became available)"
            event = conn.execute("SELECT request_id, problems, event_json, parameters FROM events WHERE id = ?",
                                 (entity["event_row"],)).fetchone()
            request_id, listed = event["request_id"], event["problems"]
            request = conn.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
            failure = failures.schema_violation(
                _raw_payload(request), json.loads(event["parameters"] or "{}"), _fields(event["event_json"]),
                [{"schemaKey": entity["schema"], "error": verdict.error}], problems)
            # The payload keeps when the request was received; the failure is dated when it was found.
            failure.bad_row["data"]["failure"]["timestamp"] = iso_timestamp(int(time.time() * 1000))
            found = [{"type": failure.type, "path": p.path, "message": p.message, "schema": p.schema} for p in problems]
            conn.execute("INSERT INTO failures (request_id, event_row, type, bad_row, problems) VALUES (?, ?, ?, ?, ?)",
                         (request_id, entity["event_row"], failure.type, dumps(failure.bad_row), dumps(found)))
            conn.execute("UPDATE events SET valid = 0, problems = ? WHERE id = ?",
                         (dumps(json.loads(listed or "[]") + found), entity["event_row"]))
        conn.execute("UPDATE events SET unverified = EXISTS (SELECT 1 FROM entities n WHERE n.event_row = events.id "
                     "AND n.status = 'unverified') WHERE id = ?", (entity["event_row"],))


def _raw_payload(request: Any) -> RawPayload:
    """Rebuild the collector's view of a stored request, for the payload of a late bad row."""
    return RawPayload(
        method=request["method"], path=request["path"], vendor=request["vendor"], version=request["version"],
        querystring=request["querystring"] or "", body=request["body"], content_type=request["content_type"],
        headers=[tuple(h) for h in json.loads(request["headers"] or "[]")], ip=request["ip"],
        useragent=request["useragent"], referer=request["referer"], hostname=request["hostname"],
        network_userid=request["network_userid"], timestamp=request["received_at"],
        body_size=request["body_size"] or 0)


def _fields(event_json: str | None) -> dict[str, Any]:
    """Turn a stored event's JSON form back into pipeline fields (timestamps as epoch milliseconds)."""
    fields = json.loads(event_json or "{}")
    for name in TIMESTAMPS:
        if isinstance(fields.get(name), str):
            fields[name] = parse_iso_timestamp(fields[name])
    return fields
