"""The /ws websocket: replay what a client missed from the store, then push each committed row."""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import current_app, request
from flask_sock import Sock

sock = Sock()
PING_SECONDS = 1.0  # how often an idle socket checks that its client is still there
REPLAY_BATCH = 500


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
