"""The collector blueprint: turn tracker requests into raw payloads, store them, answer as Snowplow does."""

from __future__ import annotations

import base64
import logging
import time
import uuid

from flask import Blueprint, Response, abort, current_app, request

from .pipeline import RawPayload
from .pipeline.enrich import ANONYMOUS_NUID
from .snowplow import SNOWPLOW_VENDOR

bp = Blueprint("collector", __name__)
log = logging.getLogger(__name__)

PIXEL = base64.b64decode("R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==")
NO_CACHE = "no-cache, no-store, must-revalidate"
ANONYMOUS_DROPPED_HEADERS = frozenset(["x-forwarded-for", "x-real-ip", "cookie"])
COOKIE_MAX_AGE = 365 * 24 * 3600
# Two-segment paths that belong to the dashboard itself, never to a webhook vendor.
RESERVED_VENDORS = frozenset(["micro", "api", "static", "ws"])


def tracking_response(body: bytes | str, mimetype: str, status: int = 200) -> Response:
    """Return an answer with the CORS headers a browser tracker needs (credentials, echoed origin)."""
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin") or "*"
    response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


def pixel() -> Response:
    """Return the 43-byte transparent GIF that GET trackers expect."""
    response = tracking_response(PIXEL, "image/gif")
    response.headers["Cache-Control"] = NO_CACHE
    return response


def network_userid(anonymous: bool) -> str:
    """Return the network user id: anonymous zeros, the nuid parameter, the sp cookie, or a fresh one."""
    if anonymous:
        return ANONYMOUS_NUID
    return request.args.get("nuid") or request.cookies.get("sp") or str(uuid.uuid4())


def client_ip() -> str:
    """Return the first X-Forwarded-For entry, else the peer address."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    first = forwarded.split(",")[0].strip()
    return first or request.remote_addr or "unknown"


def read_body(limit: int) -> tuple[bytes | None, int]:
    """Read at most `limit` + 1 bytes of the body; return it and its (declared or read) size."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return request.stream.read(1024), declared
    data = request.stream.read(limit + 1)
    return (data if data or request.method == "POST" else None), len(data)


def raw_payload(vendor: str, version: str, path: str, limit: int) -> RawPayload:
    """Capture everything about the current request as plain data."""
    anonymous = "SP-Anonymous" in request.headers
    headers = [(k, v) for k, v in request.headers.items()
               if not (anonymous and k.lower() in ANONYMOUS_DROPPED_HEADERS)]
    body, size = read_body(limit)
    return RawPayload(
        method=request.method, path=path, vendor=vendor, version=version,
        querystring=request.query_string.decode("latin-1"),
        body=body, body_size=size, content_type=request.headers.get("Content-Type"), headers=headers,
        ip="unknown" if anonymous else client_ip(), useragent=request.headers.get("User-Agent"),
        referer=request.headers.get("Referer"), hostname=request.host.rsplit(":", 1)[0] if request.host else "",
        network_userid=network_userid(anonymous), timestamp=int(time.time() * 1000),
    )


def collect(vendor: str, version: str, path: str) -> tuple[RawPayload, bool]:
    """Store the current request as received; return it and whether it was within the size limit.

    Nothing else runs here: the pipeline worker decodes it after the tracker has its answer."""
    limit = current_app.config["SETTINGS"].max_body_bytes
    raw = raw_payload(vendor, version, path, limit)
    try:
        current_app.config["STORE"].save_request(raw)
    except Exception:  # the database refuses writes: 503, so that the tracker sends it again
        log.exception("storing %s %s failed", raw.method, raw.path)
        abort(503, "micro-dashboard could not store this request; send it again")
    return raw, raw.body_size <= limit


def answer(raw: RawPayload, within_limit: bool) -> Response:
    """Answer a stored request: 413 when too big, `ok` for POST, the pixel otherwise; set the sp cookie."""
    if not within_limit:
        response = tracking_response("request body too large", "text/plain", 413)
    elif raw.method == "POST":
        response = tracking_response("ok", "text/plain")
    else:
        response = pixel()
    return with_cookie(response, raw)


def with_cookie(response: Response, raw: RawPayload) -> Response:
    """Set the sp network-user-id cookie for a year (Lax, not Secure, so plain-http localhost keeps it)."""
    if raw.network_userid != ANONYMOUS_NUID:
        response.set_cookie("sp", raw.network_userid or "", max_age=COOKIE_MAX_AGE, path="/", samesite="Lax")
    return response


@bp.route("/i", methods=["GET"])
@bp.route("/ice.png", methods=["GET"])
def tp1() -> Response:
    """Collect one event from a pixel request."""
    return answer(*collect(SNOWPLOW_VENDOR, "tp1", request.path))


@bp.route("/r/tp2", methods=["GET"])
def redirect_tp2() -> Response:
    """Collect a click and redirect to `u`, when redirects are enabled."""
    if not current_app.config["SETTINGS"].enable_redirect:
        return tracking_response("redirects disabled", "text/plain", 404)
    raw, _ = collect(SNOWPLOW_VENDOR, "tp2", request.path)
    target = request.args.get("u")
    if not target:
        return tracking_response("missing u parameter", "text/plain", 400)
    response = tracking_response("", "text/plain", 302)
    response.headers["Location"] = target
    return with_cookie(response, raw)


@bp.route("/<vendor>/<version>", methods=["GET", "POST"])
def vendor_version(vendor: str, version: str) -> Response:
    """Collect tp2, Iglu webhook and unknown-vendor requests, mapping configured path aliases first."""
    path = request.path
    target = current_app.config["SETTINGS"].path_aliases.get(path.rstrip("/"))
    if target:
        path = target
        vendor, version = target.strip("/").split("/")
    elif vendor in RESERVED_VENDORS:
        return Response("not found", status=404, mimetype="text/plain")
    return answer(*collect(vendor, version, path))


@bp.before_app_request
def preflight() -> Response | None:
    """Answer a CORS preflight for any tracking path (the API answers its own, with its allow-list)."""
    if request.method != "OPTIONS" or request.path.startswith(("/api/", "/micro/")):
        return None
    response = tracking_response("", "text/plain")
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, SP-Anonymous"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Max-Age"] = "3600"
    return response


@bp.route("/health", methods=["GET"])
def health() -> Response:
    """Report liveness."""
    return Response("ok", mimetype="text/plain")
