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
from werkzeug.http import dump_cookie
from werkzeug.wrappers import Request

from .collector import COOKIE_MAX_AGE, NO_CACHE, PIXEL, TP1_PATHS, store_request
from .pipeline.enrich import ANONYMOUS_NUID
from .pipeline.payload import RawPayload
from .snowplow import SNOWPLOW_VENDOR

TP2_PATH = f"/{SNOWPLOW_VENDOR}/tp2"
NOSNIFF = ("X-Content-Type-Options", "nosniff")  # what the security-headers policy adds to a collector answer
TEXT = "text/plain; charset=utf-8"

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
        """Store the request and answer it as collector.answer does."""
        req = Request(environ)
        try:
            raw, within_limit = store_request(req, self.config["STORE"], SNOWPLOW_VENDOR, version, req.path,
                                              self.config["SETTINGS"].max_body_bytes)
        except HTTPException as exc:  # 400 for a dropped upload, 503 when the database refuses: Flask's pages
            response = exc.get_response(environ)
            response.headers.setdefault(*NOSNIFF)
            return response(environ, start_response)
        if not within_limit:
            status, body, headers = "413 REQUEST ENTITY TOO LARGE", b"request body too large", [("Content-Type", TEXT)]
        elif version == "tp2":
            status, body, headers = "200 OK", b"ok", [("Content-Type", TEXT)]
        else:
            status, body, headers = "200 OK", PIXEL, [("Content-Type", "image/gif")]
        origin = req.headers.get("Origin") or "*"
        headers += [("Content-Length", str(len(body))), ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Credentials", "true")]
        if body is PIXEL:
            headers.append(("Cache-Control", NO_CACHE))
        headers += [*self.cookie(raw), NOSNIFF]
        start_response(status, headers)
        return [body]

    def cookie(self, raw: RawPayload) -> list[tuple[str, str]]:
        """Return the sp cookie header as collector.with_cookie sets it."""
        if raw.network_userid == ANONYMOUS_NUID:
            return []
        return [("Set-Cookie", dump_cookie("sp", raw.network_userid or "", max_age=COOKIE_MAX_AGE, path="/",
                                           samesite="Lax", max_size=self.config["MAX_COOKIE_SIZE"]))]
