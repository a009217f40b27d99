"""The GitLab standard context (gitlab_standard 1-1-8) and the context variable carrying it per request.

Modelled on GitLab's AI Gateway (`lib/internal_events/context.py`, `ai_gateway/api/middleware/internal_event.py`):
the same headers, the same defaults, and the same fields sent as null when unset."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

STANDARD_CONTEXT_SCHEMA = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8"

MAX_ID = 2147483647
INT_FIELDS = frozenset(
    {
        "project_id",
        "namespace_id",
        "organization_id",
        "ultimate_parent_namespace_id",
        "input_tokens",
        "output_tokens",
        "total_tokens",
    }
)

# The AI Gateway's source name and where it reads its environment (its settings prefix is AIGW_).
AI_GATEWAY_SOURCE = "ai-gateway-python"
ENVIRONMENT_VARIABLE = "AIGW_ENVIRONMENT"
# The fields the AI Gateway's EventContext sends, in its order, null when unset. It never sends user_id from the
# context (only a user_id passed to track_event); google_analytics_id and feature_category it never sends.
AI_GATEWAY_FIELDS = (
    "environment", "source", "realm", "instance_id", "unique_instance_id", "host_name", "instance_version",
    "global_user_id", "user_type", "context_generated_at", "extra", "is_gitlab_team_member",
    "feature_enabled_by_namespace_ids", "project_id", "namespace_id", "ultimate_parent_namespace_id", "plan",
    "correlation_id", "feature_enablement_type", "client_name", "client_version", "client_type", "interface",
    "input_tokens", "output_tokens", "total_tokens", "model_engine", "model_name", "model_provider",
    "deployment_type", "organization_id",
)
# What pydantic (the AI Gateway's EventContext) reads as a boolean from the team-member header.
TRUE_HEADER_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_HEADER_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})

# Header (lower case) -> standard-context field. Ids among them are parsed as integers.
HEADER_FIELDS: dict[str, str] = {
    "x-gitlab-realm": "realm",
    "x-gitlab-deployment-type": "deployment_type",
    "x-gitlab-instance-id": "instance_id",
    "x-gitlab-unique-instance-id": "unique_instance_id",
    "x-gitlab-host-name": "host_name",
    "x-gitlab-version": "instance_version",
    "x-gitlab-global-user-id": "global_user_id",
    "x-gitlab-project-id": "project_id",
    "x-gitlab-namespace-id": "namespace_id",
    "x-gitlab-feature-enabled-by-namespace-ids": "feature_enabled_by_namespace_ids",
    "x-gitlab-feature-enablement-type": "feature_enablement_type",
    "x-gitlab-client-type": "client_type",
    "x-gitlab-client-name": "client_name",
    "x-gitlab-client-version": "client_version",
    "x-gitlab-interface": "interface",
    "x-gitlab-user-id": "user_id",
    "x-gitlab-subject-type": "user_type",
    "x-gitlab-is-team-member": "is_gitlab_team_member",
    "x-gitlab-organization-id": "organization_id",
    "x-gitlab-root-namespace-id": "ultimate_parent_namespace_id",
}
# Read when X-Gitlab-Feature-Enabled-By-Namespace-Ids is empty (Duo Pro's older header).
LEGACY_NAMESPACE_IDS_HEADER = "x-gitlab-saas-duo-pro-namespace-ids"
# A JSON object of client facts the AI Gateway copies into `extra`; anything else in it is dropped.
TRACKING_CONTEXT_HEADER = "x-gitlab-tracking-context"
CORRELATION_HEADERS = ("x-request-id", "x-gitlab-correlation-id")
MAX_CORRELATION_ID = 64


@dataclass(frozen=True)
class EventContext:
    """The fields of iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8; None means "not sent"."""

    environment: str = field(default_factory=lambda: default_environment())
    source: str | None = AI_GATEWAY_SOURCE
    project_id: int | None = None
    namespace_id: int | None = None
    organization_id: int | None = None
    ultimate_parent_namespace_id: int | None = None
    user_id: str | int | None = None
    user_type: str | None = None
    is_gitlab_team_member: bool | None = None
    feature_enabled_by_namespace_ids: list[int] | None = None
    feature_enablement_type: str | None = None
    plan: str | None = None
    google_analytics_id: str | None = None
    context_generated_at: str | None = None
    realm: str | None = None
    deployment_type: str | None = None
    instance_id: str | None = None
    unique_instance_id: str | None = None
    host_name: str | None = None
    instance_version: str | None = None
    global_user_id: str | None = None
    correlation_id: str | None = None
    interface: str | None = None
    client_name: str | None = None
    client_version: str | None = None
    client_type: str | None = None
    feature_category: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    model_engine: str | None = None
    model_name: str | None = None
    model_provider: str | None = None
    extra: dict[str, Any] | None = field(default=None)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Return the names the schema allows (it has additionalProperties: false)."""
        return frozenset(f.name for f in fields(cls))

    def replace(self, **changes: Any) -> EventContext:
        """Return a copy with fields changed, rejecting names the schema does not allow."""
        check_field_names(changes, where="the standard context")
        return dataclasses.replace(self, **{k: normalize_field(k, v) for k, v in changes.items()})

    def to_dict(self) -> dict[str, Any]:
        """Return the context as the AI Gateway sends it: its fields (null when unset), then any other set field."""
        if not isinstance(self.environment, str) or not self.environment:
            raise ValueError(
                "environment is required by gitlab_standard: pass environment='development' "
                f"(or set {ENVIRONMENT_VARIABLE}, or configure it on the middleware)"
            )
        data: dict[str, Any] = {name: normalize_field(name, getattr(self, name)) for name in AI_GATEWAY_FIELDS}
        data["extra"] = data["extra"] or {}
        for f in fields(self):
            value = normalize_field(f.name, getattr(self, f.name))
            if f.name not in data and value is not None and f.name != "user_id":
                data[f.name] = value
        return data

    @classmethod
    def from_headers(
        cls,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        environment: str | None = None,
        source: str | None = AI_GATEWAY_SOURCE,
    ) -> EventContext:
        """Build the context of one request from its X-Gitlab-* headers, as the AI Gateway's middleware does."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        lowered = {name.lower(): value for name, value in items}
        values: dict[str, Any] = {}
        for header, name in HEADER_FIELDS.items():
            raw = lowered.get(header)
            if raw is None:
                continue
            raw = raw.strip()
            # GitLab sends the literal string "null" for an absent id.
            if raw == "" or raw.lower() == "null":
                continue
            if name == "ultimate_parent_namespace_id":
                values[name] = _parse_int(raw) or None  # the AI Gateway takes only a positive root namespace id
            elif name in INT_FIELDS:
                values[name] = _parse_int(raw)
            elif name == "is_gitlab_team_member":
                values[name] = _parse_bool(raw)
            elif name == "feature_enabled_by_namespace_ids":
                values[name] = _parse_ids(raw)
            else:
                values[name] = raw
        if not values.get("feature_enabled_by_namespace_ids") and lowered.get(LEGACY_NAMESPACE_IDS_HEADER):
            values["feature_enabled_by_namespace_ids"] = _parse_ids(lowered[LEGACY_NAMESPACE_IDS_HEADER])
        correlation_id = next((lowered[h] for h in CORRELATION_HEADERS if lowered.get(h)), None)
        return cls(
            environment=environment or default_environment(),
            source=source,
            extra=_parse_tracking_context(lowered.get(TRACKING_CONTEXT_HEADER)),
            # The AI Gateway's own form: local time without an offset (the schema asks only for a string).
            context_generated_at=datetime.now().isoformat(),
            correlation_id=(correlation_id or uuid.uuid4().hex)[:MAX_CORRELATION_ID],
            **{k: v for k, v in values.items() if v is not None},
        )


def default_environment() -> str:
    """Return the environment the AI Gateway would report: AIGW_ENVIRONMENT, else development."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or "development"


