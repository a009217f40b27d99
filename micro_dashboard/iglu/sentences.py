"""Plain English sentences for schema problems: `link_click 1-0-1: required property "x" is missing`."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema.exceptions import ValidationError

from micro_dashboard.iglu.keys import SchemaKey

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_MAX_SHOWN = 60  # characters of a value quoted in a sentence
_MAX_ENUM = 8  # allowed values listed before "..."

_FORMAT_HINTS = {
    "date-time": "a date-time (RFC 3339, like 2026-01-31T12:00:00Z)",
    "date": "a date (like 2026-01-31)",
    "email": "an email address",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "uri": "an absolute URI (like https://example.com/page)",
    "uuid": "a UUID (like 6f3d5c2e-1f0a-4b8e-9c1d-2a3b4c5d6e7f)",
    "hostname": "a host name",
}


def label(key: SchemaKey) -> str:
    """Return how a sentence names a schema: `link_click 1-0-1`."""
    return f"{key.name} {key.version}"


def shown_path(parts: Any) -> str:
    """Turn a sequence of keys and indexes into a Snowplow-style JSON path: `$`, `$.a.b`, `$.items[0].x`."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            path += f".{part}"
        else:
            path += "[" + json.dumps(str(part)).replace('"', "'") + "]"
    return path


def type_name(value: Any) -> str:
    """Return the JSON type of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shown(value: Any) -> str:
    """Show a value briefly: strings quoted and cut, objects and arrays summarised."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 2] + '…"'


def typed(value: Any) -> str:
    """Show a value with its type: `string "abc"`, `integer 3`, `null`."""
    if value is None or isinstance(value, (dict, list, tuple)):
        return shown(value)
    return f"{type_name(value)} {shown(value)}"


def _subject(path: str) -> str:
    return "the data" if path == "$" else path


def _parent(path: str) -> str:
    return "" if path == "$" else f" in {path}"


def _listing(values: list[Any]) -> str:
    items = [shown(v) for v in values[:_MAX_ENUM]]
    if len(values) > _MAX_ENUM:
        items.append(f"… ({len(values) - _MAX_ENUM} more)")
    return ", ".join(items)


def _length(n: int, unit: str, units: str | None = None) -> str:
    return f"{n} {unit if n == 1 else (units or unit + 's')}"


def explain(error: ValidationError, path: str, target: str | None = None) -> str:
    """Say what is wrong in one clause, without the schema name: `$.environment is too long (...)`."""
    keyword, expected, value = error.validator, error.validator_value, error.instance
    subject = _subject(path)
    if keyword == "required" and target is not None:
        parent = path.rsplit(".", 1)[0] if "." in path else "$"
        return f'required property "{target}" is missing{_parent(parent)}'
    if keyword == "additionalProperties" and target is not None:
        parent = path.rsplit(".", 1)[0] if "." in path else "$"
        return f'"{target}" is not allowed{_parent(parent)} (additionalProperties: false)'
    if keyword == "type":
        allowed = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"{subject} must be {allowed}, got {typed(value)}"
    if keyword == "maxLength" and isinstance(value, str):
        return f"{subject} is too long ({_length(len(value), 'character')}, at most {expected})"
    if keyword == "minLength" and isinstance(value, str):
        if not value:
            return f"{subject} must not be empty (at least {_length(expected, 'character')})"
        return f"{subject} is too short ({_length(len(value), 'character')}, at least {expected})"
    if keyword == "enum":
        return f"{subject} must be one of {_listing(list(expected))}; got {shown(value)}"
    if keyword in ("minimum", "maximum"):
        exclusive = bool(error.schema.get("exclusiveMinimum" if keyword == "minimum" else "exclusiveMaximum"))
        words = {("minimum", False): "at least", ("minimum", True): "greater than",
                 ("maximum", False): "at most", ("maximum", True): "less than"}[(keyword, exclusive)]
        return f"{subject} must be {words} {shown(expected)}, got {shown(value)}"
    if keyword == "format":
        hint = _FORMAT_HINTS.get(expected, f"in the {expected} format")
        return f"{subject} must be {hint}, got {shown(value)}"
    if keyword == "pattern":
        return f"{subject} {shown(value)} does not match the pattern {expected}"
    if keyword in ("minItems", "maxItems") and isinstance(value, list):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{subject} has {_length(len(value), 'item')}, {bound} {expected} allowed"
    if keyword == "uniqueItems":
        return f"{subject} has duplicate items (uniqueItems: true)"
    if keyword == "multipleOf":
        return f"{subject} must be a multiple of {shown(expected)}, got {shown(value)}"
    if keyword in ("minProperties", "maxProperties") and isinstance(value, dict):
        bound = "at least" if keyword == "minProperties" else "at most"
        return f"{subject} has {_length(len(value), 'property', 'properties')}, {bound} {expected} allowed"
    if keyword in ("anyOf", "oneOf") and not (keyword == "oneOf" and _matches_several(error)):
        return f"{subject} matches none of the allowed shapes ({keyword}), got {typed(value)}"
    if keyword == "oneOf":
        return f"{subject} matches more than one of the allowed shapes (oneOf), got {typed(value)}"
    if keyword == "not":
        return f"{subject} must not match the schema under \"not\", got {typed(value)}"
    return f"{subject}: {error.message}"


def _matches_several(error: ValidationError) -> bool:
    """Return whether a oneOf failed because more than one branch matched (jsonschema then has no context)."""
    return not error.context


def sentence(key: SchemaKey, error: ValidationError, path: str, target: str | None = None) -> str:
    """Return the full sentence for one validation error: `<name> <version>: <what is wrong>`."""
    return f"{label(key)}: {explain(error, path, target)}"
