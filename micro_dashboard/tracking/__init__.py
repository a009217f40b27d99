"""Send GitLab-style internal events from Python (static/internal_events.js does it from the browser)."""

from micro_dashboard.tracking.client import (
    InternalEventAdditionalProperties,
    InternalEventsClient,
    get_default_client,
    set_default_client,
    track_event,
    validate_additional_properties,
    validate_event_name,
)
from micro_dashboard.tracking.context import (
    STANDARD_CONTEXT_SCHEMA,
    EventContext,
    current_event_context,
    event_context,
    get_event_context,
    reset_event_context,
    set_event_context,
)
from micro_dashboard.tracking.middleware import InternalEventsASGIMiddleware, InternalEventsMiddleware

__all__ = [
    "STANDARD_CONTEXT_SCHEMA",
    "EventContext",
    "InternalEventAdditionalProperties",
    "InternalEventsASGIMiddleware",
    "InternalEventsClient",
    "InternalEventsMiddleware",
    "current_event_context",
    "event_context",
    "get_default_client",
    "get_event_context",
    "reset_event_context",
    "set_default_client",
    "set_event_context",
    "track_event",
    "validate_additional_properties",
    "validate_event_name",
]
