"""Iglu schema keys: parse and format `iglu:vendor/name/format/model-revision-addition`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from micro_dashboard.snowplow import IGLU_URI


class InvalidSchemaKey(ValueError):
    """An iglu URI that does not have the `iglu:vendor/name/format/M-R-A` shape."""


@dataclass(frozen=True)
class SchemaKey:
    """The four parts that name one Iglu schema."""

    vendor: str
    name: str
    format: str
    version: str  # "model-revision-addition", e.g. "1-0-1"

    @classmethod
    def parse(cls, uri: str) -> SchemaKey:
        """Parse an `iglu:` URI, raising InvalidSchemaKey with a readable message if it is malformed."""
        if not isinstance(uri, str):
            raise InvalidSchemaKey(f"schema must be an iglu: URI string, not {uri!r}")
        match = IGLU_URI.fullmatch(uri)
        if match is None:
            raise InvalidSchemaKey(_explain(uri))
        return cls(*match.groups())

    @property
    def uri(self) -> str:
        """Return the key as an `iglu:` URI."""
        return f"iglu:{self.vendor}/{self.name}/{self.format}/{self.version}"

    @property
    def path(self) -> str:
        """Return the key as a repository path below `schemas/`."""
        return f"{self.vendor}/{self.name}/{self.format}/{self.version}"

    @property
    def model(self) -> int:
        """Return the schema's model number (the first part of the version)."""
        return int(self.version.split("-")[0])

    def __str__(self) -> str:
        return self.uri


def _explain(uri: str) -> str:
    """Say what is wrong with a malformed iglu URI."""
    expected = "expected iglu:<vendor>/<name>/<format>/<model>-<revision>-<addition>, e.g. " \
        "iglu:com.acme/thing/jsonschema/1-0-0"
    if not uri.startswith("iglu:"):
        return f"schema {uri!r} does not start with 'iglu:'; {expected}"
    parts = uri[len("iglu:"):].split("/")
    if len(parts) != 4:
        return f"schema {uri!r} has {len(parts)} parts after 'iglu:' instead of 4; {expected}"
    if not re.fullmatch(r"[1-9][0-9]*(?:-(?:0|[1-9][0-9]*)){2}", parts[3]):
        return f"schema {uri!r} has version {parts[3]!r}, which is not model-revision-addition (like 1-0-0)"
    return f"schema {uri!r} has a character that is not allowed in a vendor, name or format; {expected}"
