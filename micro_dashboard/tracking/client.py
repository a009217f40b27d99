"""A GitLab-style internal events client built on snowplow-tracker, sending what the AI Gateway's
`InternalEventsClient` (`lib/internal_events/client.py`) sends: gitlab_standard 1-1-8 and ai_context 1-0-1."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from snowplow_tracker import AsyncEmitter, SelfDescribingJson, StructuredEvent, Tracker

from micro_dashboard.tracking.context import (
    STANDARD_CONTEXT_SCHEMA,
    check_field_names,
    get_event_context,
    normalize_field,
)

logger = logging.getLogger(__name__)

AI_CONTEXT_SCHEMA = "iglu:com.gitlab/ai_context/jsonschema/1-0-1"
EVENT_NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")
# A `value` given as a string must read as a number in Snowplow's se_va (the tracker sends it unchanged).
NUMERIC_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
# ai_context fields the AI Gateway reads from custom properties of the same name (flow_type is workflow_type).
AI_CONTEXT_EXTRA_FIELDS = ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "cache_read", "cache_creation")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "total_tokens")
# Snowplow's limit for se_property; GitLab cuts longer values to 997 characters plus "...".
MAX_PROPERTY_LENGTH = 1000
DEFAULT_ENV_PREFIX = "AIGW_INTERNAL_EVENT__"
DEFAULT_ENDPOINT = "http://127.0.0.1:9091"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class InternalEventAdditionalProperties:
    """Label, property, value and any custom properties of one internal event."""

    __slots__ = ("label", "property", "value", "extra")

    def __init__(
        self,
        label: str | None = None,
        property: str | None = None,  # GitLab's name for se_property
        value: int | float | str | None = None,  # a numeric string is sent as it is, like the AI Gateway
        **extra: Any,
    ) -> None:
        self.label = label
        self.property = property
        self.value = value
        self.extra: dict[str, Any] = extra

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InternalEventAdditionalProperties:
        """Split a plain dict into label/property/value and custom properties."""
        if not isinstance(data, Mapping):
            raise ValueError(
                f"additional_properties must be a dict or InternalEventAdditionalProperties, got {type(data).__name__}"
            )
        known = {k: data[k] for k in ("label", "property", "value") if k in data}
        custom = {k: v for k, v in data.items() if k not in known}
        return cls(**known, **custom)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InternalEventAdditionalProperties):
            return NotImplemented
        return (self.label, self.property, self.value, self.extra) == (
            other.label,
            other.property,
            other.value,
            other.extra,
        )

    def __repr__(self) -> str:
        return (
            f"InternalEventAdditionalProperties(label={self.label!r}, property={self.property!r}, "
            f"value={self.value!r}, extra={self.extra!r})"
        )


def validate_event_name(event_name: object) -> str:
    """Return event_name if GitLab would accept it, else raise ValueError saying how to fix it."""
    if not isinstance(event_name, str) or not EVENT_NAME_PATTERN.match(event_name):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", str(event_name).lower()).strip("_") or "my_event"
        raise ValueError(
            f"event_name {event_name!r} is invalid: use only lowercase letters, digits and underscores "
            f"(^[a-z0-9_]+$), e.g. {suggestion!r}"
        )
    return event_name


def validate_additional_properties(
    additional_properties: InternalEventAdditionalProperties | Mapping[str, Any] | None,
) -> InternalEventAdditionalProperties:
    """Check label/property/value types like GitLab, cutting a long property; return a normalized copy."""
    if additional_properties is None:
        return InternalEventAdditionalProperties()
    if isinstance(additional_properties, InternalEventAdditionalProperties):
        props = InternalEventAdditionalProperties(
            additional_properties.label,
            additional_properties.property,
            additional_properties.value,
            **additional_properties.extra,
        )
    else:
        props = InternalEventAdditionalProperties.from_dict(additional_properties)
    for name in ("label", "property"):
        given = getattr(props, name)
        if given is not None and not isinstance(given, str):
            raise ValueError(
                f"additional property {name!r} must be a string, got {type(given).__name__} {given!r}: "
                f"pass {name}=str(...) or send it as a custom property"
            )
    value = props.value
    numeric_text = isinstance(value, str) and NUMERIC_TEXT.fullmatch(value) is not None
    if value is not None and not numeric_text and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(
            f"additional property 'value' must be a number or a numeric string, got {type(props.value).__name__} "
            f"{props.value!r}: the AI Gateway's client would have sent se_va={props.value!r}, which Snowplow "
            "rejects as not a number; pass value=int(...) or send it as a custom property"
        )
    if props.property is not None and len(props.property) > MAX_PROPERTY_LENGTH:
        props.property = props.property[: MAX_PROPERTY_LENGTH - 3] + "..."
    for key, custom in props.extra.items():
        try:
            json.dumps(custom)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"custom additional property {key!r} is not JSON-serializable ({exc}): "
                "pass strings, numbers, booleans, lists or dicts"
            ) from None
    return props


def build_standard_context(extra: Mapping[str, Any] | None = None, **context_overrides: Any) -> dict[str, Any]:
    """Return gitlab_standard data as the AI Gateway builds it: the current context without its user_id (null for
    unset fields), then the overrides (a user_id among them is sent), custom properties merged into `extra`."""
    check_field_names(context_overrides, where="track_event(**context_overrides)")
    context = get_event_context()
    if context_overrides:
        context = context.replace(**context_overrides)
    data = context.to_dict()
    for name in context_overrides:
        data[name] = normalize_field(name, getattr(context, name))
    # The AI Gateway always sends `extra`, empty or not, so readers can rely on it.
    data["extra"] = {**(context.extra or {}), **(extra or {})}
    return data


def build_ai_context(value: Any, standard: Mapping[str, Any]) -> dict[str, Any]:
    """Return ai_context 1-0-1 data as the AI Gateway builds it: the session id from `value`, token counts from
    the standard context, workflow, flow type, agent and cache counts from its `extra` (null when absent)."""
    custom = standard.get("extra") or {}
    return {
        "session_id": str(value) if value is not None else None,
        "workflow_id": custom.get("workflow_id"),
        "flow_type": custom.get("workflow_type"),
        "agent_name": custom.get("agent_name"),
        **{name: standard.get(name) for name in TOKEN_FIELDS},
        **{name: custom.get(name) for name in AI_CONTEXT_EXTRA_FIELDS},
    }


def _env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return number


class InternalEventsClient:
    """Send GitLab internal events (structured events with the gitlab_standard context) to a collector."""

    def __init__(
        self,
        enabled: bool,
        endpoint: str,
        app_id: str = "gitlab_ai_gateway",
        namespace: str = "gl",
        batch_size: int = 1,
        thread_count: int = 1,
    ) -> None:
        self.enabled = enabled
        self.endpoint = endpoint
        self.app_id = app_id
        self.namespace = namespace
        self.batch_size = batch_size
        self.thread_count = thread_count
        self._closed = False
        self._emitter: AsyncEmitter | None = None
        self._tracker: Tracker | None = None
        if not enabled:
            return
        if not endpoint:
            raise ValueError(
                f"endpoint is required when the client is enabled: pass endpoint={DEFAULT_ENDPOINT!r} "
                f"or set {DEFAULT_ENV_PREFIX}ENDPOINT"
            )
        if batch_size < 1 or thread_count < 1:
            raise ValueError(f"batch_size and thread_count must be >= 1, got {batch_size} and {thread_count}")
        self._emitter = _ClosableEmitter(endpoint=endpoint, batch_size=batch_size, thread_count=thread_count)
        self._tracker = Tracker(namespace=namespace, emitters=[self._emitter], app_id=app_id)
        # A batch that has not filled yet would otherwise vanish when the process ends.
        atexit.register(self.close)

    @classmethod
    def from_env(
        cls, prefix: str = DEFAULT_ENV_PREFIX, environ: Mapping[str, str] | None = None
    ) -> InternalEventsClient:
        """Build a client from <prefix>ENABLED, ENDPOINT, APP_ID, NAMESPACE, BATCH_SIZE and THREAD_COUNT."""
        env = os.environ if environ is None else environ
        return cls(
            enabled=_env_bool(env, prefix + "ENABLED", False),
            endpoint=env.get(prefix + "ENDPOINT") or DEFAULT_ENDPOINT,
            app_id=env.get(prefix + "APP_ID") or "gitlab_ai_gateway",
            namespace=env.get(prefix + "NAMESPACE") or "gl",
            batch_size=_env_int(env, prefix + "BATCH_SIZE", 1),
            thread_count=_env_int(env, prefix + "THREAD_COUNT", 1),
        )

    def track_event(
        self,
        event_name: str,
        additional_properties: InternalEventAdditionalProperties | Mapping[str, Any] | None = None,
        category: str = "default_category",
        **context_overrides: Any,
    ) -> str | None:
        """Send one internal event and return its event id (None when disabled)."""
        if not self.enabled or self._tracker is None:
            return None
        if self._closed:
            logger.warning("InternalEventsClient is closed; dropping event %r", event_name)
            return None
        validate_event_name(event_name)
        if not isinstance(category, str) or not category:
            raise ValueError(f"category must be a non-empty string (the calling class or module), got {category!r}")
        props = validate_additional_properties(additional_properties)
        standard = build_standard_context(extra=props.extra, **context_overrides)
        event = StructuredEvent(
            category=category,
            action=event_name,
            label=props.label,
            property_=props.property,
            value=props.value,
            context=[SelfDescribingJson(STANDARD_CONTEXT_SCHEMA, standard),
                     SelfDescribingJson(AI_CONTEXT_SCHEMA, build_ai_context(props.value, standard))],
        )
        return self._tracker.track(event)

    def flush(self, timeout: float = 10.0) -> bool:
        """Send everything buffered and wait; return False if some was still undelivered at timeout."""
        emitter = self._emitter
        if emitter is None:
            return True
        deadline = time.monotonic() + timeout
        while True:
            emitter.flush()
            if not _wait_for_queue(emitter, deadline):
                break
            if emitter.event_store.size() == 0:
                return True
            # Events came back for a retry (collector down or busy); pause instead of spinning.
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        # Not a count: events waiting for a retry are held by the emitter's retry path, not its buffer.
        logger.warning("InternalEventsClient could not deliver every event to %s within %.1fs", self.endpoint, timeout)
        return False

    def close(self, timeout: float = 10.0) -> bool:
        """Deliver what is buffered and stop accepting events."""
        if self._closed:
            return True
        delivered = self.flush(timeout)
        self._closed = True
        atexit.unregister(self.close)
        if self._emitter is not None:
            self._emitter.stop()
        return delivered

    def __enter__(self) -> InternalEventsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"InternalEventsClient(enabled={self.enabled!r}, endpoint={self.endpoint!r}, "
            f"app_id={self.app_id!r}, namespace={self.namespace!r}, batch_size={self.batch_size}, "
            f"thread_count={self.thread_count})"
        )


class _ClosableEmitter(AsyncEmitter):
    """snowplow-tracker's AsyncEmitter, whose worker threads and retry timer can be stopped."""

    _STOP = object()

    def __init__(self, *args: Any, thread_count: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, thread_count=thread_count, **kwargs)
        self._thread_count = thread_count

    def consume(self) -> None:
        """Send queued batches until told to stop (the parent's loop never ends)."""
        while True:
            batch = self.queue.get()
            try:
                if batch is self._STOP:
                    return
                self.send_events(batch)
            finally:
                self.queue.task_done()

    def stop(self) -> None:
        """End the worker threads once what is queued has been sent, and cancel pending retries."""
        self.retry_timer.cancel()
        self.cancel_flush_timer()
        for _ in range(self._thread_count):
            self.queue.put(self._STOP)


def _wait_for_queue(emitter: AsyncEmitter, deadline: float) -> bool:
    """Wait until the emitter's worker threads finished every queued request; False on timeout."""
    queue = emitter.queue
    with queue.all_tasks_done:
        while queue.unfinished_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            queue.all_tasks_done.wait(remaining)
    return True


_default_client: InternalEventsClient | None = None
_default_lock = threading.Lock()


def get_default_client() -> InternalEventsClient:
    """Return the process-wide client, creating it from AIGW_INTERNAL_EVENT__* on first use."""
    global _default_client
    with _default_lock:
        if _default_client is None:
            _default_client = InternalEventsClient.from_env()
        return _default_client


def set_default_client(client: InternalEventsClient | None) -> None:
    """Replace the process-wide client (None: build it again from the environment on next use)."""
    global _default_client
    with _default_lock:
        _default_client = client


def track_event(
    event_name: str,
    additional_properties: InternalEventAdditionalProperties | Mapping[str, Any] | None = None,
    category: str = "default_category",
    **context_overrides: Any,
) -> str | None:
    """Send an internal event through the default client (configured by AIGW_INTERNAL_EVENT__*)."""
    return get_default_client().track_event(event_name, additional_properties, category, **context_overrides)
