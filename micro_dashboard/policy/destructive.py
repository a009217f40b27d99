"""Requests that delete refuse other sites' pages, which a browser sends them for without asking anyone.

An `<img>`, a form, a no-cors fetch or a beacon from any page reaches /micro/reset, and a DELETE from an allowed
CORS origin passes its preflight. Browsers say where a request comes from (Sec-Fetch-Site, else Origin); curl,
trackers, scripts and the test client send neither, and keep working."""

from __future__ import annotations

from flask import Flask, Response, request

from .cors import allowed_origin
from .errors import error_response

# Micro's reset deletes on GET and POST as Micro serves it; every DELETE deletes.
DELETING_ENDPOINTS = frozenset(["micro.reset"])
OTHER_SITES = frozenset(["cross-site", "same-site"])  # same-site: another port or subdomain, still another origin


def deletes() -> bool:
    """Return whether the request deletes events."""
    if request.method == "OPTIONS":  # a preflight, answered by the CORS policy, runs nothing
        return False
    return request.method == "DELETE" or request.endpoint in DELETING_ENDPOINTS


def from_another_site() -> str | None:
    """Return how the request shows it comes from a page of another origin, or None."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").lower()
    if fetch_site in OTHER_SITES:
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/") and not allowed_origin(origin):
        return f"Origin: {origin}"
    return None


def init_app(app: Flask) -> None:
    """Refuse deleting requests that a page on another site made."""

    @app.before_request
    def refuse_other_sites_deleting() -> tuple[Response, int] | None:
        if not deletes() or (evidence := from_another_site()) is None:
            return None
        return error_response(f"a page on another site may not delete events ({evidence}); delete from the "
                              "dashboard's own page, or with curl or a script", 403, {"evidence": evidence})
