"""Checks of one stored event against the definitions: is it defined, are its properties declared, will the
metrics that count it move."""

from __future__ import annotations

from typing import Any

from ..store import StoredEvent
from .definitions import BUILT_IN_PROPERTIES, IDENTIFIER_FIELDS, Definitions, Severity

GITLAB_STANDARD = "gitlab_standard"
# A unique rule -> the event value it counts: standard-context fields, or the structured event's own fields.
UNIQUE_SOURCES = {"user.id": ("context", "user_id"), "project.id": ("context", "project_id"),
                  "namespace.id": ("context", "namespace_id"), "label": ("event", "se_label"),
                  "property": ("event", "se_property"), "value": ("event", "se_value")}


def check(severity: Severity, code: str, message: str, **detail: Any) -> dict[str, Any]:
    """Return one check as the API sends it."""
    return {"severity": severity, "code": code, "message": message, **detail}


def standard_context(event: StoredEvent) -> dict[str, Any] | None:
    """Return the data of the event's first gitlab_standard context, if it has one."""
    found = next((e.data for e in event.entities if e.kind == "context" and e.name == GITLAB_STANDARD), None)
    return found if isinstance(found, dict) else None


def event_checks(event: StoredEvent, definitions: Definitions) -> list[dict[str, Any]]:
    """Return what is wrong with a stored structured event as a GitLab internal event (nothing for other events)."""
    fields = event.fields or {}
    action = fields.get("se_action")
    if fields.get("event") != "struct" or not action:
        return []
    checks: list[dict[str, Any]] = []
    definition = definitions.events.get(action)
    if definition is None or not definition.internal_events:
        why = "no event file defines it" if definition is None else f"{definition.file} lacks internal_events: true"
        checks.append(check("error", "undefined_event",
                            f"event {action!r} is not defined with internal_events: true ({why}); "
                            f"`micro-dashboard generate event --action {action}` writes one", action=action))
    context = standard_context(event) or {}
    extra = context.get("extra") if isinstance(context.get("extra"), dict) else {}
    declared = set(definition.additional_properties) if definition else set()
    if definition is not None:
        for name, field in zip(BUILT_IN_PROPERTIES, ("se_label", "se_property", "se_value"), strict=True):
            if fields.get(field) is not None and name not in declared:
                checks.append(check("warning", "undeclared_property",
                                    f"{name} {fields[field]!r} is sent but {definition.file} does not declare it "
                                    "under additional_properties", property=name))
        for name in extra:
            if name not in declared:
                checks.append(check("error", "undeclared_property",
                                    f"custom property {name!r} is not declared under additional_properties in "
                                    f"{definition.file}", property=name))
    for name, value in extra.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            checks.append(check("error", "custom_value_type",
                                f"custom property {name!r} is {value!r}: GitLab accepts only strings and numbers",
                                property=name))
    for metric in definitions.metrics_of(action):
        if not metric.unique:
            continue
        source, field = UNIQUE_SOURCES[metric.unique]
        value = context.get(field) if source == "context" else fields.get(field)
        if value is None:
            checks.append(check("warning", "unique_missing",
                                f"{metric.key_path} counts distinct {metric.unique}, which this event lacks: "
                                "that metric will not move", key_path=metric.key_path, unique=metric.unique))
    if definition is not None:
        for identifier in definition.identifiers:
            field = IDENTIFIER_FIELDS.get(identifier)
            if field and context.get(field) is None:
                checks.append(check("hint", "identifier_missing",
                                    f"{definition.file} declares identifier {identifier!r}, but the standard "
                                    f"context has no {field}", identifier=identifier))
    return checks
