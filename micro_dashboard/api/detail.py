"""Render one stored event in full (canonical, flattened, entities, failures, raw request, curl)."""

from __future__ import annotations

import shlex
from typing import Any

from ..pipeline.fields import expand_json_form, to_flat_form
from ..store import StoredEvent, StoredRequest
from .shapes import request_body

# Headers a replay must not copy: the client and the server set these themselves.
SKIPPED_HEADERS = frozenset(["host", "content-length", "connection", "accept-encoding", "cookie"])


def request_json(req: StoredRequest) -> dict[str, Any]:
    """Return a stored request as JSON."""
    return {
        "id": req.id, "method": req.method, "path": req.path, "querystring": req.querystring,
        "body": request_body(req), "content_type": req.content_type, "headers": [list(h) for h in req.headers],
        "ip": req.ip, "useragent": req.useragent, "referer": req.referer, "received_at": req.received_at,
        "network_userid": req.network_userid,
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


def event_detail(stored: StoredEvent, base: str) -> dict[str, Any]:
    """Return everything about one stored event."""
    event = expand_json_form(stored.fields) if stored.fields is not None else None
    entities = [{"kind": e.kind, "position": e.position, "schema": e.schema, "data": e.data, "status": e.status,
                 "note": e.note} for e in stored.entities]
    failures = [{"type": f.type, "schema": f.bad_row.get("schema"), "bad_row": f.bad_row,
                 "problems": [{"path": p.get("path"), "message": p.get("message"), "schema": p.get("schema")}
                              for p in f.problems]}
                for f in stored.failures]
    request = request_json(stored.request) if stored.request is not None else None
    return {
        "row": stored.summary.to_json(), "event": event, "flat": to_flat_form(event) if event else None,
        "parameters": stored.parameters, "entities": entities, "failures": failures, "request": request,
        "curl": curl_command(request, base) if request else None,
    }
