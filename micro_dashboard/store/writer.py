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


@dataclass
class Job:
    """One request's write, and the signal its thread waits on until the write is committed."""

    write: Callable[[sqlite3.Connection], Any]
    result: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class GroupWriter:
    """Runs writes on one connection in one thread; under load, many requests share one commit."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock,
                 after_commit: Callable[[list[Job]], None]):
        self.conn, self.lock, self.after_commit = conn, lock, after_commit
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="micro-dashboard-writer", daemon=True)
        self.thread.start()

    def submit(self, write: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `write(conn)` in the next transaction and return its result once that transaction commits."""
        job = Job(write)
        self.queue.put(job)
        job.done.wait()
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
        """Write a batch in one transaction; a job that fails is rolled back alone, by its savepoint."""
        try:
            with self.lock:
                self.conn.execute("BEGIN IMMEDIATE")
                for job in batch:
                    self.conn.execute("SAVEPOINT job")
                    try:
                        job.result = job.write(self.conn)
                        self.conn.execute("RELEASE job")
                    except Exception as exc:
                        self.conn.execute("ROLLBACK TO job")
                        self.conn.execute("RELEASE job")
                        job.error = exc
                self.conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed (disk full...): no job in the batch was stored
            log.exception("commit of %d writes failed", len(batch))
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            for job in batch:
                job.error = job.error or exc
        committed = [job for job in batch if job.error is None]
        try:
            if committed:
                self.after_commit(committed)
        finally:
            for job in batch:
                job.done.set()
