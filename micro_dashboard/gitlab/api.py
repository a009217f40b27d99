"""GitLab's API: metric readings, the loaded definitions, and one event's checks and the metrics it moved.

GET /api/metrics[?now=T]             {"now", "configured", "version", "dirs", "metrics": [...], "problems": [...]}
GET /api/definitions                 {"configured", "version", "dirs", "events", "metrics", "problems"}
GET /api/events/<key>/gitlab[?now=T] {"id", "event_id", "action", "checks": [...], "moved": [key paths]}
`now` (ISO-8601 or epoch milliseconds) reads the metrics as they were or will be at that time."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from ..errors import ClientError
from ..filters import FilterError, parse_time
from ..store import Store, StoredEvent, reads
from .checks import event_checks
from .counting import metric_readings, moved_by, utc_now
from .definitions import Definitions, DefinitionsSource

bp = Blueprint("gitlab", __name__, url_prefix="/api")
CONFIG_KEY = "GITLAB_DEFINITIONS"  # app.config key of the app's DefinitionsSource
NOW_RANGE = (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 1, tzinfo=timezone.utc))


def init_app(app: Flask, dirs: list[str]) -> None:
    """Load the definitions of these folders into the app (reloaded on change) and serve the GitLab API."""
    app.config[CONFIG_KEY] = DefinitionsSource(dirs)
    app.register_blueprint(bp)


def definitions(app: Flask | None = None) -> Definitions:
    """Return the app's current definitions (reloaded if a file changed)."""
    return (app or current_app).config[CONFIG_KEY].get()


def _store() -> Store:
    return current_app.config["STORE"]


def _now() -> datetime:
    """Return the `now` query parameter as a UTC time, or the current time."""
    text = request.args.get("now", "").strip()
    if not text:
        return utc_now()
    try:
        now = datetime.fromtimestamp(parse_time("now", text) / 1000, tz=timezone.utc)
    except (FilterError, ValueError, OverflowError, OSError):
        now = None
    # Windows reach five weeks back and a week ahead: keep them inside the years datetime can count.
    if now is None or not NOW_RANGE[0] <= now <= NOW_RANGE[1]:
        raise ClientError(f"now must be an ISO-8601 time or epoch milliseconds between 1970 and 9999, not {text!r}",
                          detail={"parameter": "now"}) from None
    return now


def _header(found: Definitions) -> dict[str, Any]:
    source = current_app.config[CONFIG_KEY]
    return {"configured": bool(found.dirs), "version": source.version, "dirs": list(found.dirs)}


@bp.route("/metrics", methods=["GET"])
def metrics() -> Response:
    """Return every metric key path with its moving and production readings, and the definitions' problems."""
    now = _now()
    found = definitions()
    return jsonify({"now": now.isoformat().replace("+00:00", "Z"), **_header(found),
                    "metrics": metric_readings(_store(), found, now),
                    "problems": [p.to_json() for p in found.problems]})


@bp.route("/definitions", methods=["GET"])
def all_definitions() -> Response:
    """Return the loaded events, metric key paths and problems."""
    found = definitions()
    return jsonify({**_header(found), **found.to_json()})


def event_gitlab(store: Store, found: Definitions, event: StoredEvent, now: datetime | None = None) -> dict[str, Any]:
    """Return one event's checks and the key paths it moved: the block an event detail can show under `gitlab`."""
    action = (event.fields or {}).get("se_action")
    return {"id": event.id, "event_id": event.summary.event_id, "action": action,
            "checks": event_checks(event, found), "moved": moved_by(store, found, event.id, action, now)}


@bp.route("/events/<key>/gitlab", methods=["GET"])
def one_event(key: str) -> Response:
    """Return the GitLab checks of one event (by row id or event_id) and the metric key paths it moved."""
    now = _now()
    event = reads.event(_store(), key)
    if event is None:
        raise ClientError(f"no event {key!r}", status=404, detail={"key": key})
    return jsonify(event_gitlab(_store(), definitions(), event, now))
