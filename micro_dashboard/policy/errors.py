"""JSON errors for the API: a client's mistake is a 4xx naming the input, never a 5xx or an HTML page."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound

from ..errors import ClientError
from ..store import QUERY_ERRORS, database_busy

log = logging.getLogger(__name__)
JSON_PREFIXES = ("/api/", "/micro/")


def error_response(message: str, status: int, detail: Any = None) -> tuple[Response, int]:
    """Return the JSON error answer."""
    return jsonify({"error": message, "detail": detail}), status


def init_app(app: Flask) -> None:
    """Answer client errors, refused queries and unknown API paths as JSON."""

    @app.errorhandler(ClientError)
    def client_error(exc: ClientError) -> tuple[Response, int]:
        return error_response(str(exc), exc.status, exc.detail)

    def query_error(exc: Exception) -> tuple[Response, int]:
        """Answer a query that SQLite (or binding its values) refused as a JSON 400, and log it."""
        if isinstance(exc, ClientError):  # a ValueError handler is found before the ClientError one
            return client_error(exc)
        if not request.path.startswith(JSON_PREFIXES):
            raise exc
        if database_busy(exc):
            log.warning("%s %s: database busy: %s", request.method, request.path, exc)
            return error_response("the database is busy, try again", 503)
        log.warning("%s %s: the query built from the request failed: %s: %s", request.method, request.full_path,
                    type(exc).__name__, exc, exc_info=exc)
        return error_response(f"cannot run this query: {exc}", 400,
                              {"path": request.path, "parameters": sorted(set(request.args.keys()))})

    for cls in QUERY_ERRORS:
        app.register_error_handler(cls, query_error)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(exc: HTTPException) -> tuple[Response, int] | HTTPException:
        """Answer an unknown /api path or method as JSON; leave other paths to their own answers."""
        if not request.path.startswith("/api/"):
            return exc
        if exc.code == 405 and not _api_route_allows_some_method(getattr(exc, "valid_methods", None) or []):
            exc = NotFound()  # only the collector's /<vendor>/<version> matched the path: no such API path
        return error_response(f"{exc.code} {exc.name}: {request.method} {request.path}", exc.code or 404,
                              {"openapi": "/api/openapi.json"})

    @app.before_request
    def api_paths_are_never_collected() -> None:
        """Answer /api/<a>/<b> that no API route matched with the API's JSON 404, not the collector's text one."""
        rule = request.url_rule
        if (request.path.startswith("/api/") and rule is not None and not rule.rule.startswith("/api/")
                and request.method != "OPTIONS"
                and request.path.rstrip("/") not in current_app.config["SETTINGS"].path_aliases):
            abort(404)


def _api_route_allows_some_method(methods: list[str]) -> bool:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in methods:
        try:
            rule, _args = adapter.match(method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.rule.startswith("/api/"):
            return True
    return False
