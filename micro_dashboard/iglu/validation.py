"""Check self-describing JSON against Iglu schemas: jsonschema draft 4, with Snowplow's error shapes."""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError

from micro_dashboard.iglu.keys import InvalidSchemaKey, SchemaKey
from micro_dashboard.iglu.reports import data_reports, extra_properties, required_name
from micro_dashboard.iglu.resolver import Resolution, Resolver
from micro_dashboard.iglu.sentences import json_path, label, sentence
from micro_dashboard.pipeline.model import Problem, Verdict
from micro_dashboard.snowplow import UUID

log = logging.getLogger(__name__)

# The formats Snowplow's validator checks, written out so nothing depends on optional jsonschema extras.
FORMATS = FormatChecker(formats=())
_DATE_TIME = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(UUID.fullmatch(value))


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@FORMATS.checks("ipv4")
def _is_ipv4(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


@FORMATS.checks("ipv6")
def _is_ipv6(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
    except ValueError:
        return False


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if any(c.isspace() for c in value) or any(c in value for c in '<>"{}|\\^`'):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    # Draft 4's "uri" is an absolute URI: a scheme is required.
    return bool(parts.scheme) and bool(_SCHEME.match(parts.scheme))


def _multiple_of(validator: Any, divisor: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """Check multipleOf in decimal, as Snowplow's validator does: 19.99 is a multiple of 0.01 (in binary it is not)."""
    if not validator.is_type(instance, "number") or isinstance(divisor, bool) or not divisor:
        return
    try:
        remainder = Decimal(str(instance)) % Decimal(str(divisor))
    except (InvalidOperation, ValueError):
        return
    if remainder != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


# Draft 4 with Snowplow's decimal multipleOf.
IgluValidator = validators.extend(Draft4Validator, {"multipleOf": _multiple_of})


class IgluChecker:
    """A SchemaChecker that resolves each schema through a Resolver and validates with draft 4 semantics."""

    def __init__(self, resolver: Resolver, strict: bool = False) -> None:
        self.resolver = resolver
        self.strict = strict  # unreachable registries make data invalid rather than unverified
        self._validators: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def check(self, schema: str, data: Any) -> Verdict:
        """Return the verdict on `data` against the schema `schema` (an iglu: URI)."""
        try:
            key = SchemaKey.parse(schema)
        except InvalidSchemaKey as exc:
            problem = Problem(path="$", message=str(exc), schema=str(schema), keyword="INVALID_IGLUURI")
            return Verdict("invalid", {"error": "INVALID_IGLUURI", "message": str(exc)}, [problem], str(exc))
        resolution = self.resolver.lookup(key)
        if resolution.status == "not_found":
            return self._not_found(key, resolution)
        if resolution.status == "unreachable":
            return self._unreachable(key, resolution)
        assert resolution.schema is not None
        validator = self.validator(key.uri, resolution.schema)
        if isinstance(validator, SchemaError):
            return self._bad_schema(key, validator)
        try:
            return self._validate(key, validator, data)
        except Exception:  # a bug or a pathological schema must not lose the event; it is kept, unverified
            log.exception("validating data against %s failed", key.uri)
            return Verdict("unverified", note=f"{label(key)}: the data could not be validated (internal error)")

    def validator(self, uri: str, schema: dict[str, Any]) -> Any:
        """Return the compiled validator for a schema (or why the schema is unusable), compiling it once."""
        with self._lock:
            known = self._validators.get(uri)
        if known is not None and known[0] == id(schema):
            return known[1]
        compiled: Any
        try:
            Draft4Validator.check_schema(schema)
            compiled = IgluValidator(schema, format_checker=FORMATS)
        except SchemaError as exc:
            compiled = exc
        with self._lock:
            self._validators[uri] = (id(schema), compiled)
        return compiled

    def _validate(self, key: SchemaKey, validator: Any, data: Any) -> Verdict:
        problems: list[Problem] = []
        errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            for path, target in _locations(error):
                problems.append(Problem(path=path, message=sentence(key, error, path, target),
                                        schema=key.uri, keyword=str(error.validator)))
        if not problems:
            return Verdict("valid")
        return Verdict("invalid", {"error": "ValidationError", "dataReports": data_reports(errors)}, problems,
                       _summary(problems))

    def _not_found(self, key: SchemaKey, resolution: Resolution) -> Verdict:
        asked = ", ".join(f"{h['repository']}: {_said(h)}" for h in resolution.history)
        message = f"schema {key.uri} was not found in any registry " + \
            (f"(asked: {asked})" if asked else "(no registries are configured)")
        problem = Problem(path="$", message=message, schema=key.uri, keyword="ResolutionError")
        error = {"error": "ResolutionError", "lookupHistory": resolution.history}
        return Verdict("invalid", error, [problem], message)

    def _unreachable(self, key: SchemaKey, resolution: Resolution) -> Verdict:
        note = resolution.where()
        if not self.strict:
            return Verdict("unverified", note=note)
        message = f"schema {key.uri} could not be checked (strict mode): {note}"
        problem = Problem(path="$", message=message, schema=key.uri, keyword="ResolutionError")
        error = {"error": "ResolutionError", "lookupHistory": resolution.history}
        return Verdict("invalid", error, [problem], message)

    def _bad_schema(self, key: SchemaKey, exc: SchemaError) -> Verdict:
        path = json_path(exc.absolute_path)
        message = f"{label(key)}: the schema itself is invalid at {path}: {exc.message}"
        problem = Problem(path="$", message=message, schema=key.uri, keyword="InvalidSchema")
        error = {"error": "ValidationError", "schemaIssues": [{"path": path, "message": exc.message}]}
        return Verdict("invalid", error, [problem], message)


def _locations(error: ValidationError) -> list[tuple[str, str | None]]:
    """Return (path, target) pairs for an error: one per missing or unexpected property, else its own path."""
    base = list(error.absolute_path)
    if error.validator == "required":
        missing = required_name(error)
        if missing is not None:
            return [(json_path([*base, missing]), missing)]
    if error.validator == "additionalProperties" and error.validator_value is False \
            and isinstance(error.instance, dict):
        extras = extra_properties(error.instance, error.schema)
        if extras:
            return [(json_path([*base, name]), name) for name in extras]
    return [(json_path(base), None)]


def _said(entry: dict[str, Any]) -> str:
    """Say what one lookupHistory entry's registry answered."""
    errors = entry["errors"]
    words = [e.get("message", e["error"]) if e["error"] != "NotFound" else "not found" for e in errors]
    return "; ".join(words)


def _summary(problems: list[Problem]) -> str:
    """Summarise an invalid verdict for an entity's note."""
    first = problems[0].message
    return first if len(problems) == 1 else f"{first} (and {len(problems) - 1} more)"
