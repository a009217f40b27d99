"""Snowplow Micro's classic API (/micro/all, good, bad, reset), with exactly Micro's JSON shapes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request, stream_with_context

from ..filters import INT64_MAX
from ..store import micro_reads
from . import incomplete, shapes

bp = Blueprint("micro", __name__, url_prefix="/micro")

# Snowplow Micro's answer to a /micro/ path it does not serve (Routing.scala).
UNKNOWN_PATH = "Path for micro has to be one of: /events /all /good /bad /reset /iglu"
UNKNOWN_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


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


def json_array(items: Iterable[Any]) -> Response:
    """Answer a JSON array written item by item, so a list of any length is never held whole in memory."""
    encode = current_app.json.dumps

    def chunks() -> Iterator[str]:
        first = True
        for item in items:
            yield ("[" if first else ",") + encode(item)
            first = False
        yield "[]" if first else "]"

    return current_app.response_class(stream_with_context(chunks()), mimetype="application/json")


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
    return json_array(shapes.good_event(e) for e in micro_reads.good_events(_store(), **filters))


@bp.route("/bad", methods=["GET", "POST"])
def bad() -> Response:
    """Return bad events and unreadable requests, newest first, filtered by vendor, version and limit."""
    filters = filter_body({"vendor": str, "version": str, "limit": int})
    return json_array(shapes.bad_event(e) for e in micro_reads.bad_events(_store(), **filters))


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


@bp.route("/events", methods=["GET"])
def good_and_incomplete() -> Response:
    """Return Micro 3.0's list: good events and incomplete (failed) ones, newest first, in the lossy JSON form."""
    return json_array(incomplete.lossy_event(e) for e in micro_reads.good_and_incomplete_events(_store()))


@bp.route("/", defaults={"rest": ""}, methods=UNKNOWN_METHODS, strict_slashes=False)
@bp.route("/<path:rest>", methods=UNKNOWN_METHODS)
def unknown(rest: str) -> tuple[Response, int]:
    """Answer a Micro path that is not served (or not with this method) with Micro's sentence."""
    return Response(UNKNOWN_PATH, mimetype="text/plain"), 404
