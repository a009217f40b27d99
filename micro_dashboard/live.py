"""The /ws websocket: check the request, upgrade it, replay what the client missed, then hand it to the live loop."""

from __future__ import annotations

import binascii
import json
import re
from base64 import b64decode
from typing import Any

from flask import Flask, Response, current_app, request
from wsproto.utilities import generate_accept_token

from .errors import ClientError
from .filters import Filter, Target, column_targets, parse_args
from .live_loop import SEND_TIMEOUT_SECONDS, LiveLoop, text_frame
from .policy.cors import trusted_origin
from .store import Store, reads

REPLAY_BATCH = 500
TAKEN_OVER = "micro_dashboard.websocket"  # set in the WSGI environ once the handshake went over the raw socket
RAW_SOCKET = "werkzeug.socket"  # the connection's socket, as Werkzeug's server and ours (server.py) expose it
LIVE_LOOP = "LIVE_LOOP"  # the app's config key of the loop that serves every websocket after its replay


def init_app(app: Flask) -> None:
    """Serve /ws; answer what would make the feed fail while a JSON answer is still possible (before the upgrade)."""
    loop = app.config[LIVE_LOOP] = LiveLoop(app.config["HUB"])
    app.config["STORE"].on_close(loop.close)
    app.add_url_rule("/ws", "live", live, websocket=True)  # Werkzeug routes upgrade requests only to such rules

    @app.before_request
    def check_the_feed_request() -> tuple[Response, int] | None:
        if request.path != "/ws":
            return None
        since = request.args.get("since")
        if since and not re.fullmatch(r"[0-9]{1,18}", since):
            raise ClientError("since must be a row id (a whole number)", {"since": since})
        parse_args(request.args.items(multi=True))
        column_targets([c for c in request.args.get("columns", "").split(",") if c.strip()])
        origin = request.headers.get("Origin")
        if origin and not trusted_origin(origin):
            # Browsers apply no CORS to websockets, so without this any web page could read every event.
            raise ClientError(f"origin {origin} may not open the live feed; allow it with --cors-origin",
                              {"origin": origin}, status=403)
        return None


class LiveView:
    """What one /ws client asked for: its filters and extra columns, applied to every envelope it is sent."""

    def __init__(self, store: Store, flt: Filter, columns: dict[str, Target]):
        self.store, self.filter, self.columns = store, flt, columns

    def rows(self, summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the rows the filters match (one query for the batch), with their extra columns."""
        if self.filter and summaries:
            matching = {s.id for s in reads.summaries(self.store, self.filter, len(summaries),
                                                      among=[s["id"] for s in summaries])}
            summaries = [s for s in summaries if s["id"] in matching]
        if self.columns and summaries:
            values = reads.column_values(self.store, [s["id"] for s in summaries], self.columns)
            summaries = [{**s, "columns": values[s["id"]]} for s in summaries]
        return summaries

    def replay(self, since: int) -> list[dict[str, Any]]:
        """Return the matching rows after `since`, oldest first, one batch."""
        found = [s.to_json() for s in reads.summaries(self.store, self.filter, REPLAY_BATCH, since=since,
                                                       oldest_first=True)]
        return self.rows(found) if self.columns else found


def live() -> Response:
    """Upgrade to a websocket, send `hello` and the matching rows after `?since=`, then hand it to the live loop.

    From then on the loop sends it `{type, data}` envelopes from the hub's log (each row once), so this server
    thread is free again and a commit wakes one thread however many clients listen."""
    key = _handshake_key()
    sock = request.environ.get(RAW_SOCKET)
    if sock is None:
        raise ClientError("this server cannot hand over its connection for a websocket", status=400)
    store, hub, loop = current_app.config["STORE"], current_app.config["HUB"], current_app.config[LIVE_LOOP]
    view = LiveView(store, parse_args(request.args.items(multi=True)),
                    column_targets([c for c in request.args.get("columns", "").split(",") if c.strip()]))
    request.environ[TAKEN_OVER] = True
    sock.settimeout(SEND_TIMEOUT_SECONDS)  # the replay is sent from this thread: a stalled client is dropped
    # Subscribe before replaying, so a row committed during the replay is in the log rather than missed; the loop
    # skips the rows already replayed, so none is sent twice.
    sub = hub.subscribe()
    try:
        # The handshake answer goes alone: simple-websocket's client (which `tail` uses) leaves frames that arrive
        # in the same read as the answer unread until more data comes.
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + generate_accept_token(key) + b"\r\n\r\n")
        last = int(request.args.get("since") or 0)
        hello = {"counts": store.totals(), "last_id": store.last_id()}
        sock.sendall(text_frame(json.dumps({"type": "hello", "data": hello})))
        while batch := view.replay(last):
            sock.sendall(b"".join(text_frame(json.dumps({"type": "event", "data": s})) for s in batch))
            last = batch[-1]["id"]
        # The server closes its own socket once this returns; the loop keeps a duplicate of the connection.
        loop.add(sock.dup(), view, sub, last)
    except OSError:  # the client stopped reading (send timeout) or went away: drop it; it resyncs on reconnect
        hub.unsubscribe(sub)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    return Response(status=101)


def _handshake_key() -> bytes:
    """Return the request's Sec-WebSocket-Key, or answer why this is not a websocket upgrade we speak."""
    if "websocket" not in request.headers.get("Upgrade", "").lower() or \
            "upgrade" not in request.headers.get("Connection", "").lower():
        raise ClientError("/ws is a websocket: ask for an upgrade (Upgrade: websocket)", status=400)
    if request.headers.get("Sec-WebSocket-Version", "").strip() != "13":
        raise ClientError("/ws speaks websocket version 13", {"version": request.headers.get("Sec-WebSocket-Version")},
                          status=426)
    key = request.headers.get("Sec-WebSocket-Key", "").strip()
    try:
        if len(b64decode(key, validate=True)) != 16:
            raise ValueError(key)
    except (binascii.Error, ValueError):
        raise ClientError("Sec-WebSocket-Key must be 16 bytes in base64", {"key": key[:64]}, status=400) from None
    return key.encode()
