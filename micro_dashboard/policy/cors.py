"""Which browser origins may read the API, /micro and the live feed (the collector answers any origin itself)."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

API_PREFIXES = ("/api/", "/micro/")


def allowed_origin(origin: str | None) -> bool:
    """Return whether an Origin is allow-listed (an entry matches itself on any port)."""
    if not origin:
        return False
    for prefix in current_app.config["SETTINGS"].cors_origins:
        prefix = prefix.rstrip("/")
        if prefix == "*" or origin == prefix or origin.startswith(prefix + ":"):
            return True
    return False


def trusted_origin(origin: str) -> bool:
    """Return whether a page from `origin` may read the live feed: the dashboard's own pages or an allowed origin."""
    return origin == request.host_url.rstrip("/") or allowed_origin(origin)


def init_app(app: Flask) -> None:
    """Answer CORS preflights for the API paths and let allow-listed origins read the answers."""

    @app.before_request
    def preflight() -> Response | None:
        if request.method != "OPTIONS" or not request.path.startswith(API_PREFIXES):
            return None
        response = Response("", status=204)
        if allowed_origin(request.headers.get("Origin")):
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = (
                request.headers.get("Access-Control-Request-Headers") or "Content-Type")
            response.headers["Access-Control-Max-Age"] = "3600"
        return response

    @app.after_request
    def cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if request.path.startswith(API_PREFIXES) and allowed_origin(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response
