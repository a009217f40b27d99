"""Build Snowplow bad rows, each with the plain sentences a person reads instead of it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from .. import __version__
from ..snowplow import ATOMIC_SCHEMA as ATOMIC_SCHEMA  # api/incomplete.py imports it from here
from ..snowplow import BADROWS
from .fields import iso_timestamp, tsv_timestamp
from .model import Failure, Problem, RawPayload

PROCESSOR = {"artifact": "micro-dashboard", "version": __version__}
BAD_ROW_VERSIONS = {
    "size_violation": "1-0-0",
    "collector_payload_format_violation": "1-0-0",
    "adapter_failures": "1-0-0",
    "tracker_protocol_violations": "1-0-1",
    "schema_violations": "2-0-1",
    "enrichment_failures": "2-0-1",
}


def bad_row(kind: str, failure: dict[str, Any], payload: Any, problems: list[Problem]) -> Failure:
    """Wrap a failure and its payload as a self-describing bad row of the given type."""
    schema = f"{BADROWS}/{kind}/jsonschema/{BAD_ROW_VERSIONS[kind]}"
    data = {"processor": PROCESSOR, "failure": failure, "payload": payload}
    return Failure(kind, {"schema": schema, "data": data}, problems)


def body_text(body: bytes | None) -> str | None:
    """Return a request body as text, or base64 when it is not UTF-8, so a bad row can always carry it."""
    if body is None:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(body).decode("ascii")


def collector_payload(raw: RawPayload) -> dict[str, Any]:
    """Return the request as a bad row's collector payload."""
    return {
        "vendor": raw.vendor,
        "version": raw.version,
        "querystring": [{"name": k, "value": v} for k, v in parse_qsl(raw.querystring, keep_blank_values=True)],
        "contentType": raw.content_type,
        "body": body_text(raw.body),
        "collector": raw.collector,
        **_received(raw),
        "networkUserId": raw.network_userid,
    }


def _received(raw: RawPayload) -> dict[str, Any]:
    """Return how and from where a request was received, as both payload shapes of bad rows spell it."""
    return {
        "encoding": "UTF-8",
        "hostname": raw.hostname,
        "timestamp": iso_timestamp(raw.timestamp),
        "ipAddress": raw.ip,
        "useragent": raw.useragent,
        "refererUri": raw.referer,
        "headers": [f"{k}: {v}" for k, v in raw.headers],
    }


def adapter_failure(raw: RawPayload, messages: list[tuple[str, Any, str]]) -> Failure:
    """Record that no adapter could turn the request into events; messages are (field, value, expectation)."""
    failure = {
        "timestamp": iso_timestamp(raw.timestamp),
        "vendor": raw.vendor,
        "version": raw.version,
        "messages": [{"field": f, "value": v, "expectation": e} for f, v, e in messages],
    }
    problems = [Problem(f, e) for f, _v, e in messages]
    return bad_row("adapter_failures", failure, collector_payload(raw), problems)


def protocol_violation(raw: RawPayload, problems: list[Problem]) -> Failure:
    """Record that a tp2 request broke the tracker protocol as a whole."""
    failure = {
        "timestamp": iso_timestamp(raw.timestamp),
        "vendor": raw.vendor,
        "version": raw.version,
        "messages": [{"field": p.path, "error": p.message} for p in problems],
    }
    return bad_row("tracker_protocol_violations", failure, collector_payload(raw), problems)


# Snowplow's collector caps a request line at 20 KiB and its headers at 40 KiB. A request over either cap is stored
# as a truncated copy of its head (`body`, typed `message/http; oversized=<part>`) with its real size (`body_size`).
HEAD_LIMITS = {"request-line": 20 * 1024, "headers": 40 * 1024}
OVERSIZED_HEAD = "message/http; oversized="
LARGEST_REPORTED_SIZE = 2**30  # size_violation 1-0-0's maximum for actualSizeBytes; the sentence says the real size


