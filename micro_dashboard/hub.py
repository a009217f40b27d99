"""Fan-out of committed events to live clients, and a condition that waiters sleep on until the next commit.

Publishing costs the same however many clients listen: a change is appended, encoded once, to one shared log of
recent envelopes, and each client reads the log from its own cursor. A client that falls further behind than the
log reaches is marked overflowed (told to resync); nothing ever blocks the writer on a client.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

from .store import Change, Store

LOG_SIZE = 2000  # envelopes a slow client may fall behind by before it is dropped and told to resync
WAKE_INTERVAL = 0.1  # seconds: how often at most hundreds of live clients and waiting requests wake
WAKE_COST = 0.0002  # seconds of interpreter time one sleeper's wake costs: the pause before the next wake grows with it


class Subscription:
    """One live client's cursor in the hub's log; overflowed once the log has moved past what it has not read."""

    def __init__(self, hub: Hub, cursor: int) -> None:
        self.hub, self.cursor = hub, cursor
        self.overflowed = False

    def get(self, timeout: float) -> dict[str, Any] | None:
        """Return the next envelope, or None after `timeout` seconds (or once overflowed)."""
        found = self.take(1, timeout)
        return found[0][0] if found else None

    def take(self, limit: int, timeout: float) -> list[tuple[dict[str, Any], str]]:
        """Return up to `limit` next (envelope, its JSON text) pairs, waiting up to `timeout` for the first."""
        return self.hub._read(self, limit, timeout)


class Hub:
    """Learns of changes only after they are committed and passes them on as `{type, data}` envelopes.

    The writer thread only appends to the log and raises a flag; the hub's own thread wakes every sleeping client
    and waiter at once, then lets the commits of a short pause gather before it wakes them again: the pause grows
    with the number of sleepers (a few UI tabs: about a millisecond; hundreds of sockets and waits: WAKE_INTERVAL).
    Waking hundreds of threads on each commit, on the writer's thread, had made the collector wait for them."""

    def __init__(self, store: Store):
        self._lock = threading.Lock()  # the log and the counters
        self._woken = threading.Condition()  # what clients and waiters sleep on
        self._log: deque[tuple[dict[str, Any], str]] = deque(maxlen=LOG_SIZE)
        self._published = 0  # envelopes ever appended; the log holds the last len(self._log) of them
        self._clients = 0
        self._generation = 0
        self._sleepers = 0  # threads waiting on self._woken
        self._pending = threading.Event()
        self._closing = False
        threading.Thread(target=self._wake_sleepers, name="micro-dashboard-hub", daemon=True).start()
        store.on_change(self.publish)
        store.on_close(self._close)

    def _close(self) -> None:
        self._closing = True
        self._pending.set()

    def subscribe(self) -> Subscription:
        """Start receiving envelopes committed from now on."""
        with self._lock:
            self._clients += 1
            return Subscription(self, self._published)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop receiving envelopes."""
        with self._lock:
            self._clients -= 1

    @property
    def clients(self) -> int:
        """Return how many live clients are subscribed."""
        with self._lock:
            return self._clients

    def publish(self, change: Change) -> None:
        """Append a committed change to the log (encoded once for every client); clients and waiters wake soon."""
        encoded = [(e, json.dumps(e)) for e in envelopes_of(change)] if self._clients else []
        with self._lock:
            self._log.extend(encoded)
            self._published += len(encoded)
            self._generation += 1
        self._pending.set()

    def _wake_sleepers(self) -> None:
        while not self._closing:
            self._pending.wait()
            self._pending.clear()
            with self._woken:
                sleepers = self._sleepers
                self._woken.notify_all()
            time.sleep(min(WAKE_INTERVAL, sleepers * WAKE_COST))  # the commits of the pause wake everyone once

    def _read(self, sub: Subscription, limit: int, timeout: float) -> list[tuple[dict[str, Any], str]]:
        self._sleep_until(lambda: self._published > sub.cursor, timeout)
        with self._lock:
            oldest = self._published - len(self._log)
            if sub.cursor < oldest:
                sub.overflowed = True
                return []
            start = sub.cursor - oldest
            found = [self._log[i] for i in range(start, min(len(self._log), start + limit))]
            sub.cursor += len(found)
            return found

    @property
    def generation(self) -> int:
        """Return a number that grows with every committed change."""
        with self._lock:
            return self._generation

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Sleep until something was committed after `generation` (or `timeout`); return the new generation."""
        self._sleep_until(lambda: self._generation != generation, timeout)
        return self.generation

    def _sleep_until(self, condition: Any, timeout: float) -> None:
        with self._woken:
            self._sleepers += 1
            try:
                self._woken.wait_for(condition, timeout=timeout)
            finally:
                self._sleepers -= 1


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
