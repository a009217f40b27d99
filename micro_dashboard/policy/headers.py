"""Security headers: a strict Content-Security-Policy, no framing, no MIME sniffing, a referrer policy.

The collector's answers get nosniff only: a click redirect's Referrer-Policy would change what its target sees,
and trackers' CORS answers are the collector's own."""

from __future__ import annotations

from flask import Flask, Response

from .hosts import tracker_facing

# No inline script or style anywhere: templates load static/ files; scripts set styles through the CSSOM only.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "font-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the security headers to every answer."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if not tracker_facing():
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
