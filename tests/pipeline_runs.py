"""Raw requests as the collector builds them, run through the pipeline, and readers of what comes out."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from snowplow_checks import bad_row_errors
from support import PAYLOAD_DATA, WEB_PAGE

from micro_dashboard import __version__
from micro_dashboard.pipeline import Event, Outcome, RawPayload, ingest
from micro_dashboard.pipeline.model import Problem

SNOWPLOW = "com.snowplowanalytics.snowplow"
CONTEXTS_101 = f"iglu:{SNOWPLOW}/contexts/jsonschema/1-0-1"
ATOMIC = f"iglu:{SNOWPLOW}/atomic/jsonschema/1-0-0"
NUID = "c0ffee00-0000-4000-8000-000000000001"
EID = "5b2f6c0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
RECEIVED = 1_763_787_661_441  # 2025-11-22T05:01:01.441Z
NOW = RECEIVED + 250
TOOL = f"micro-dashboard-{__version__}"
BASE = {"e": "pv", "p": "web", "tv": "js-4.0.0", "eid": EID}
ENTITIES = [{"schema": WEB_PAGE, "data": {"id": "4f4c0b29-0d19-4f4b-a48a-2f2bd8c9d0e7"}},
            {"schema": "iglu:com.acme/thing/jsonschema/1-0-0", "data": {"v": " ???>>>???>>>\u00fc"}}]


def raw(method: str = "GET", query: str = "", body: bytes | None = None, content_type: str | None = None,
        vendor: str | None = SNOWPLOW, version: str | None = "tp2", **extra: Any) -> RawPayload:
    """Return a raw request as the collector would build it."""
    values = dict(
        method=method, path=f"/{vendor}/{version}", vendor=vendor, version=version, querystring=query, body=body,
        content_type=content_type, headers=[("Host", "collector.test"), ("User-Agent", "pytest-agent")],
        ip="203.0.113.9", useragent="pytest-agent", referer=None, hostname="collector.test", network_userid=NUID,
        timestamp=RECEIVED, body_size=len(body or b""),
    )
    values.update(extra)
    return RawPayload(**values)


def get(params: dict[str, str] | str, checker: Any = None, **extra: Any) -> Outcome:
    """Process a GET with these parameters."""
    query = params if isinstance(params, str) else urlencode(params)
    return ingest(raw("GET", query, **extra), checker, now=NOW)


def post(items: Any, query: str = "", content_type: str = "application/json; charset=utf-8",
         schema: str = PAYLOAD_DATA) -> Outcome:
    """Process a tp2 POST whose body is payload_data with these items (or any JSON when items is not a list)."""
    body = {"schema": schema, "data": items} if isinstance(items, list) else items
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ingest(raw("POST", query, data, content_type), now=NOW)


def one(outcome: Outcome) -> Event:
    """Return the only event of an outcome."""
    assert not outcome.failures, outcome.failures
    assert len(outcome.events) == 1
    return outcome.events[0]


def good(params: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Return the fields of the valid event decoded from a GET."""
    event = one(get({**BASE, **params}, **extra))
    assert event.valid, [p.message for f in event.failures for p in f.problems]
    return event.fields


def failure_of(event: Event) -> tuple[str, dict[str, Any], list[Problem]]:
    """Return the type, bad row and problems of an event's only failure, checking the bad row's shape."""
    assert len(event.failures) == 1, event.failures
    failure = event.failures[0]
    assert bad_row_errors(failure.bad_row, long_values_allowed=True) == []
    return failure.type, failure.bad_row, failure.problems


def atomic_reports(bad_row: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the dataReports of the atomic-field message of a schema_violations bad row."""
    messages = [m for m in bad_row["data"]["failure"]["messages"] if m.get("schemaKey") == ATOMIC]
    assert len(messages) == 1, bad_row
    assert messages[0]["error"]["error"] == "ValidationError"
    return messages[0]["error"]["dataReports"]


def b64(value: Any, alphabet: str = "url", padding: bool = True) -> str:
    """Encode JSON as base64 in either alphabet, with or without padding."""
    data = json.dumps(value).encode()
    text = (base64.urlsafe_b64encode if alphabet == "url" else base64.b64encode)(data).decode()
    return text if padding else text.rstrip("=")
