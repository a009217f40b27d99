"""The pipeline worker: decodes acknowledged requests in order, off the request path, and re-decodes stored ones
whose schemas could not be checked once a registry answers for them (re-validation is the same path run again)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from .iglu import IgluChecker
from .pipeline import Outcome, Verdict, failures, ingest
from .store import Store, StoredRequest, free_text

log = logging.getLogger(__name__)
BATCH = 100  # requests decoded per transaction at most
RETRY_SECONDS = 1.0  # after the database refused a write (locked by another program, disk full)
MAX_REMEMBERED = 10_000  # unverified schema URIs remembered for re-checking once they resolve


class ResolutionTracker:
    """A schema checker that remembers which schemas could not be checked, and which of those resolved since."""

    def __init__(self, checker: IgluChecker, unverified: list[str]):
        self.checker = checker
        self.resolver = checker.resolver
        # Newest last; bounded, so that a stream of made-up schema URIs cannot grow it without end. A schema
        # forgotten here is still re-checked when it next arrives, but its older events wait for a restart.
        self._unverified: dict[str, None] = dict.fromkeys(unverified[-MAX_REMEMBERED:])
        self._resolved: set[str] = set()

    def check(self, schema: str, data: Any) -> Verdict:
        """Check one self-describing JSON, noting schemas that could not be checked and those that now could."""
        verdict = self.checker.check(schema, data)
        if verdict.status == "unverified":
            self._unverified.pop(schema, None)
            self._unverified[schema] = None
            if len(self._unverified) > MAX_REMEMBERED:
                del self._unverified[next(iter(self._unverified))]
        elif schema in self._unverified:
            del self._unverified[schema]
            self._resolved.add(schema)
        return verdict

    def take_resolved(self) -> set[str]:
        """Return the schemas that resolved since the last call."""
        resolved, self._resolved = self._resolved, set()
        return resolved


class PipelineWorker:
    """One thread that turns committed requests into events, entities and failures, and tells the store's listeners."""

    def __init__(self, store: Store, checker: IgluChecker, max_body_bytes: int):
        self.store, self.max_body_bytes = store, max_body_bytes
        self.checker = ResolutionTracker(checker, store.unverified_schemas())
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="micro-dashboard-pipeline", daemon=True)
        store.on_request(lambda _newest: self._wake.set())
        store.on_close(self.close)

    def start(self) -> PipelineWorker:
        """Start decoding (first whatever was acknowledged but not decoded before the last stop)."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Decode what is waiting, then stop."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def decode(self, request: StoredRequest) -> Outcome:
        """Run the pipeline on one stored request."""
        return ingest(request.raw_payload(), self.checker, max_body_bytes=self.max_body_bytes)

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                while self._work_once():
                    pass
                self._redecode_resolved()
            except sqlite3.Error:  # the database refused: the requests are durable, so try again shortly
                log.exception("the pipeline could not store what it decoded; retrying")
                self._wake.wait(timeout=RETRY_SECONDS)
                self._wake.set()
            except Exception:  # a bug must not stop the pipeline for good
                log.exception("the pipeline failed")
            if self._stopping and self.store.decoded_through >= self.store.acknowledged_through:
                return

    def _work_once(self) -> bool:
        """Decode the next batch of requests or, with none waiting, index the next batch of rows for free text
        (store/free_text.py) or delete the next rows retention wants gone; False when there was nothing to do (or
        only that, and the worker is stopping)."""
        if batch := self.store.undecoded(BATCH):
            stored = self._save([(request, self.decode(request)) for request in batch])
            if self.store.unindexed_rows() >= free_text.MAX_UNINDEXED:
                # Under load that never pauses, index more rows than were just stored, so the backlog shrinks
                # while new events keep becoming visible.
                for _ in range(stored // free_text.BATCH + 1):
                    self.store.index_free_text()
            return True
        return not self._stopping and (self.store.index_free_text() or self.store.prune())

    def _save(self, decoded: list[tuple[StoredRequest, Outcome]]) -> int:
        """Store what was decoded; return how many event rows that made."""
        try:
            return len(self.store.save_decoded(decoded))
        except sqlite3.OperationalError:
            raise
        except Exception:  # something decoded could not be stored (a bug): keep each request, with the reason
            log.exception("storing %d decoded requests failed; storing them one by one", len(decoded))
            for request, outcome in decoded:
                try:
                    self.store.save_decoded([(request, outcome)])
                except sqlite3.OperationalError:
                    raise
                except Exception as exc:
                    raw = request.raw_payload()
                    reason = f"micro-dashboard failed to store what it decoded from this request: {exc!r}"
                    self.store.save_decoded([(request, Outcome([], [failures.internal_error(raw, reason)]))])
            return len(decoded)

    def _redecode_resolved(self) -> None:
        """Decode again the stored requests with unverified entities whose schemas now resolve."""
        schemas, after = self.checker.take_resolved(), 0
        while schemas and (requests := self.store.unverified_requests(schemas, after=after)):
            for request in requests:
                self.store.redecode(request, mark_late(self.decode(request), schemas))
            after = requests[-1].id

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every acknowledged request is decoded; False if that did not happen within `timeout`."""
        return self.store.wait_decoded(self.store.acknowledged_through, timeout)


def mark_late(outcome: Outcome, schemas: set[str]) -> Outcome:
    """Say in each problem with these schemas that it was found after the event arrived."""
    for event in outcome.events:
        for failure in event.failures:
            for problem in failure.problems:
                if problem.schema in schemas:
                    problem.message += " (checked after its schema became available)"
    return outcome
