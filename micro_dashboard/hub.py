"""Fan-out of committed events to live clients, and a condition that waiters sleep on until the next commit."""

from __future__ import annotations

import queue
import threading
from dataclasses import asdict
from typing import Any

from .store import Store, Summary

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
    """Learns of rows only after they are committed and passes them on as `{type, data}` envelopes."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._changed = threading.Condition()
        self._generation = 0
        store.on_commit(self.publish)
        store.on_reset(self.publish_reset)
        store.on_prune(self.publish_pruned)

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

    def _broadcast(self, envelopes: list[dict[str, Any]]) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for sub in subscriptions:
            for envelope in envelopes:
                sub.offer(envelope)
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def publish(self, summaries: list[Summary]) -> None:
        """Send newly committed rows to every client and wake every waiter."""
        self._broadcast([{"type": "event", "data": asdict(s)} for s in summaries])

    def publish_reset(self) -> None:
        """Tell every client that rows were deleted, and wake every waiter."""
        self._broadcast([{"type": "reset", "data": self.store.counts()}])

    def publish_pruned(self, oldest_id: int) -> None:
        """Tell every client that retention deleted the rows before `oldest_id`."""
        self._broadcast([{"type": "pruned", "data": {"oldest_id": oldest_id, "counts": self.store.counts()}}])

    @property
    def generation(self) -> int:
        """Return a number that grows with every commit or reset."""
        with self._changed:
            return self._generation

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Sleep until something was committed after `generation` (or `timeout`); return the new generation."""
        with self._changed:
            self._changed.wait_for(lambda: self._generation != generation, timeout=timeout)
            return self._generation
