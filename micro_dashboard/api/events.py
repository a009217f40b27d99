"""The dashboard's own API under /api: filtered events, one event, wait, delete, stats, columns, exports."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .. import export
from ..columns import SUMMARY
from ..errors import ClientError
from ..filters import INT64_MAX, Filter, column_targets, parse_args, parse_time, search_help, value_targets
from ..pipeline.fields import FIELDS
from ..store import Store, StoredEvent, reads
from . import detail as details

bp = Blueprint("events", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

MAX_LIMIT = 1000
# /api/events counts matching rows this far and answers "at least this many" beyond (total_exact false) unless
# asked for ?total=exact: an exact count of a broad filter reads every row it matches.
TOTAL_CAP = 10_000
MAX_TIMEOUT = 60.0


def store() -> Store:
    """Return the app's store."""
    return current_app.config["STORE"]


def filter_from_args() -> Filter:
    """Parse the request's filter parameters."""
    return parse_args(request.args.items(multi=True))


def int_arg(name: str, default: int | None, low: int = 0, high: int | None = None) -> int | None:
    """Read an integer query parameter, clamped to [low, high]; 400 if it is not an integer."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    text = text.strip()
    if not re.fullmatch(r"[-+]?[0-9]+", text):
        raise ClientError(f"{name} must be an integer, not {text!r}", detail={"parameter": name})
    # Clamp to SQLite's integers (row ids and limits never exceed them), without parsing thousands of digits.
    sign = -1 if text.startswith("-") else 1
    value = int(text) if len(text.lstrip("+-").lstrip("0")) <= 19 else sign * (INT64_MAX + 1)
    value = min(max(low, value), INT64_MAX)
    return min(high, value) if high is not None else value


def float_arg(name: str, default: float, high: float) -> float:
    """Read a non-negative number query parameter, at most `high`."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ClientError(f"{name} must be a number of seconds, not {text!r}", detail={"parameter": name}) from None
    return min(max(0.0, value), high)


@bp.route("/events", methods=["GET"])
def list_events() -> Response:
    """List matching events, newest first, paged by row-id cursors."""
    flt = filter_from_args()
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    exact = request.args.get("total", "") == "exact"
    if request.args.get("total", "") not in ("", "exact"):
        raise ClientError(f"total can only be 'exact', not {request.args['total']!r}", detail={"parameter": "total"})
    columns = column_targets([c for c in request.args.get("columns", "").split(",") if c.strip()])
    st = store()
    rows = reads.summaries(st, flt, limit + 1, before=int_arg("before", None), since=int_arg("since", None))
    more = len(rows) > limit
    rows = rows[:limit]
    events = [s.to_json() for s in rows]
    repeated = reads.duplicates(st, [s.id for s in rows])
    for event in events:
        if event["id"] in repeated:  # only then: a summary's fields are the same everywhere else
            event["duplicate"] = True
    if columns:
        values = reads.column_values(st, [s.id for s in rows], columns)
        for event in events:
            event["columns"] = values[event["id"]]
    total = reads.count(st, flt, up_to=None if exact else TOTAL_CAP + 1)
    total_exact = exact or total <= TOTAL_CAP
    return jsonify({"events": events, "next_before": rows[-1].id if more else None, "last_id": st.last_id(),
                    "total": total if total_exact else TOTAL_CAP, "total_exact": total_exact})


@bp.route("/events", methods=["DELETE"])
def delete_events() -> Response:
    """Delete matching events (all when no filter is given)."""
    flt = filter_from_args()
    return jsonify({"deleted": store().delete(flt)})


@bp.route("/events/latest", methods=["GET"])
def latest_event() -> Response:
    """Return the newest matching event in full, 404 if none."""
    row = reads.latest(store(), filter_from_args())
    if row is None:
        raise ClientError("no event matches", status=404, detail={"filters": request.args.to_dict(flat=False)})
    return jsonify(event_detail(row))


@bp.route("/events/<key>", methods=["GET"])
def one_event(key: str) -> Response:
    """Return one event in full by event_id or row id, 404 if unknown."""
    row = reads.event(store(), key)
    if row is None:
        raise ClientError(f"no event {key!r}", status=404, detail={"key": key})
    return jsonify(event_detail(row))


def event_detail(event: StoredEvent) -> dict[str, Any]:
    """Return everything about one stored event, with a curl command against this dashboard."""
    return details.event_detail(event, request.host_url.rstrip("/"))


