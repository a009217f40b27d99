"""Fan-out of committed events to live clients, and the waits that are told when a matching row arrives.

Publishing costs the same however many clients listen: a change is appended, encoded once, to one shared log of
recent envelopes, and each client reads the log from its own cursor. A client that falls further behind than the
log reaches is marked overflowed (told to resync); nothing ever blocks the writer on a client.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .filters import Filter
from .store import Change, Store, reads

log = logging.getLogger(__name__)

LOG_SIZE = 2000  # envelopes a slow client may fall behind by before it is dropped and told to resync
WAKE_INTERVAL = 0.1  # seconds: the longest pause that lets the commits of a burst reach clients and waits in one wake
# Seconds of work one live client or wait adds to a wake (a send, for most): the pause before the next wake grows
# with their number (a few UI tabs: about a millisecond; hundreds of sockets and waits: WAKE_INTERVAL).
WAKE_COST = 0.0002
LogEntry = tuple[dict[str, Any], str]  # an envelope and its JSON text


class Subscription:
    """One live client's cursor in the hub's log."""

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor


class Waiter:
    """One waiting request: its filter, the row id it waits beyond, and the event set when a matching row arrives."""

    def __init__(self, flt: Filter, since: int) -> None:
        self.filter, self.since = flt, since
        self.key = repr(flt)  # waits with the same filter share one query per wake
        self.changed = threading.Event()


class Hub:
    """Learns of changes only after they are committed and passes them on as `{type, data}` envelopes.

    The writer thread only appends to the log and raises a flag. The hub's own thread then, once per wake, asks
    the store which of the new rows each distinct wait filter matches and sets only those waits' events, and
    tells the listeners (the live loop, one thread serving every websocket) that the log grew. It lets the commits
    of a short pause gather before the next wake: the pause grows with the clients and waits (WAKE_COST)."""

    def __init__(self, store: Store):
        self._store = store
        self._lock = threading.Lock()  # the log, the counters, the waits and the rows they have not seen
        self._log: deque[LogEntry] = deque(maxlen=LOG_SIZE)
        self._published = 0  # envelopes ever appended; the log holds the last len(self._log) of them
        self._clients = 0
        self._waiters: set[Waiter] = set()
        self._unseen_ids: list[int] = []  # rows inserted or updated since the waits were last checked
        self._listeners: list[Callable[[], None]] = []
        self._pending = threading.Event()
        self._closing = False
        threading.Thread(target=self._wake, name="micro-dashboard-hub", daemon=True).start()
        store.on_change(self.publish)
        store.on_close(self._close)

    def _close(self) -> None:
        self._closing = True
        self._pending.set()

    def on_publish(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from the hub's thread, at most once per wake) after envelopes were appended."""
        self._listeners.append(listener)

    def subscribe(self) -> Subscription:
        """Start receiving envelopes committed from now on."""
        with self._lock:
            self._clients += 1
            return Subscription(self._published)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop receiving envelopes."""
        with self._lock:
            self._clients -= 1

    @property
    def clients(self) -> int:
        """Return how many live clients are subscribed."""
        with self._lock:
            return self._clients

    @property
    def published(self) -> int:
        """Return the cursor just past the newest envelope."""
        with self._lock:
            return self._published

    def publish(self, change: Change) -> None:
        """Append a committed change to the log (encoded once for every client); clients and waits learn soon."""
        encoded = [(e, json.dumps(e)) for e in envelopes_of(change)] if self._clients else []
        with self._lock:
            self._log.extend(encoded)
            self._published += len(encoded)
            if self._waiters and change.kind in ("insert", "update"):  # an update can make a row match
                self._unseen_ids.extend(s.id for s in change.summaries)
        self._pending.set()

    @property
    def oldest(self) -> int:
        """Return the cursor of the oldest envelope the log still holds: a client behind it has to resync."""
        with self._lock:
            return self._published - len(self._log)

    def entries_since(self, cursor: int) -> list[LogEntry] | None:
        """Return the logged envelopes from `cursor` on, or None when the log has already dropped some of them."""
        with self._lock:
            oldest = self._published - len(self._log)
            if cursor < oldest:
                return None
            return [self._log[i] for i in range(cursor - oldest, len(self._log))]

    def watch(self, flt: Filter, since: int) -> Waiter:
        """Register a wait: its event is set once a row after `since` that `flt` matches is committed."""
        waiter = Waiter(flt, since)
        with self._lock:
            self._waiters.add(waiter)
        return waiter

    @property
    def waits(self) -> int:
        """Return how many waits are registered."""
        with self._lock:
            return len(self._waiters)

    def unwatch(self, waiter: Waiter) -> None:
        """Forget a wait."""
        with self._lock:
            self._waiters.discard(waiter)

    def _wake(self) -> None:
        while not self._closing:
            self._pending.wait()
            self._pending.clear()
            with self._lock:
                ids, self._unseen_ids = self._unseen_ids, []
                waiters = list(self._waiters)  # taken after the ids: a wait registered later queries them itself
                sleepers = self._clients + len(waiters)
            if ids and waiters:
                self._release(waiters, ids)
            for listener in self._listeners:
                try:
                    listener()
                except Exception:  # a broken listener must not stop the waits from being released
                    log.exception("hub listener failed")
            time.sleep(min(WAKE_INTERVAL, sleepers * WAKE_COST))  # the commits of the pause wake everyone once

    def _release(self, waiters: list[Waiter], ids: list[int]) -> None:
        """Set the events of the waits that a row among `ids` now matches: one query per distinct filter."""
        groups: dict[str, list[Waiter]] = {}
        for waiter in waiters:
            groups.setdefault(waiter.key, []).append(waiter)
        for group in groups.values():
            flt = group[0].filter
            try:
                matched = ([s.id for s in reads.summaries(self._store, flt, len(ids), among=ids)] if flt else ids)
            except Exception:  # the store is closing or failed: let the waits ask it themselves
                log.debug("checking waits failed", exc_info=True)
                matched = ids
            newest = max(matched, default=0)
            for waiter in group:
                if newest > waiter.since:
                    waiter.changed.set()


def envelopes_of(change: Change) -> list[dict[str, Any]]:
    """Return the websocket envelopes of a change: `event` or `update` per row then `counts`, `reset`, `pruned`."""
    if change.kind in ("insert", "update"):
        kind = "event" if change.kind == "insert" else "update"
        # The totals of every row, so that a client whose feed is filtered still shows them without asking.
        return [*({"type": kind, "data": s.to_json()} for s in change.summaries),
                {"type": "counts", "data": change.counts}]
    if change.kind == "delete":
        return [{"type": "reset", "data": change.counts}]
    return [{"type": "pruned", "data": {"oldest_id": change.oldest_id, "counts": change.counts}}]
