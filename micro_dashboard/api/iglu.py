"""GET /micro/iglu/{vendor}/{name}/jsonschema/{version}: whether a schema resolves, and the schema."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from ..iglu import InvalidSchemaKey, SchemaKey

bp = Blueprint("iglu", __name__, url_prefix="/micro/iglu")
FORMAT_HINT = ("Schema lookup should be in format "
               "iglu/{vendor}/{schemaName}/jsonschema/{model}-{revision}-{addition}")


@bp.route("/<vendor>/<name>/<fmt>/<version>", methods=["GET"])
def schema(vendor: str, name: str, fmt: str, version: str) -> Response | tuple[Response, int]:
    """Return the schema if it resolves, else 404 with the resolution error and lookup history."""
    try:
        key = SchemaKey.parse(f"iglu:{vendor}/{name}/{fmt}/{version}")
    except InvalidSchemaKey:
        return Response(FORMAT_HINT, mimetype="text/plain"), 404
    if key.format != "jsonschema":
        return Response(FORMAT_HINT, mimetype="text/plain"), 404
    resolution = current_app.config["CHECKER"].resolver.lookup(key.uri)
    if resolution.found:
        response = jsonify(resolution.schema)
        response.headers["X-Iglu-Source"] = resolution.where()
        return response
    error = {"error": "ResolutionError", "schemaKey": key.uri, "status": resolution.status,
             "lookupHistory": resolution.history}
    return jsonify(error), 404


@bp.route("/<path:rest>", methods=["GET"])
def malformed(rest: str) -> tuple[Response, int]:
    """Answer a lookup path of the wrong shape with the format it should have."""
    return Response(FORMAT_HINT, mimetype="text/plain"), 404
