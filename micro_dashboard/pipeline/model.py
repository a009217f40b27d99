"""Plain data that flows through the pipeline: raw payloads in, events and failures out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .. import __version__

COLLECTOR_NAME = f"micro-dashboard-{__version__}"  # Snowplow names collectors and enrichers name-version


@dataclass
class RawPayload:
    """One HTTP request as the collector received it: everything a tracker sent, undecoded."""

    method: str
    path: str
    vendor: str | None
    version: str | None
    querystring: str
    body: bytes | None
    content_type: str | None
    headers: list[tuple[str, str]]
    ip: str
    useragent: str | None
    referer: str | None
    hostname: str
    network_userid: str | None
    timestamp: int  # receive time, milliseconds since the epoch
    body_size: int = 0  # the declared or read size, which may exceed len(body) for an oversized request
    collector: str = COLLECTOR_NAME


@dataclass
class Problem:
    """One thing wrong with an event, said so a person understands it."""

    path: str  # the tracker parameter ("eid"), or a JSON path inside a schema'd payload ("$.targetUrl")
    message: str  # one plain sentence
    schema: str | None = None  # the iglu URI of the entity or event the path points into
    keyword: str | None = None  # the JSON Schema keyword or atomic check that failed


@dataclass
class Failure:
    """A Snowplow bad row with the sentences a person reads instead of it."""

    type: str  # "schema_violations", "tracker_protocol_violations", ...
    bad_row: dict[str, Any]  # the whole self-describing bad row, as Snowplow would emit it
    problems: list[Problem] = field(default_factory=list)

    @property
    def schema(self) -> str:
        """Return the bad row's iglu URI."""
        return self.bad_row["schema"]


@dataclass
class Entity:
    """A self-describing JSON attached to an event: the event itself, a context, or a derived context."""

    kind: Literal["unstruct", "context", "derived"]
    position: int
    schema: str
    data: Any
    status: Literal["valid", "invalid", "unverified"] = "valid"
    note: str | None = None  # why it is unverified, or a summary of why it is invalid


@dataclass
class Event:
    """One canonical Snowplow event decoded from a raw payload, with what was wrong with it."""

    fields: dict[str, Any]  # canonical field name -> Python value (timestamps as epoch ms)
    parameters: dict[str, str]  # the tracker parameters exactly as received
    vendor: str
    version: str
    entities: list[Entity] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Return whether the event passed every check."""
        return not self.failures

    @property
    def unverified(self) -> bool:
        """Return whether some schema could not be checked because no registry answered."""
        return any(e.status == "unverified" for e in self.entities)


@dataclass
class Outcome:
    """What the pipeline made of one raw payload."""

    events: list[Event]
    failures: list[Failure]  # payload-level failures: nothing could be extracted from the request


@dataclass
class Verdict:
    """The result of checking one self-describing JSON against its schema."""

    status: Literal["valid", "invalid", "unverified"]
    # Snowplow's error object for the bad row message, e.g.
    # {"error": "ValidationError", "dataReports": [{"message", "path", "keyword", "targets"}]}
    # or {"error": "ResolutionError", "lookupHistory": [...]}; None when valid.
    error: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    note: str | None = None  # for unverified: which registry could not be reached


class SchemaChecker(Protocol):
    """Anything that can check a self-describing JSON's data against the schema its URI names."""

    def check(self, schema: str, data: Any) -> Verdict:
        """Return the verdict on `data` against the schema `schema` (an iglu: URI)."""
        ...


class AcceptAll:
    """A checker for when no Iglu resolver is configured: everything is taken as valid."""

    def check(self, schema: str, data: Any) -> Verdict:
        """Return a valid verdict without looking anything up."""
        return Verdict("valid")
