"""The /ws websocket: replay what a client missed from the store, then push each committed row."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, current_app, request
from flask_sock import Sock

from .errors import ClientError
from .filters import Filter, Target, column_targets, parse_args
from .policy.cors import trusted_origin
from .store import Store, reads

sock = Sock()
PING_SECONDS = 1.0  # how often an idle socket checks that its client is still there
REPLAY_BATCH = 500


def init_app(app: Flask) -> None:
    """Serve /ws; answer what would make the feed fail while a JSON answer is still possible (before the upgrade)."""
    sock.init_app(app)

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


def _drain(sub: Any, first: dict[str, Any]) -> list[dict[str, Any]]:
    """Return `first` and every envelope already queued behind it, so that a burst is filtered in one query."""
    batch = [first]
    while len(batch) < REPLAY_BATCH and (more := sub.get(0)) is not None:
        batch.append(more)
    return batch


@sock.route("/ws")
def live(ws) -> None:
    """Stream `{type, data}` envelopes: first the matching rows after `?since=`, then changes, each row once."""
    store, hub = current_app.config["STORE"], current_app.config["HUB"]
    view = LiveView(store, parse_args(request.args.items(multi=True)),
                    column_targets([c for c in request.args.get("columns", "").split(",") if c.strip()]))
    # Subscribe before replaying, so a row committed during the replay is queued rather than missed;
    # rows already replayed are skipped below, so none is sent twice.
    sub = hub.subscribe()
    try:
        last = int(request.args.get("since") or 0)
        ws.send(json.dumps({"type": "hello", "data": {"counts": store.totals(), "last_id": store.last_id()}}))
        while batch := view.replay(last):
            for summary in batch:
                ws.send(json.dumps({"type": "event", "data": summary}))
            last = batch[-1]["id"]
        while ws.connected:
            if sub.overflowed:
                ws.send(json.dumps({"type": "resync", "data": {"since": last}}))
                break
            envelope = sub.get(PING_SECONDS)
            if envelope is None:
                continue
            for out in _view_of(view, _drain(sub, envelope), last):
                if out["type"] == "event":
                    last = max(last, out["data"]["id"])
                ws.send(json.dumps(out))
    finally:
        hub.unsubscribe(sub)


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
