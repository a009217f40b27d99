"""The SQLite tables: requests as received, events with promoted columns, entities, failures, cached schemas."""

from __future__ import annotations

import sqlite_utils

from ..columns import PROMOTED


def create(db: sqlite_utils.Database) -> None:
    """Create the tables and indexes that do not exist yet."""
    db["requests"].create(
        {"id": int, "received_at": int, "method": str, "path": str, "vendor": str, "version": str,
         "querystring": str, "body": bytes, "body_size": int, "content_type": str, "headers": str, "ip": str,
         "useragent": str, "referer": str, "hostname": str, "network_userid": str},
        pk="id", if_not_exists=True,
    )
    # AUTOINCREMENT keeps row ids growing after deletes, so an id is a cursor that never points backwards.
    db.execute(
        """CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
            event_id TEXT, valid INTEGER NOT NULL, unverified INTEGER NOT NULL DEFAULT 0,
            collector_tstamp INTEGER NOT NULL, schema TEXT,
            app_id TEXT, platform TEXT, event TEXT, event_name TEXT, event_vendor TEXT, name_tracker TEXT,
            user_id TEXT, domain_userid TEXT, network_userid TEXT, se_category TEXT, se_action TEXT, se_label TEXT,
            event_json TEXT, parameters TEXT, contexts TEXT, problems TEXT
        )"""
    )
    db["entities"].create(
        {"id": int, "event_row": int, "kind": str, "position": int, "schema": str, "vendor": str, "name": str,
         "format": str, "version": str, "data": str, "status": str, "note": str},
        pk="id", foreign_keys=[("event_row", "events", "id")], if_not_exists=True,
    )
    db["failures"].create(
        {"id": int, "request_id": int, "event_row": int, "type": str, "bad_row": str, "problems": str},
        pk="id", foreign_keys=[("event_row", "events", "id"), ("request_id", "requests", "id")],
        if_not_exists=True,
    )
    db["schemas"].create({"uri": str, "body": str, "source": str, "fetched_at": int}, pk="uri", if_not_exists=True)
    for column in (*PROMOTED, "event_id", "schema", "collector_tstamp", "valid", "request_id"):
        db["events"].create_index([column], if_not_exists=True)
    db["entities"].create_index(["event_row"], if_not_exists=True)
    db["entities"].create_index(["name", "vendor"], if_not_exists=True)
    db["failures"].create_index(["event_row"], if_not_exists=True)
    db["failures"].create_index(["request_id"], if_not_exists=True)
