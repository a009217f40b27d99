"""Snowplow's `dataReports`: each validation error as iglu-scala-client's ValidatorReport (message, path, keyword,
targets), the way its validator (networknt json-schema-validator 1.0.76) words, places and argues each keyword."""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from jsonschema.exceptions import ValidationError

from micro_dashboard.iglu.patterns import search
from micro_dashboard.iglu.sentences import type_name

Report = dict[str, Any]

# Formats networknt checks with a validator of their own, reported under their own keyword.
_OWN_KEYWORD_FORMATS = {"date-time": "dateTime", "date": "dateTime", "uuid": "uuid"}
# What a pattern format expects, as the report's second target (networknt puts its regular expression there).
_FORMAT_DESCRIPTIONS = {
    "ipv4": "a dotted-quad IPv4 address",
    "ipv6": "an IPv6 address",
    "uri": "an absolute URI with a scheme",
    "hostname": "a host name",
}


def snowplow_path(parts: Iterable[Any]) -> str:
    """Return the JSON path networknt reports: `$`, `$.a.b`, `$.items[0]` (names are never quoted)."""
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def java_number(value: Any) -> str:
    """Write a number as Java does (`5`, `0.01`, `100000.0`, `1.0E-5`): networknt's targets are Java strings."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    mantissa = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + int(exponent)
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def _as_text(value: Any) -> str:
    """Return Jackson's asText() of a JSON value: strings bare, containers empty."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return java_number(value)
    if isinstance(value, str):
        return value
    return ""


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _report(message: str, path: str, keyword: str, targets: list[str]) -> Report:
    return {"message": message, "path": path, "keyword": keyword, "targets": targets}


def data_reports(errors: Iterable[ValidationError]) -> list[Report]:
    """Return the dataReports of a list of jsonschema errors, without duplicates, in order."""
    reports: list[Report] = []
    for error in errors:
        for report in _reports(error):
            if report not in reports:
                reports.append(report)
    return reports


