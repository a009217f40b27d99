"""GET /api/cursor: where "from now on" starts, in one cheap request (what a test client's mark() reads).

{"last_id": the newest row id ever handed out, "metrics": each GitLab metric key path's moving reading, or null
when no definitions are loaded}. No filter, no count: it costs one lookup (plus the metrics, when loaded).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

bp = Blueprint("cursor", __name__, url_prefix="/api")


def cursor_state(app: Flask) -> dict[str, Any]:
    """Return the newest row id and, when GitLab definitions are loaded, every metric's moving reading."""
    from ..gitlab.api import definitions
    from ..gitlab.counting import metric_readings

    store = app.config["STORE"]
    last_id = store.last_id()
    found = definitions(app)
    metrics = ({m["key_path"]: m["moving"] for m in metric_readings(store, found)} if found.dirs else None)
    return {"last_id": last_id, "metrics": metrics}


@bp.route("/cursor", methods=["GET"])
def cursor() -> Response:
    """Return the newest row id and the metrics' moving readings (null without definitions)."""
    return jsonify(cursor_state(current_app))
