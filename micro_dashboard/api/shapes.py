"""Render stored rows in Snowplow Micro's JSON shapes (rawEvent, good and bad events)."""

from __future__ import annotations

import json
from typing import Any

from ..pipeline.failures import body_text
from ..pipeline.fields import expand_json_form, iso_timestamp
from ..pipeline.model import COLLECTOR_NAME
from ..store import StoredEvent, StoredRequest

SUMMARY_WHOLE_PAYLOAD = "Error while extracting event(s) from collector payload and validating it/them."
SUMMARY_ONE_EVENT = "Error while validating the event."


def _source(request: StoredRequest) -> dict[str, Any]:
    return {"name": COLLECTOR_NAME, "encoding": "UTF-8", "hostname": request.hostname}


def _context(request: StoredRequest) -> dict[str, Any]:
    return {
        "timestamp": iso_timestamp(request.received_at),
        "ipAddress": request.ip,
        "useragent": request.useragent,
        "refererUri": request.referer,
        "headers": [f"{k}: {v}" for k, v in request.headers],
        "userId": request.network_userid,
    }


def raw_event(event: StoredEvent) -> dict[str, Any] | None:
    """Return Micro's `rawEvent`: the API, every raw parameter, and where the request came from."""
    request = event.request
    if event.parameters is None or request is None:
        return None
    return {
        "api": {"vendor": request.vendor, "version": request.version},
        "parameters": event.parameters,
        "contentType": request.content_type,
        "source": _source(request),
        "context": _context(request),
    }


def request_body(request: StoredRequest) -> str | None:
    """Return a stored request's body as text (base64-prefixed when it is not UTF-8)."""
    return body_text(request.body)


def collector_payload(request: StoredRequest) -> dict[str, Any]:
    """Return Micro's `collectorPayload` for a stored request."""
    from ..pipeline.payload import QueryStringError, parse_query

    try:
        querystring = [f"{k}={v}" for k, v in parse_query(request.querystring).items()]
    except QueryStringError:
        querystring = [request.querystring]
    return {
        "api": {"vendor": request.vendor, "version": request.version},
        "querystring": querystring,
        "contentType": request.content_type,
        "body": request_body(request),
        "source": _source(request),
        "context": _context(request),
    }


def good_event(event: StoredEvent) -> dict[str, Any]:
    """Return one element of `/micro/good`."""
    return {
        "rawEvent": raw_event(event),
        "eventType": event.summary.event,
        "schema": event.summary.schema,
        "contexts": event.contexts,
        "event": expand_json_form(event.fields or {}),
        "incomplete": False,
    }


def bad_event(event: StoredEvent) -> dict[str, Any]:
    """Return one element of `/micro/bad`: the payload, the raw event if one was extracted, and the errors."""
    raw = raw_event(event)
    summary = SUMMARY_ONE_EVENT if raw is not None else SUMMARY_WHOLE_PAYLOAD
    return {
        "collectorPayload": collector_payload(event.request),
        "rawEvent": raw,
        # Micro lists each bad row as its JSON text.
        "errors": [summary, *(json.dumps(f.bad_row, separators=(",", ":"), ensure_ascii=False)
                              for f in event.failures)],
    }