def _reports(error: ValidationError) -> Iterator[Report]:
    """Yield the reports networknt gives for the failure jsonschema describes as `error`."""
    at = snowplow_path(error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required":
        name = required_name(error)
        if name is not None:
            yield _report(f"{at}.{name}: is missing but it is required", at, "required", [name])
    elif keyword == "additionalProperties" and expected is False and isinstance(value, dict):
        for name in extra_properties(value, error.schema):
            yield _report(f"{at}.{name}: is not defined in the schema and the schema does not allow additional "
                          "properties", at, "additionalProperties", [name])
    elif keyword == "additionalItems" and isinstance(value, list):
        for index in range(len(error.schema.get("items") or []), len(value)):
            yield _report(f"{at}[{index}]: no validator found at this index", at, "items", [str(index)])
    elif keyword == "type" and isinstance(expected, list):
        wanted = "[" + ", ".join(str(t) for t in expected) + "]"
        yield _report(f"{at}: {type_name(value)} found, but {wanted} is required", at, "unionType",
                      [type_name(value), wanted])
    elif keyword == "type":
        yield _report(f"{at}: {type_name(value)} found, {expected} expected", at, "type",
                      [type_name(value), str(expected)])
    elif keyword == "format":
        yield _format_report(at, str(expected), value)
    elif keyword in ("anyOf", "oneOf"):
        yield from _alternatives_reports(error, at)
    else:
        yield _simple_report(error, at)


def required_name(error: ValidationError) -> str | None:
    """Return the property a `required` error is about (jsonschema raises one error per missing property)."""
    suffix = " is a required property"
    if error.message.endswith(suffix):
        try:
            name = ast.literal_eval(error.message[: -len(suffix)])
        except (ValueError, SyntaxError):
            name = None
        if isinstance(name, str):
            return name
    instance = error.instance if isinstance(error.instance, dict) else {}
    missing = [p for p in error.validator_value if p not in instance]
    return missing[0] if missing else None


def extra_properties(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Return the properties that neither `properties` nor `patternProperties` allows (matched with RE2)."""
    declared = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [k for k in instance if k not in declared and not any(search(p, k) for p in patterns)]


def _format_report(at: str, name: str, value: Any) -> Report:
    """Report a format failure: date-time and uuid under their own keyword, the others under `format`."""
    text = _as_text(value)
    if name in _OWN_KEYWORD_FORMATS:
        return _report(f"{at}: {text} is an invalid {name}", at, _OWN_KEYWORD_FORMATS[name], [text, name])
    if name == "email":  # networknt's email check fills the format message with the value and the format name
        return _report(f"{at}: does not match the {text} pattern {name}", at, "format", [text, name])
    description = _FORMAT_DESCRIPTIONS.get(name, name)
    return _report(f"{at}: does not match the {name} pattern {description}", at, "format", [name, description])


# networknt's message for each keyword with one bound, filled with the bound (its one target).
_BOUNDS = {
    "maxLength": "may only be {} characters long",
    "minLength": "must be at least {} characters long",
    "maximum": "must have a maximum value of {}",
    "minimum": "must have a minimum value of {}",
    "multipleOf": "must be multiple of {}",
    "maxItems": "there must be a maximum of {} items in the array",
    "minItems": "there must be a minimum of {} items in the array",
    "maxProperties": "may only have a maximum of {} properties",
    "minProperties": "should have a minimum of {} properties",
    "pattern": "does not match the regex pattern {}",
}


def _simple_report(error: ValidationError, at: str) -> Report:
    """Report a keyword whose networknt message has one fixed shape."""
    keyword, expected = str(error.validator), error.validator_value
    if keyword in _BOUNDS:
        target = expected
        if keyword in ("maximum", "minimum"):
            target = java_number(expected)
        elif keyword == "multipleOf":  # networknt keeps the divisor as a Java double
            target = java_number(float(expected))
        return _report(f"{at}: {_BOUNDS[keyword].format(target)}", at, keyword, [str(target)])
    if keyword == "enum":
        listed = "[" + ", ".join(_as_text(v) for v in expected) + "]"
        return _report(f"{at}: does not have a value in the enumeration {listed}", at, "enum", [listed])
    if keyword == "uniqueItems":
        return _report(f"{at}: the items in the array must be unique", at, "uniqueItems", [])
    if keyword == "dependencies":
        listed = [f"{k}=[{', '.join(v)}]" for k, v in expected.items() if isinstance(v, list)]
        deps = "{" + ", ".join(listed) + "}"
        return _report(f"{at}: has an error with dependencies {deps}", at, "dependencies", [deps])
    if keyword == "not":
        where = "#/" + "/".join(str(p) for p in error.absolute_schema_path)
        schema = f'"{where}" : {_compact(expected)}'
        return _report(f"{at}: should not be valid to the schema {schema}", at, "not", [schema])
    return _report(f"{at}: {error.message}", at, keyword, [])


def _alternatives_reports(error: ValidationError, at: str) -> Iterator[Report]:
    """Report anyOf and oneOf as networknt does: the failures inside the alternatives, not the alternatives."""
    keyword, alternatives = error.validator, error.validator_value
    if keyword == "oneOf" and not error.context:  # more than one alternative matched
        schemas = "".join(_compact(s) for s in alternatives)
        yield _report(f"{at}: should be valid to one and only one of schema, but more than one are valid: {schemas}",
                      at, "oneOf", [schemas])
        return
    by_alternative: dict[int, list[ValidationError]] = {}
    for child in error.context or []:
        by_alternative.setdefault(int(child.relative_schema_path[0]), []).append(child)
    children: list[Report] = []
    for index, child_errors in sorted(by_alternative.items()):
        wanted = alternatives[index].get("type") if isinstance(alternatives[index], dict) else None
        # anyOf skips an alternative of another (single) type, saying only which type it wanted.
        if keyword == "anyOf" and isinstance(wanted, str) and any(
                c.validator == "type" and not c.relative_path for c in child_errors):
            children.append(_report(f"{at}: should be valid to any of the schemas {wanted}", at, "anyOf", [wanted]))
            continue
        children.extend(data_reports(child_errors))
    if keyword == "oneOf":
        # networknt keeps the failures other than a missing property, and drops extra properties among several.
        not_required = [r for r in children if r["keyword"] != "required"]
        children = not_required or children
        if len(children) > 1:
            children = [r for r in children if r["keyword"] != "additionalProperties"] or children
    if not children:
        children = [_report(f"{at}: {error.message}", at, str(keyword), [])]
    yield from children
