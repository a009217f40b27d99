"""Fan-out of committed events to live clients, and a condition that waiters sleep on until the next commit."""

from __future__ import annotations

import queue
import threading
from typing import Any

from .store import Change, Store

QUEUE_SIZE = 2000  # envelopes a slow client may fall behind by before it is dropped and told to resync


class Subscription:
    """One live client's queue of envelopes; marked overflowed instead of ever blocking the collector."""

    def __init__(self) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=QUEUE_SIZE)
        self.overflowed = False

    def offer(self, envelope: dict[str, Any]) -> None:
        """Queue an envelope, or mark the subscription overflowed when the client is too slow."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(envelope)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> dict[str, Any] | None:
        """Return the next envelope, or None after `timeout` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Hub:
    """Learns of changes only after they are committed and passes them on as `{type, data}` envelopes."""

    def __init__(self, store: Store):
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._changed = threading.Condition()
        self._generation = 0
        store.on_change(self.publish)

    def subscribe(self) -> Subscription:
        """Start receiving envelopes."""
        sub = Subscription()
        with self._lock:
            self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop receiving envelopes."""
        with self._lock:
            self._subscriptions.discard(sub)

    @property
    def clients(self) -> int:
        """Return how many live clients are subscribed."""
        with self._lock:
            return len(self._subscriptions)

    def publish(self, change: Change) -> None:
        """Send a committed change to every client and wake every waiter."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        if subscriptions:  # no envelopes to build while nobody listens
            envelopes = envelopes_of(change)
            for sub in subscriptions:
                for envelope in envelopes:
                    sub.offer(envelope)
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    @property
    def generation(self) -> int:
        """Return a number that grows with every committed change."""
        with self._changed:
            return self._generation

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Sleep until something was committed after `generation` (or `timeout`); return the new generation."""
        with self._changed:
            self._changed.wait_for(lambda: self._generation != generation, timeout=timeout)
            return self._generation


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
