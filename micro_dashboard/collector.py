"""The collector blueprint: turn tracker requests into raw payloads, store them, answer as Snowplow does."""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, request
from werkzeug.wrappers import Request

from .pipeline import RawPayload
from .pipeline.enrich import ANONYMOUS_NUID
from .pipeline.failures import OVERSIZED_HEAD
from .snowplow import SNOWPLOW_VENDOR
from .store import Store

bp = Blueprint("collector", __name__)
log = logging.getLogger(__name__)
DROPPED_UPLOADS = [0]  # uploads cut short since start (the client went away): logged, never stored
_dropped_lock = threading.Lock()

PIXEL = base64.b64decode("R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==")
NO_CACHE = "no-cache, no-store, must-revalidate"
ANONYMOUS_DROPPED_HEADERS = frozenset(["x-forwarded-for", "x-real-ip", "cookie"])
COOKIE_MAX_AGE = 365 * 24 * 3600
# Two-segment paths that belong to the dashboard itself, never to a webhook vendor.
RESERVED_VENDORS = frozenset(["micro", "api", "static", "ws"])
OVERSIZED_KEPT_BYTES = 1024  # of an oversized body, the start that is stored with its real size
TP1_PATHS = frozenset(["/i", "/ice.png"])


def tracking_response(body: bytes | str, mimetype: str, status: int = 200, req: Request | None = None) -> Response:
    """Return an answer with the CORS headers a browser tracker needs (credentials, the origin of `req`, by default
    Flask's current request, echoed)."""
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = (req or request).headers.get("Origin") or "*"
    response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


def pixel(req: Request | None = None) -> Response:
    """Return the 43-byte transparent GIF that GET trackers expect."""
    response = tracking_response(PIXEL, "image/gif", req=req)
    response.headers["Cache-Control"] = NO_CACHE
    return response


def network_userid(req: Request, anonymous: bool) -> str:
    """Return the network user id: anonymous zeros, the nuid parameter, the sp cookie, or a fresh one."""
    if anonymous:
        return ANONYMOUS_NUID
    nuid = req.args.get("nuid") if may_name_nuid(req.environ.get("QUERY_STRING", "")) else None
    return nuid or req.cookies.get("sp") or str(uuid.uuid4())


def may_name_nuid(query: str) -> bool:
    """Say whether a query string may hold a nuid parameter: a key that is `nuid` or percent-encoded.

    The pipeline parses the whole query string; the collector (which needs only nuid, rarely sent) does not."""
    return any(key == "nuid" or "%" in key for key in (part.partition("=")[0] for part in query.split("&")))


def client_ip(req: Request) -> str:
    """Return the first X-Forwarded-For entry, else the peer address."""
    forwarded = req.headers.get("X-Forwarded-For", "")
    first = forwarded.split(",")[0].strip()
    return first or req.remote_addr or "unknown"


class DroppedUpload(Exception):
    """The client went away (or stalled past the server's timeout) before its body was complete."""


def read_body(req: Request, limit: int) -> tuple[bytes | None, int]:
    """Read at most `limit` + 1 bytes of the body; return it (its start when too big) and its real size.

    A declared size over the limit is refused without reading: the body may never come (Content-Length: 2 GiB)."""
    declared = req.content_length
    if declared is not None and declared > limit:
        return None, declared
    try:
        data = req.stream.read(limit + 1)
    except (OSError, ValueError) as exc:  # a timeout, a reset, a broken chunk
        raise DroppedUpload(f"{exc!r} after part of the body") from exc
    if declared is not None and len(data) < declared:
        raise DroppedUpload(f"the body ended after {len(data)} of {declared} bytes")
    if len(data) > limit:  # chunked, no declared size: keep the start, as for any oversized request
        return data[:OVERSIZED_KEPT_BYTES], len(data)
    return (data if data or req.method == "POST" else None), len(data)


def raw_payload(req: Request, vendor: str, version: str, path: str, limit: int) -> RawPayload:
    """Capture everything about a request as plain data."""
    anonymous = "SP-Anonymous" in req.headers
    headers = [(k, v) for k, v in req.headers.items()
               if not (anonymous and k.lower() in ANONYMOUS_DROPPED_HEADERS)]
    body, size = read_body(req, limit)
    return RawPayload(
        method=req.method, path=path, vendor=vendor, version=version,
        querystring=req.environ.get("QUERY_STRING", ""),  # as Werkzeug's query_string, decoded back from latin-1
        body=body, body_size=size, content_type=req.headers.get("Content-Type"), headers=headers,
        ip="unknown" if anonymous else client_ip(req), useragent=req.headers.get("User-Agent"),
        referer=req.headers.get("Referer"), hostname=req.host.rsplit(":", 1)[0] if req.host else "",
        network_userid=network_userid(req, anonymous), timestamp=int(time.time() * 1000),
    )