@bp.route("/wait", methods=["GET"])
def wait() -> tuple[Response, int]:
    """Answer as soon as `count` matching rows exist after `since`, or 408 with what arrived by `timeout`."""
    flt = filter_from_args()
    wanted = int_arg("count", 1, 1, MAX_LIMIT)
    since = int_arg("since", 0)
    timeout = float_arg("timeout", 5.0, MAX_TIMEOUT)
    hub, st = current_app.config["HUB"], store()
    deadline = time.monotonic() + timeout
    # Watched before querying, so a row committed in between sets the event rather than being missed; the hub
    # sets it only when a new row matches the filter, so a held wait costs nothing while unrelated events arrive.
    waiter = hub.watch(flt, since)
    try:
        while True:
            waiter.changed.clear()  # before the query: a match committed after it wakes the next wait at once
            found = reads.summaries(st, flt, wanted, since=since, oldest_first=True)
            remaining = deadline - time.monotonic()
            if len(found) >= wanted or remaining <= 0:
                break
            waiter.changed.wait(remaining)
    finally:
        hub.unwatch(waiter)
    rows = st.events([s.id for s in found])
    body: dict[str, Any] = {"events": [event_detail(e) for e in rows],
                            "cursor": rows[-1].id if rows else since, "count": len(rows)}
    if len(rows) < wanted:
        body["error"] = f"timed out waiting for {wanted} events; {len(rows)} arrived"
        return jsonify(body), 408
    return jsonify(body), 200


@bp.route("/stats", methods=["GET"])
def stats() -> Response:
    """Count matching events by validity, event, app and schema, and per minute over a time range."""
    flt = filter_from_args()
    now = int(time.time() * 1000)
    end = parse_time("to", request.args["to"]) if request.args.get("to") else now
    start = parse_time("from", request.args["from"]) if request.args.get("from") else end - 3_600_000
    if start > end:
        raise ClientError("from must not be after to", detail={"from": start, "to": end})
    return jsonify(reads.stats(store(), flt, start, end))


@bp.route("/columns", methods=["GET"])
def columns() -> Response:
    """List the column names a list can show: canonical fields, parameters and entity paths seen."""
    params, entities = reads.known_columns(store())
    paths = {f"{name}.{p}" for _kind, _schema, name, data in entities for p in reads.leaf_paths(data)}
    return jsonify({"columns": [*FIELDS, *(f"param.{k}" for k in params), *sorted(paths)], "summary": list(SUMMARY)})


@bp.route("/search-help", methods=["GET"])
def search_syntax() -> Response:
    """Describe the search language; with `search=`, also whether that text reads (200 either way)."""
    body = search_help()
    if "search" in request.args:
        # The UI asks here before reading the events, so a search being typed never logs a 400 in the console.
        try:
            parse_args([("search", request.args["search"])])
            body["check"] = {"ok": True, "error": None}
        except ClientError as exc:
            body["check"] = {"ok": False, "error": str(exc)}
    return jsonify(body)


@bp.route("/values", methods=["GET"])
def top_values() -> Response:
    """Return the most frequent values of a search key (starting with `prefix`), for autocomplete."""
    key = request.args.get("key", "")
    if not key:
        raise ClientError("key is required, e.g. key=app", detail={"parameter": "key"})
    limit = int_arg("limit", 10, 1, 50)
    counts: dict[Any, int] = {}
    for target in value_targets(key):
        for found in reads.top_values(store(), target, request.args.get("prefix", ""), limit):
            counts[found["value"]] = counts.get(found["value"], 0) + found["count"]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[:limit]
    return jsonify({"key": key, "values": [{"value": v, "count": n} for v, n in ranked]})


def _export(fmt: str, mimetype: str) -> Response:
    flt = filter_from_args()
    return Response(export.lines(store(), flt, fmt), mimetype=mimetype,
                    headers={"Content-Disposition": f"inline; filename=events.{fmt}"})


@bp.route("/export.ndjson", methods=["GET"])
def export_ndjson() -> Response:
    """Stream matching events as NDJSON (canonical JSON form), oldest first."""
    return _export("ndjson", "application/x-ndjson")


@bp.route("/export.tsv", methods=["GET"])
def export_tsv() -> Response:
    """Stream matching events as Snowplow's 131-column enriched TSV, oldest first."""
    return _export("tsv", "text/tab-separated-values")
