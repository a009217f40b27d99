"""The /ws websocket: replay what a client missed from the store, then push each committed row."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict

from flask import Flask, Response, current_app, g, jsonify, request
from flask_sock import Sock

sock = Sock()
PING_SECONDS = 1.0  # how often an idle socket checks that its client is still there
REPLAY_BATCH = 500
# Requests that hold a server thread for as long as they stay open.
LONG_LIVED_PATHS = frozenset(["/ws", "/api/wait"])
RESERVED_THREADS = 16  # never taken by long-lived requests, so the collector always answers


def trusted_origin(origin: str) -> bool:
    """Return whether a page from `origin` may read the feed: the dashboard's own pages or an allowed origin."""
    from .api.events import allowed_origin

    return origin == request.host_url.rstrip("/") or allowed_origin(origin)


def init_app(app: Flask, threads: int) -> None:
    """Serve /ws, and keep sockets and waiters from taking the threads the collector needs."""
    sock.init_app(app)
    slots = threading.BoundedSemaphore(max(1, threads - RESERVED_THREADS))

    @app.before_request
    def take_a_long_lived_slot() -> Response | tuple[Response, int] | None:
        if request.path not in LONG_LIVED_PATHS:
            return None
        since = request.args.get("since")
        if request.path == "/ws" and since and not re.fullmatch(r"[0-9]{1,18}", since):
            return jsonify({"error": "since must be a row id (a whole number)", "detail": {"since": since}}), 400
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin and not trusted_origin(origin):
            # Browsers apply no CORS to websockets, so without this any web page could read every event.
            message = f"origin {origin} may not open the live feed; allow it with --cors-origin"
            return jsonify({"error": message, "detail": {"origin": origin}}), 403
        if not slots.acquire(blocking=False):
            message = (f"too many open websockets and waits ({threads - RESERVED_THREADS}); close some, "
                       "or start micro-dashboard with more --threads")
            response = jsonify({"error": message, "detail": None})
            response.headers["Retry-After"] = "1"
            return response, 503
        g.long_lived_slot = True
        return None

    @app.teardown_request
    def give_the_slot_back(_exc: BaseException | None) -> None:
        if g.pop("long_lived_slot", False):
            slots.release()


@sock.route("/ws")
def live(ws) -> None:
    """Stream `{type, data}` envelopes: first the rows after `?since=`, then new ones, each exactly once."""
    store, hub = current_app.config["STORE"], current_app.config["HUB"]
    # Subscribe before replaying, so a row committed during the replay is queued rather than missed;
    # rows already replayed are skipped below, so none is sent twice.
    sub = hub.subscribe()
    try:
        last = int(request.args.get("since") or 0)
        ws.send(json.dumps({"type": "hello", "data": {"counts": store.counts(), "last_id": store.last_id()}}))
        while batch := store.summaries_after(last, REPLAY_BATCH):
            for summary in batch:
                ws.send(json.dumps({"type": "event", "data": asdict(summary)}))
            last = batch[-1].id
        while ws.connected:
            if sub.overflowed:
                ws.send(json.dumps({"type": "resync", "data": {"since": last}}))
                break
            envelope = sub.get(PING_SECONDS)
            if envelope is None:
                continue
            if envelope["type"] == "event":
                if envelope["data"]["id"] <= last:
                    continue
                last = envelope["data"]["id"]
            ws.send(json.dumps(envelope))
    finally:
        hub.unsubscribe(sub)