def oversized_head(raw: RawPayload) -> str | None:
    """Return which part of a stored request's head was over its cap ("request-line", "headers"), if any."""
    if raw.content_type and raw.content_type.startswith(OVERSIZED_HEAD):
        part = raw.content_type[len(OVERSIZED_HEAD):]
        return part if part in HEAD_LIMITS else None
    return None


def size_violation(raw: RawPayload, limit: int, part: str = "body") -> Failure:
    """Record that a request's body (or request line, or headers) was over its size limit."""
    expectation = f"the request {part.replace('-', ' ')} may be at most {limit} bytes; it was {raw.body_size}"
    failure = {
        "timestamp": iso_timestamp(raw.timestamp),
        "maximumAllowedSizeBytes": limit,
        "actualSizeBytes": min(raw.body_size, LARGEST_REPORTED_SIZE),
        "expectation": expectation,
    }
    start = (body_text(raw.body) or "")[:1000]
    return bad_row("size_violation", failure, start, [Problem(part, expectation)])


def format_violation(raw: RawPayload, message: str) -> Failure:
    """Record a request the collector could not read as a tracker payload at all."""
    # The loader is an enum in the bad row schema; a request read by this collector stands where Snowplow's
    # collector would have written a Thrift collector payload.
    failure = {"timestamp": iso_timestamp(raw.timestamp), "loader": "thrift", "message": {"error": message}}
    return bad_row("collector_payload_format_violation", failure, raw.querystring, [Problem("path", message)])


# In the partially enriched event of a bad row, these are strings (Enrich keeps them as text until loading).
ENRICHED_STRINGS = frozenset(["txn_id", "se_value", "tr_total", "tr_tax", "tr_shipping", "ti_price"])


def _enriched_value(name: str, value: Any) -> Any:
    """Return a field as the bad row's `enriched` part types it: TSV timestamps, 0/1 flags, some numbers as text."""
    if name.endswith("tstamp") and isinstance(value, int):
        return tsv_timestamp(value)
    if isinstance(value, bool):
        return int(value)
    if name in ENRICHED_STRINGS:
        return str(value)
    return value


def raw_event_payload(raw: RawPayload, parameters: dict[str, str], fields: dict[str, Any]) -> dict[str, Any]:
    """Return the `{enriched, raw}` payload of a schema_violations or enrichment_failures bad row."""
    enriched = {
        k: _enriched_value(k, v)
        for k, v in fields.items()
        if v is not None and k not in ("contexts", "derived_contexts", "unstruct_event")
    }
    return {
        "enriched": enriched,
        "raw": {
            "vendor": raw.vendor,
            "version": raw.version,
            "parameters": [{"name": k, "value": v} for k, v in parameters.items()],
            "contentType": raw.content_type,
            "loaderName": raw.collector,
            **_received(raw),
            "userId": raw.network_userid,
        },
    }


def atomic_report(param: str, message: str, keyword: str) -> dict[str, Any]:
    """Return one dataReport of the atomic schema, for a field that did not parse or is too long."""
    return {"message": message, "path": param, "keyword": keyword, "targets": []}


def internal_error(raw: RawPayload, message: str, parameters: dict[str, str] | None = None) -> Failure:
    """Record that decoding a request (or one of its events) failed inside micro-dashboard, keeping the data."""
    failure = {"timestamp": iso_timestamp(raw.timestamp),
               "messages": [{"enrichment": None, "message": {"error": message[:512]}}]}
    payload = raw_event_payload(raw, parameters or {}, {})
    return bad_row("enrichment_failures", failure, payload, [Problem("request", message)])


def schema_violation(
    raw: RawPayload,
    parameters: dict[str, str],
    fields: dict[str, Any],
    messages: list[dict[str, Any]],
    problems: list[Problem],
    kind: str = "schema_violations",
) -> Failure:
    """Record what was wrong with one event as a schema_violations (or enrichment_failures) bad row."""
    failure = {"timestamp": iso_timestamp(raw.timestamp), "messages": messages}
    return bad_row(kind, failure, raw_event_payload(raw, parameters, fields), problems)