def _parse_bool(raw: str) -> bool | None:
    """Read a header flag as pydantic does, treating anything else as absent."""
    word = raw.strip().lower()
    return True if word in TRUE_HEADER_WORDS else False if word in FALSE_HEADER_WORDS else None


def _parse_ids(raw: str) -> list[int]:
    """Read a comma list of namespace ids, dropping what is not an id and repeats, as the AI Gateway does."""
    ids = [_parse_int(part) for part in raw.split(",") if part.strip()]
    return list(dict.fromkeys(i for i in ids if i is not None))


def _parse_tracking_context(raw: str | None) -> dict[str, Any]:
    """Return the tracking-context header's JSON object (empty when absent or not an object)."""
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return {str(k): v for k, v in parsed.items()} if isinstance(parsed, dict) else {}


def _parse_int(raw: str) -> int | None:
    """Parse a header id, treating anything that is not a non-negative integer as absent."""
    raw = raw.strip()
    return int(raw) if raw.isdigit() and int(raw) <= MAX_ID else None


def check_field_names(values: Mapping[str, Any], where: str) -> None:
    """Raise ValueError for a key gitlab_standard 1-1-8 would reject, saying what the AI Gateway would send."""
    unknown = sorted(set(values) - EventContext.field_names())
    if unknown:
        sent = ", ".join(f"{k!r}: {values[k]!r}" for k in unknown)
        raise ValueError(
            f"unknown field(s) {', '.join(map(repr, unknown))} for {where}: the AI Gateway's client would have "
            f"sent {{{sent}}} at the top level of gitlab_standard 1-1-8, which has additionalProperties: false, "
            "so the whole event would be invalid. Put custom data in additional_properties (it goes to the "
            "context's `extra`) or use one of: " + ", ".join(sorted(EventContext.field_names()))
        )


def normalize_field(name: str, value: Any) -> Any:
    """Return a field value in the JSON type the schema expects, or raise ValueError naming the field."""
    if value is None:
        return None
    if name in INT_FIELDS:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            raise ValueError(f"{name} must be an integer between 0 and {MAX_ID} or None, got {value!r}")
        return value
    if name == "feature_enabled_by_namespace_ids":
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        return [normalize_field("namespace_id", v) for v in value]
    if name == "is_gitlab_team_member":
        if not isinstance(value, bool):
            raise ValueError(f"is_gitlab_team_member must be True, False or None, got {value!r}")
        return value
    if name == "extra":
        if not isinstance(value, Mapping):
            raise ValueError(f"extra must be a dict of custom properties, got {type(value).__name__}")
        return dict(value)
    return value


current_event_context: ContextVar[EventContext | None] = ContextVar("current_event_context", default=None)


def get_event_context() -> EventContext:
    """Return the standard context of the current request, or a development default outside one."""
    return current_event_context.get() or EventContext()


def set_event_context(context: EventContext) -> Token[EventContext | None]:
    """Make context the current standard context; pass the token to reset_event_context."""
    return current_event_context.set(context)


def reset_event_context(token: Token[EventContext | None]) -> None:
    """Restore the standard context that was current before set_event_context."""
    current_event_context.reset(token)


@contextmanager
def event_context(context: EventContext | None = None, **fields_: Any) -> Iterator[EventContext]:
    """Use a standard context (the current one with fields changed) inside a with block."""
    base = context if context is not None else get_event_context()
    new = base.replace(**fields_) if fields_ else base
    token = current_event_context.set(new)
    try:
        yield new
    finally:
        current_event_context.reset(token)
