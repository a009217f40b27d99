"""Group commit: request threads hand their writes to one writer thread, which commits them in batches."""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
MAX_BATCH = 256  # writes per transaction at most, so one commit never keeps the first writer waiting long


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class Job:
    """One request's write, and the signal its thread waits on until the write is committed.

    The signal is a lock the writer releases: a thread waiting to acquire it sleeps as on an Event, but setting it
    wakes that one thread without an Event's condition variable (measured: Event.set was ~6% of the writer)."""

    write: Callable[[sqlite3.Connection], Any]
    result: Any = None
    error: BaseException | None = None
    done: threading.Lock = field(default_factory=_held_lock)


class GroupWriter:
    """Runs writes on one connection in one thread; under load, many requests share one commit."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock,
                 after_commit: Callable[[list[Job]], None], rolled_back: Callable[[], None] = lambda: None):
        """`after_commit` gets the jobs a commit stored; `rolled_back` is told of every rollback (of a job's
        savepoint or of the transaction), before the next job runs."""
        self.conn, self.lock, self.after_commit, self.rolled_back = conn, lock, after_commit, rolled_back
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="micro-dashboard-writer", daemon=True)
        self.thread.start()

    def submit(self, write: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `write(conn)` in the next transaction and return its result once that transaction commits."""
        job = Job(write)
        self.queue.put(job)
        job.done.acquire()
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        """Finish every queued write, then stop the thread."""
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Job]) -> None:
        """Write a batch in one transaction; a job that fails is rolled back alone, by its savepoint (a lone job,
        the usual case under light load, needs none: its failure rolls back the whole transaction)."""
        try:
            with self.lock:
                self.conn.execute("BEGIN IMMEDIATE")
                if len(batch) == 1:
                    self._run_alone(batch[0])
                else:
                    for job in batch:
                        self._run_in_savepoint(job)
                self.conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed (disk full...): no job in the batch was stored
            log.exception("commit of %d writes failed", len(batch))
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            self.rolled_back()
            for job in batch:
                job.error = job.error or exc
        committed = [job for job in batch if job.error is None]
        try:
            if committed:
                self.after_commit(committed)
        finally:
            for job in batch:
                job.done.release()

    def _run_in_savepoint(self, job: Job) -> None:
        self.conn.execute("SAVEPOINT job")
        try:
            job.result = job.write(self.conn)
            self.conn.execute("RELEASE job")
        except Exception as exc:
            self.conn.execute("ROLLBACK TO job")
            self.conn.execute("RELEASE job")
            self.rolled_back()
            job.error = exc

    def _run_alone(self, job: Job) -> None:
        try:
            job.result = job.write(self.conn)
        except Exception as exc:  # nothing else in this transaction: roll it all back (and commit nothing)
            job.error = exc
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                self.conn.execute("ROLLBACK")
            self.rolled_back()
            self.conn.execute("BEGIN IMMEDIATE")
