"""Beyond loopback the UI, API and /ws need the access token; the collector never does.

A browser brings it once as `/?token=...` and keeps it in an HttpOnly, SameSite=Strict cookie; scripts send
`Authorization: Bearer <token>` (or HTTP Basic with the token as the password: `curl -u :TOKEN`)."""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import secrets
from urllib.parse import urlencode

from flask import Flask, Response, current_app, request

from .errors import JSON_PREFIXES, error_response
from .hosts import is_loopback, tracker_facing

COOKIE = "micro_dashboard_token"
QUERY_PARAMETER = "token"  # accepted on the pages only: the API and /ws read every query parameter as a filter
PAGE_ENDPOINTS = frozenset(["ui.index", "ui.demo"])
COOKIE_MAX_AGE = 30 * 24 * 3600


def access_token(host: str, given: str | None) -> str | None:
    """Return the token requests need: the one given, else a fresh one when listening beyond loopback, else none."""
    if given:
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def presented_token() -> str | None:
    """Return the token the request carries: Authorization (Bearer or Basic's password), the cookie, or ?token=."""
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "bearer":
        return value.strip()
    if kind.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    if request.endpoint in PAGE_ENDPOINTS and QUERY_PARAMETER in request.args:
        return request.args[QUERY_PARAMETER]
    return request.cookies.get(COOKIE)


def same_token(presented: str | None, token: str) -> bool:
    """Compare in constant time, so that timing tells nothing about the token."""
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def page_without_the_token(token: str) -> Response:
    """Keep the token in a cookie and reload the page without it (the UI reads its query as filters).

    A meta refresh rather than a redirect: a Strict cookie is not sent along a redirect that a link on another
    site started, but this reload is started by the dashboard's own page."""
    rest = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != QUERY_PARAMETER])
    target = html.escape(request.path + ("?" + rest if rest else ""))
    body = (f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={target}">'
            f'<title>micro-dashboard</title><p>Signed in. <a href="{target}">Open the dashboard</a>.</p>')
    response = Response(body, mimetype="text/html")
    response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


def refusal() -> tuple[Response, int]:
    """Answer a request without the token, saying how to give it."""
    message = ("this dashboard listens beyond this machine and needs its access token (printed at start, or set "
               "with --token): open the UI once as /?token=TOKEN, or send 'Authorization: Bearer TOKEN'")
    if request.path.startswith(JSON_PREFIXES) or request.path == "/ws":
        return error_response(message, 401)
    return Response(message + "\n", mimetype="text/plain"), 401


def init_app(app: Flask) -> None:
    """Require the token, when there is one, on everything but what trackers use."""
    settings = app.config["SETTINGS"]
    app.config["ACCESS_TOKEN"] = access_token(settings.host, settings.token)

    @app.before_request
    def check_the_token() -> Response | tuple[Response, int] | None:
        token = current_app.config["ACCESS_TOKEN"]
        if token is None or tracker_facing() or request.method == "OPTIONS":  # a preflight carries no credentials
            return None
        if not same_token(presented_token(), token):
            return refusal()
        if request.endpoint in PAGE_ENDPOINTS and QUERY_PARAMETER in request.args:
            return page_without_the_token(token)
        return None
