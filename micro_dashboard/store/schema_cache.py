"""The Iglu schema cache: schemas fetched over HTTP, kept in the database so they resolve again offline."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

from . import schema
from .rows import dumps


class SchemaCache:
    """Implements iglu's SchemaCache protocol on the `schemas` table, beside the event store, on its own connection."""

    def __init__(self, path: str):
        # Writes are rare (a schema's first fetch), so one connection behind a lock serves every thread.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()
        schema.migrate(self._conn)

    def get(self, uri: str) -> tuple[dict[str, Any], str] | None:
        """Return a cached schema and where it came from."""
        with self._lock:
            row = self._conn.execute("SELECT body, source FROM schemas WHERE uri = ?", (uri,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    def put(self, uri: str, body: dict[str, Any], source: str) -> None:
        """Keep a fetched schema so that it resolves again after a restart with no network."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO schemas (uri, body, source, fetched_at) VALUES (?, ?, ?, ?)",
                               (uri, dumps(body), source, int(time.time() * 1000)))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