def store_request(req: Request, store: Store, vendor: str, version: str, path: str,
                  limit: int) -> tuple[RawPayload, bool]:
    """Store a request as received; return it and whether it was within the size limit.

    Nothing else runs here: the pipeline worker decodes it after the tracker has its answer. A body cut short
    (the client went away mid-upload) is not the tracker's data and was never acknowledged, so the tracker
    sends it again: it is logged and counted as dropped, never stored as an empty request (a 400). A database
    that refuses the write gives a 503, so that the tracker sends it again."""
    try:
        raw = raw_payload(req, vendor, version, path, limit)
    except DroppedUpload as exc:
        with _dropped_lock:
            DROPPED_UPLOADS[0] += 1
        log.warning("dropped %s %s from %s: %s (nothing stored; a tracker sends it again)", req.method,
                    req.path, req.remote_addr, exc)
        abort(400, f"the connection dropped mid-upload: {exc}")
    try:
        store.save_request(raw)
    except Exception:
        log.exception("storing %s %s failed", raw.method, raw.path)
        abort(503, "micro-dashboard could not store this request; send it again")
    return raw, raw.body_size <= limit


def collect(vendor: str, version: str, path: str) -> tuple[RawPayload, bool]:
    """Store the current Flask request as received (see store_request)."""
    return store_request(request._get_current_object(), current_app.config["STORE"], vendor, version, path,
                         current_app.config["SETTINGS"].max_body_bytes)


def answer(raw: RawPayload, within_limit: bool, req: Request | None = None) -> Response:
    """Answer a stored request (`req`, by default Flask's current one): 413 when too big, `ok` for POST, the pixel
    otherwise; set the sp cookie."""
    if not within_limit:
        response = tracking_response("request body too large", "text/plain", 413, req)
    elif raw.method == "POST":
        response = tracking_response("ok", "text/plain", req=req)
    else:
        response = pixel(req)
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
    """Collect a click and redirect to `u`, when redirects are enabled.

    An open redirect by design (as Snowplow's collector): any http(s) URL, on any host. A target that is not one
    (another scheme, a scheme-relative `//host`, control characters) is refused with a 400 before anything is
    stored, so no answer is ever a 500 after storing and a retry never duplicates the click."""
    if not current_app.config["SETTINGS"].enable_redirect:
        return tracking_response("redirects disabled", "text/plain", 404)
    target = request.args.get("u")
    if not target:
        return tracking_response("missing u parameter", "text/plain", 400)
    if not redirect_target_allowed(target):
        return tracking_response("u must be an absolute http or https URL", "text/plain", 400)
    raw, _ = collect(SNOWPLOW_VENDOR, "tp2", request.path)
    response = tracking_response("", "text/plain", 302)
    response.headers["Location"] = target
    return with_cookie(response, raw)


def redirect_target_allowed(target: str) -> bool:
    """Say whether `u` is an absolute http(s) URL with a host and no control characters (no header injection)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return False
    try:
        parts = urlsplit(target)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


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


def vendor_version_of(path: str) -> tuple[str | None, str | None]:
    """Return the vendor and version a collector path names (tp1's /i, tp2, /<vendor>/<version>), else Nones."""
    if path in TP1_PATHS:
        return SNOWPLOW_VENDOR, "tp1"
    if path == "/r/tp2":
        return SNOWPLOW_VENDOR, "tp2"
    parts = path.strip("/").split("/")
    return (parts[0], parts[1]) if len(parts) == 2 and parts[0] not in RESERVED_VENDORS else (None, None)


def oversized_recorder(app: Flask):
    """Return the server's hook that stores a request whose line or headers were over Snowplow's caps."""

    def record(part: str, method: str, target: str, headers: list[tuple[str, str]], size: int, start: bytes,
               peer: str) -> None:
        path, _, query = target.partition("?")
        path = path[:OVERSIZED_KEPT_BYTES]
        vendor, version = vendor_version_of(path)
        named = {k.lower(): v for k, v in headers}
        raw = RawPayload(
            method=method, path=path, vendor=vendor, version=version, querystring=query[:OVERSIZED_KEPT_BYTES],
            body=start, body_size=size, content_type=OVERSIZED_HEAD + part, headers=headers, ip=peer,
            useragent=named.get("user-agent"), referer=named.get("referer"),
            hostname=named.get("host", "").rsplit(":", 1)[0], network_userid=None,
            timestamp=int(time.time() * 1000))
        app.config["STORE"].save_request(raw)

    return record
