"""Snowplow Micro's classic API (/micro/all, good, bad, reset), with exactly Micro's JSON shapes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request

from ..filters import INT64_MAX
from ..store import micro_reads
from . import shapes
from .events import register_query_errors

bp = Blueprint("micro", __name__, url_prefix="/micro")
register_query_errors(bp)

ENDPOINTS = ("/micro/all", "/micro/good", "/micro/bad", "/micro/reset",
             "/micro/iglu/{vendor}/{name}/jsonschema/{version}", "/micro/ui",
             "/micro/events", "/micro/columns", "/micro/timeline")


class BadRequest(Exception):
    """A malformed filter body; carries the HTTP status Micro would answer."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest) -> tuple[Response, int]:
    """Answer a malformed body with a readable message."""
    return jsonify({"error": str(exc)}), exc.status


def filter_body(allowed: dict[str, type]) -> dict[str, Any]:
    """Read a POST filter body: 400 if it is not a JSON object, 422 if a known key has the wrong type."""
    if request.method != "POST" or not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object, e.g. {\"event_type\": \"page_view\", \"limit\": 10}", 400)
    filters = {}
    for key, kind in allowed.items():
        value = body.get(key)
        if value is None:
            continue
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadRequest(f"{key} must be a list of iglu URIs (strings)", 422)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BadRequest(f"{key} must be a non-negative integer", 422)
            value = min(value, INT64_MAX)  # larger than any table: the same as no limit
        elif not isinstance(value, kind):
            raise BadRequest(f"{key} must be a string", 422)
        filters[key] = value
    return filters


def _store():
    return current_app.config["STORE"]


@bp.route("/all", methods=["GET", "POST"])
def all_counts() -> Response:
    """Return how many good and bad events were received."""
    return jsonify(_store().counts())


@bp.route("/good", methods=["GET", "POST"])
def good() -> Response:
    """Return good events, newest first, filtered by event_type, schema, contexts and limit."""
    filters = filter_body({"event_type": str, "schema": str, "contexts": list, "limit": int})
    store = _store()
    rows = micro_reads.good_rows(store, **filters)
    requests = store.requests(r["request_id"] for r in rows)
    return jsonify([shapes.good_event(r, requests[r["request_id"]]) for r in rows])


@bp.route("/bad", methods=["GET", "POST"])
def bad() -> Response:
    """Return bad events and unreadable requests, newest first, filtered by vendor, version and limit."""
    filters = filter_body({"vendor": str, "version": str, "limit": int})
    store = _store()
    rows = micro_reads.bad_rows(store, **filters)
    requests = store.requests(r["request_id"] for r in rows)
    failures = store.failures_of(r["id"] for r in rows)
    return jsonify([shapes.bad_event(r, requests[r["request_id"]], failures[r["id"]]) for r in rows])


@bp.route("/reset", methods=["GET", "POST"])
def reset() -> Response:
    """Delete everything and answer the zero summary."""
    _store().delete()
    return jsonify({"total": 0, "good": 0, "bad": 0})


@bp.route("/ui", methods=["GET"])
@bp.route("/ui/<path:rest>", methods=["GET"])
def ui(rest: str = "") -> Response:
    """Send Micro's UI address to this dashboard's UI."""
    return redirect("/", code=302)


@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str) -> tuple[Response, int]:
    """Answer an unknown Micro path with the list of supported endpoints."""
    text = "Unknown endpoint /micro/{}. Supported endpoints: {}".format(rest, ", ".join(ENDPOINTS))
    return Response(text, mimetype="text/plain"), 404
