"""The collector's two hot routes (GET /i, /ice.png and POST tp2) answered without Flask's per-request machinery.

Flask's request context, URL routing and the eight request-policy hooks cost about as much as storing the request
(measured: issue 15 in BENCHMARKS.md), and none of the hooks changes these answers but one: the collector is open
to any Host and needs no token, its answers only gain `X-Content-Type-Options: nosniff`. So a WSGI middleware
answers exactly these requests itself, with the collector's own functions (`collector.store_request`), and hands
every other request (preflights, HEAD, aliases, other vendors, the API, the UI) to Flask unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from .collector import TP1_PATHS, answer, store_request
from .snowplow import SNOWPLOW_VENDOR

TP2_PATH = f"/{SNOWPLOW_VENDOR}/tp2"
NOSNIFF = ("X-Content-Type-Options", "nosniff")  # what the security-headers policy adds to a collector answer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LeanCollector:
    """WSGI middleware: answers GET /i, GET /ice.png and POST tp2 itself; passes everything else to Flask."""

    def __init__(self, app: Flask, flask_wsgi_app: WSGIApp):
        self.flask_wsgi_app = flask_wsgi_app
        self.config = app.config  # read on each request, as the Flask routes do (tests may replace a setting)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        hot = (method == "GET" and path in TP1_PATHS) or (method == "POST" and path == TP2_PATH)
        if not hot or environ.get("SCRIPT_NAME") or path in self.config["SETTINGS"].path_aliases:
            return self.flask_wsgi_app(environ, start_response)
        return self.collect(environ, start_response, "tp1" if method == "GET" else "tp2")

    def collect(self, environ: dict[str, Any], start_response: Callable[..., Any], version: str) -> Iterable[bytes]:
        """Store the request and answer it with the collector's own answer."""
        req = Request(environ)
        try:
            raw, within_limit = store_request(req, self.config["STORE"], SNOWPLOW_VENDOR, version, req.path,
                                              self.config["SETTINGS"].max_body_bytes)
        except HTTPException as exc:  # 400 for a dropped upload, 503 when the database refuses: Flask's pages
            response = exc.get_response(environ)
            response.headers.setdefault(*NOSNIFF)
            return response(environ, start_response)
        response = answer(raw, within_limit, req)
        response.headers.setdefault(*NOSNIFF)
        return response(environ, start_response)
