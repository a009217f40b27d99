"""Send real tracker requests to a running dashboard: pixel GETs and tp2 POSTs with GitLab contexts."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import requests
from support import CONTEXTS, GITLAB_STANDARD, PAYLOAD_DATA, UNSTRUCT


def eid() -> str:
    """Return a fresh event id."""
    return str(uuid.uuid4())


def pixel(base: str, **params: str) -> str:
    """Send one event as a GET /i pixel request to the dashboard at `base`; return its event id."""
    params = {"tv": "py-test", "p": "web", "eid": eid(), **params}
    response = requests.get(base + "/i", params=params, timeout=10)
    response.raise_for_status()
    return params["eid"]


def tp2(base: str, *events: dict[str, str]) -> list[str]:
    """POST events as one tp2 payload_data batch to the dashboard at `base`; return their event ids."""
    batch = [{"tv": "py-test", "p": "web", "eid": eid(), **e} for e in events]
    response = requests.post(base + "/com.snowplowanalytics.snowplow/tp2",
                             json={"schema": PAYLOAD_DATA, "data": batch}, timeout=30)
    response.raise_for_status()
    return [e["eid"] for e in batch]


def contexts(*entities: tuple[str, Any]) -> str:
    """Return a `co` parameter carrying the given (schema, data) entities."""
    return json.dumps({"schema": CONTEXTS, "data": [{"schema": s, "data": d} for s, d in entities]})


def unstruct_b64(schema: str, data: Any) -> str:
    """Return a `ue_px` parameter: the self-describing event, base64url-encoded as browser trackers send it."""
    body = json.dumps({"schema": UNSTRUCT, "data": {"schema": schema, "data": data}}).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def gitlab_event(action: str, standard: dict[str, Any], **params: str) -> dict[str, str]:
    """Return the parameters of a structured event with a gitlab_standard context."""
    return {"e": "se", "se_ca": "projects", "se_ac": action, "co": contexts((GITLAB_STANDARD, standard)), **params}
