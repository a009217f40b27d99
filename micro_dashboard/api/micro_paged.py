"""Snowplow Micro 4.x's paged API (POST /micro/events, GET /micro/columns, POST /micro/timeline)."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..filters import FilterError, parse_time
from ..pipeline.fields import FIELDS, expand_json_form, flat_key, to_flat_form
from ..store import micro_reads, reads
from ..store.micro_reads import MicroQuery

bp = Blueprint("micro_paged", __name__, url_prefix="/micro")

MAX_PAGE_SIZE = 100


def _store():
    return current_app.config["STORE"]


def _body(required: tuple[str, ...]) -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise FilterError("the body must be a JSON object", {"body": request.get_data(as_text=True)[:200]})
    missing = [k for k in required if k not in body]
    if missing:
        raise FilterError(f"the body lacks {', '.join(missing)}", {"missing": missing})
    return body


def _nested(column: str) -> bool:
    head = column.split(".", 1)[0]
    return "." in column and head.startswith(("contexts_", "unstruct_event_"))


def _object(body: dict[str, Any], key: str, shape: str) -> dict[str, Any]:
    """Return an optional object member of the body ({} when absent or null); 400 if it is not an object."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FilterError(f"{key} must be an object {shape}, not {json.dumps(value)[:100]}", {key: value})
    return value


def _time(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise FilterError(f"{name} must be an ISO-8601 time or epoch milliseconds", {"filter": name, "value": value})
    return parse_time(name, str(value))


def _query(body: dict[str, Any], events_only: bool = True) -> tuple[MicroQuery, list[tuple[str, list[str]]]]:
    """Compile the body's filters, validity and time range; return nested-column filters for Python."""
    fields, nested = [], []
    filters = body.get("filters") or []
    if not isinstance(filters, list):
        raise FilterError("filters must be a list of {column, values}", {"filters": filters})
    for item in filters:
        if not isinstance(item, dict):
            raise FilterError("each filter must be an object {\"column\": ..., \"values\": [...]}", {"filter": item})
        column, values = item.get("column"), item.get("values")
        if not isinstance(column, str) or not isinstance(values, list) or not values:
            raise FilterError("each filter needs a column and a non-empty list of values", {"filter": item})
        values = [v if isinstance(v, str) else json.dumps(v) for v in values]
        if _nested(column):
            nested.append((column, values))
        elif column in FIELDS:
            fields.append((column, values))
        else:
            raise FilterError(f"unknown column {column!r}", {"column": column})
    valid = body.get("validEvents") if isinstance(body.get("validEvents"), bool) else None
    time_range = _object(body, "timeRange", '{"start": ..., "end": ...}')
    start, end = _time("timeRange.start", time_range.get("start")), _time("timeRange.end", time_range.get("end"))
    return MicroQuery(fields, valid, start, end, events_only), nested


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _matches(flat: dict[str, Any], nested: list[tuple[str, list[str]]]) -> bool:
    for column, values in nested:
        key, field = column.split(".", 1)
        found = flat.get(key)
        items = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
        if not any(field in item and _text(item[field]) in values for item in items):
            return False
    return True


def _flat(stored: dict[str, Any]) -> dict[str, Any]:
    """Return the flattened form of a stored (compact) event."""
    return to_flat_form(expand_json_form(stored))


@bp.route("/events", methods=["POST"])
def events() -> Response:
    """Return one page of flattened events, filtered, sorted (newest first by default)."""
    body = _body(("filters", "page", "pageSize"))
    page, size = body["page"], body["pageSize"]
    if not isinstance(page, int) or isinstance(page, bool) or page < 1 or not isinstance(size, int):
        raise FilterError("page must be an integer from 1 and pageSize an integer", {"page": page, "size": size})
    size = min(max(size, 1), MAX_PAGE_SIZE)
    sorting = _object(body, "sorting", '{"column": ..., "desc": true}')
    sort, desc = sorting.get("column") or "collector_tstamp", sorting.get("desc", True) is not False
    if not isinstance(sort, str) or sort not in FIELDS:
        raise FilterError(f"cannot sort by {sort!r}: use a canonical field", {"column": sort})
    query, nested = _query(body)
    store = _store()
    if nested:
        flats = [f for f in map(_flat, micro_reads.iterate_sorted(store, query, sort, desc)) if _matches(f, nested)]
        total, found = len(flats), flats[(page - 1) * size:page * size]
    else:
        total, offset = micro_reads.count(store, query), (page - 1) * size
        found = [_flat(t) for t in micro_reads.page(store, query, sort, desc, size, offset)] if offset < total else []
    return jsonify({"events": found, "totalPages": math.ceil(total / size), "totalItems": total})


@bp.route("/columns", methods=["GET"])
def columns() -> Response:
    """Return the sorted column names: canonical fields and the flattened entity columns seen."""
    names = set(FIELDS)
    for kind, schema, _name, data in reads.known_columns(_store())[1]:
        key = flat_key("unstruct_event" if kind == "unstruct" else "contexts", schema)
        names.add(key)
        if isinstance(data, dict):
            names.update(f"{key}.{field}" for field in data)
    return jsonify(sorted(names))


@bp.route("/timeline", methods=["POST"])
def timeline() -> Response:
    """Count valid and failed events in each requested time bucket."""
    body = _body(("buckets",))
    if not isinstance(body["buckets"], list):
        raise FilterError("buckets must be a list of {start, end}", {"buckets": body["buckets"]})
    # Requests nothing could be read from count as failed events too.
    query, _nested_filters = _query({k: v for k, v in body.items() if k != "timeRange"}, events_only=False)
    points = []
    for bucket in body["buckets"]:
        if not isinstance(bucket, dict) or not bucket.get("start") or not bucket.get("end"):
            raise FilterError("each bucket needs a start and an end", {"bucket": bucket})
        start, end = _time("bucket.start", bucket["start"]), _time("bucket.end", bucket["end"])
        valid, failed = micro_reads.valid_counts(_store(), query, start, end)
        points.append({"validEvents": valid, "failedEvents": failed, "bucket": bucket})
    return jsonify({"points": points})
