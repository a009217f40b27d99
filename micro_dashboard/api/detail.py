"""Render one stored event in full (canonical, flattened, entities, failures, raw request, curl), and columns."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from dataclasses import asdict
from typing import Any

from ..filters import Column, EntityField, Param, parse_target
from ..pipeline.fields import FIELDS, expand_json_form, to_flat_form
from ..store import Store, reads
from .shapes import request_body

# Headers a replay must not copy: the client and the server set these themselves.
SKIPPED_HEADERS = frozenset(["host", "content-length", "connection", "accept-encoding", "cookie"])


def request_json(req: sqlite3.Row) -> dict[str, Any]:
    """Return a stored request as JSON."""
    return {
        "id": req["id"], "method": req["method"], "path": req["path"], "querystring": req["querystring"],
        "body": request_body(req), "content_type": req["content_type"],
        "headers": [list(h) for h in json.loads(req["headers"] or "[]")], "ip": req["ip"],
        "useragent": req["useragent"], "referer": req["referer"], "received_at": req["received_at"],
        "network_userid": req["network_userid"],
    }


def curl_command(req: dict[str, Any], base: str) -> str:
    """Return a curl command that sends the stored request again to this dashboard."""
    url = base + req["path"] + (f"?{req['querystring']}" if req["querystring"] else "")
    parts = ["curl", "-X", req["method"], shlex.quote(url)]
    for key, value in req["headers"]:
        if key.lower() not in SKIPPED_HEADERS:
            parts += ["-H", shlex.quote(f"{key}: {value}")]
    body = req["body"]
    if body is None or req["method"] == "GET":
        return " ".join(parts)
    if body.startswith("base64:"):
        return f"echo {shlex.quote(body[len('base64:'):])} | base64 -d | " + " ".join(parts) + " --data-binary @-"
    return " ".join(parts) + " --data-binary " + shlex.quote(body)


def event_detail(store: Store, row: sqlite3.Row, base: str) -> dict[str, Any]:
    """Return everything about one event row."""
    event = expand_json_form(json.loads(row["event_json"])) if row["event_json"] else None
    entities = [{"kind": e["kind"], "position": e["position"], "schema": e["schema"], "data": json.loads(e["data"]),
                 "status": e["status"], "note": e["note"]} for e in store.entities_of(row["id"])]
    failures = [{"type": f["type"], "schema": json.loads(f["bad_row"]).get("schema"),
                 "bad_row": json.loads(f["bad_row"]),
                 "problems": [{"path": p.get("path"), "message": p.get("message"), "schema": p.get("schema")}
                              for p in json.loads(f["problems"] or "[]")]}
                for f in store.failures_of([row["id"]])[row["id"]]]
    req = store.request(row["request_id"])
    request = request_json(req) if req is not None else None
    summary = store.summaries([row["id"]])[0]
    return {
        "row": asdict(summary), "event": event, "flat": to_flat_form(event) if event else None,
        "parameters": json.loads(row["parameters"]) if row["parameters"] else None,
        "entities": entities, "failures": failures, "request": request,
        "curl": curl_command(request, base) if request else None,
    }


def _is(entity: sqlite3.Row, name: str) -> bool:
    return entity["kind"] == "unstruct" if name == "unstruct" else entity["name"] == name


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and re.fullmatch(r"[0-9]{1,18}", part) and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def column_values(store: Store, ids: list[int], columns: list[str]) -> dict[int, dict[str, Any]]:
    """Return the requested column values of each row: canonical fields, `param.<k>`, `<entity>.<path>`."""
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = {r["id"]: r for r in reads.rows_by_id(store, ids)}
    targets = {c: (Column(c) if c in FIELDS else parse_target(c)) for c in columns}
    names = {t.entity for t in targets.values() if isinstance(t, EntityField)}
    entities: dict[int, list[sqlite3.Row]] = {}
    for e in reads.entity_rows(store, ids, names):
        entities.setdefault(e["event_row"], []).append(e)
    for i, row in rows.items():
        event = json.loads(row["event_json"]) if row["event_json"] else {}
        params = json.loads(row["parameters"]) if row["parameters"] else {}
        for column, target in targets.items():
            if isinstance(target, Column):
                value = event.get(target.name, dict(row).get(target.name))
            elif isinstance(target, Param):
                value = params.get(target.key)
            else:
                value = next((_walk(json.loads(e["data"]), target.path) for e in entities.get(i, [])
                              if _is(e, target.entity)), None)
            out[i][column] = value
    return out
