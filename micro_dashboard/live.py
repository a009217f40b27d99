"""The /ws websocket: replay what a client missed from the store, then push each committed row."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, current_app, request
from flask_sock import Sock

from .errors import ClientError
from .filters import Filter, Target, column_targets, parse_args
from .hub import LOG_SIZE
from .policy.cors import trusted_origin
from .store import Store, reads

sock = Sock()
PING_SECONDS = 1.0  # how often an idle socket checks that its client is still there
REPLAY_BATCH = 500
# A client whose socket takes nothing for this long is dropped, never waited for: it reconnects with its cursor.
SEND_TIMEOUT_SECONDS = 5.0
# Websocket pings from the server: the library's reader then waits in select() and reads only what arrived, so the
# socket's send timeout never cuts an idle (but healthy) client; a client that stops answering is closed.
WEBSOCKET_OPTIONS = {"ping_interval": 25}
TAKEN_OVER = "micro_dashboard.websocket"  # set in the WSGI environ once the handshake went over the raw socket


def init_app(app: Flask) -> None:
    """Serve /ws; answer what would make the feed fail while a JSON answer is still possible (before the upgrade)."""
    sock.init_app(app)
    app.config.setdefault("SOCK_SERVER_OPTIONS", WEBSOCKET_OPTIONS)

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


def text_frame(text: str) -> bytes:
    """Return a websocket text frame (unmasked, as a server sends it) carrying `text`."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes([0x81, size]) + payload
    if size < 65536:
        return bytes([0x81, 126]) + size.to_bytes(2, "big") + payload
    return bytes([0x81, 127]) + size.to_bytes(8, "big") + payload


def send_texts(ws, texts: list[str]) -> None:
    """Send messages in one write, bounded by the socket's send timeout (a stalled client raises OSError)."""
    if texts:
        ws.sock.sendall(b"".join(text_frame(t) for t in texts))


@sock.route("/ws")
def live(ws) -> None:
    """Stream `{type, data}` envelopes: first the matching rows after `?since=`, then changes, each row once.

    Changes come from the hub's shared log already encoded; a client without filters or columns is sent them as
    they are. The hub wakes a client at most every hub.WAKE_INTERVAL and it sends what piled up in one write, so
    hundreds of clients cost a few writes each per second however fast events arrive."""
    store, hub = current_app.config["STORE"], current_app.config["HUB"]
    view = LiveView(store, parse_args(request.args.items(multi=True)),
                    column_targets([c for c in request.args.get("columns", "").split(",") if c.strip()]))
    request.environ[TAKEN_OVER] = True
    ws.sock.settimeout(SEND_TIMEOUT_SECONDS)
    # Subscribe before replaying, so a row committed during the replay is in the log rather than missed;
    # rows already replayed are skipped below, so none is sent twice.
    sub = hub.subscribe()
    try:
        last = int(request.args.get("since") or 0)
        hello = {"counts": store.totals(), "last_id": store.last_id()}
        send_texts(ws, [json.dumps({"type": "hello", "data": hello})])
        while batch := view.replay(last):
            send_texts(ws, [json.dumps({"type": "event", "data": summary}) for summary in batch])
            last = batch[-1]["id"]
        while ws.connected:
            found = sub.take(LOG_SIZE, PING_SECONDS)
            if sub.overflowed:
                send_texts(ws, [json.dumps({"type": "resync", "data": {"since": last}})])
                break
            if not found:
                continue
            texts, last = _texts_for(view, found, last)
            send_texts(ws, texts)
    except OSError:  # the client stopped reading (send timeout) or went away: drop it; it resyncs on reconnect
        pass
    finally:
        hub.unsubscribe(sub)


def _texts_for(view: LiveView, found: list[tuple[dict[str, Any], str]], last: int) -> tuple[list[str], int]:
    """Return the messages a client is sent for some logged envelopes, and its new cursor."""
    newest = max([last, *(e["data"]["id"] for e, _ in found if e["type"] == "event")])
    if not view.filter and not view.columns:  # as encoded by the hub, less rows the replay already sent
        return [text for e, text in found if not (e["type"] == "event" and e["data"]["id"] <= last)], newest
    out = _view_of(view, [e for e, _ in found], last)
    return [json.dumps(e) for e in out], newest


def _view_of(view: LiveView, envelopes: list[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """Apply a client's filters and columns to a run of envelopes, in order; drop rows it was already sent."""
    rows = view.rows([e["data"] for e in envelopes if e["type"] in ("event", "update")
                      and (e["type"] == "update" or e["data"]["id"] > last)])
    kept = {r["id"]: r for r in rows}
    out = []
    for envelope in envelopes:
        if envelope["type"] not in ("event", "update"):
            out.append(envelope)
        elif (row := kept.get(envelope["data"]["id"])) is not None:
            out.append({"type": envelope["type"], "data": row})
    return out
