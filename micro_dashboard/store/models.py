"""What the store hands out: typed rows with their JSON already decoded, and the changes it tells listeners of."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..columns import SUMMARY, SUMMARY_PROMOTED
from ..pipeline import RawPayload
from .packing import unpack_bytes, unpack_headers, unpack_json, unpack_text

SUMMARY_COLUMNS = ", ".join(f"events.{name}" for name in SUMMARY)


def _loads(text: str | None, default: Any = None) -> Any:
    return json.loads(text) if text else default


@dataclass
class Summary:
    """The short form of a stored event row: what a list, a websocket client or a waiter needs."""

    id: int
    event_id: str | None
    valid: bool
    unverified: bool
    collector_tstamp: int
    schema: str | None
    app_id: str | None
    platform: str | None
    event: str | None
    event_name: str | None
    event_vendor: str | None
    name_tracker: str | None
    user_id: str | None
    se_category: str | None
    se_action: str | None
    se_label: str | None
    se_property: str | None
    se_value: float | None
    gitlab: dict[str, Any] | None
    problems: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Summary:
        """Build a summary from a row selected with SUMMARY_COLUMNS."""
        values = dict(zip(SUMMARY, tuple(row)[:len(SUMMARY)], strict=True))
        values["valid"], values["unverified"] = bool(values["valid"]), bool(values["unverified"])
        values["problems"] = _loads(values["problems"], [])
        values["gitlab"] = _loads(values["gitlab"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """Return the summary as the API and the websocket send it."""
        return asdict(self)


assert tuple(Summary.__dataclass_fields__) == SUMMARY and set(SUMMARY_PROMOTED) <= set(SUMMARY)


@dataclass
class StoredRequest:
    """One HTTP request exactly as the collector stored it."""

    id: int
    received_at: int
    method: str
    path: str
    vendor: str | None
    version: str | None
    querystring: str
    body: bytes | None
    body_size: int
    content_type: str | None
    headers: list[tuple[str, str]]
    ip: str
    useragent: str | None
    referer: str | None
    hostname: str
    network_userid: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredRequest:
        """Build a request from a `SELECT * FROM requests` row (unpacking what store/packing.py packed)."""
        values = dict(row)
        if isinstance(values["headers"], bytes):  # packed (the body was a BLOB before packing too)
            values["body"] = unpack_bytes(values["body"])
        values["headers"], values["useragent"], values["referer"] = unpack_headers(
            values["headers"], values["useragent"], values["referer"])
        values["querystring"] = unpack_text(values["querystring"]) or ""
        values["body_size"] = values["body_size"] or 0
        return cls(**values)

    def raw_payload(self) -> RawPayload:
        """Return the collector's view of this request, as the pipeline takes it."""
        return RawPayload(
            method=self.method, path=self.path, vendor=self.vendor, version=self.version,
            querystring=self.querystring, body=self.body, content_type=self.content_type, headers=self.headers,
            ip=self.ip, useragent=self.useragent, referer=self.referer, hostname=self.hostname,
            network_userid=self.network_userid, timestamp=self.received_at, body_size=self.body_size)


@dataclass
class StoredEntity:
    """A self-describing JSON of a stored event, with its verdict."""

    kind: str
    position: int
    schema: str
    name: str
    data: Any
    status: str
    note: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredEntity:
        """Build an entity from an entities row."""
        return cls(row["kind"], row["position"], row["schema"], row["name"], _loads(row["data"]), row["status"],
                   row["note"])


@dataclass
class StoredFailure:
    """A stored Snowplow bad row and the sentences that say what is wrong."""

    type: str
    bad_row: dict[str, Any]
    problems: list[dict[str, Any]]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredFailure:
        """Build a failure from a failures row."""
        return cls(row["type"], unpack_json(row["bad_row"], {}), _loads(row["problems"], []))


@dataclass
class StoredEvent:
    """One stored event row with everything decoded: fields, parameters, entities, failures and its request."""

    summary: Summary
    request_id: int
    fields: dict[str, Any] | None  # the compact JSON form; None for a request nothing was decoded from
    parameters: dict[str, str] | None
    contexts: list[str]
    request: StoredRequest | None = None
    entities: list[StoredEntity] = field(default_factory=list)
    failures: list[StoredFailure] = field(default_factory=list)

    @property
    def id(self) -> int:
        """Return the row id."""
        return self.summary.id

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredEvent:
        """Build an event (without request, entities and failures) from a row selected with EVENT_COLUMNS."""
        return cls(Summary.from_row(row), row["request_id"], unpack_json(row["event_json"]),
                   unpack_json(row["parameters"]), _loads(row["contexts"], []))


EVENT_COLUMNS = f"{SUMMARY_COLUMNS}, events.request_id, events.event_json, events.parameters, events.contexts"


@dataclass
class Change:
    """A committed change to the stored events, as listeners (the hub, the waiters) are told of it."""

    kind: Literal["insert", "update", "delete", "pruned"]
    summaries: list[Summary] = field(default_factory=list)  # insert, update: the rows as they now are
    counts: dict[str, int] | None = None  # Micro's totals afterwards, with how many good rows are unverified
    oldest_id: int = 0  # pruned: the oldest row left
    decoded_through: int = 0  # insert: the last request the pipeline has now decoded
