"""Partial matching of received events: expectations, their API filters, and what differs when they fail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..columns import FILTERABLE
from ..filters import TIME_COLUMNS
from ..operators import DEFAULT, OPERATORS, flag, split_operator, value_list
from ..paths import MISSING, walk
from ..pipeline.fields import FIELDS

# Columns the query API filters on by the same value the event shows (a time column takes a time, not its text).
API_COLUMNS = frozenset(FILTERABLE) - TIME_COLUMNS
PARAM_KEYS = ("param", "params")
UNSTRUCT_KEYS = ("unstruct",)
SERVER_ONLY = ("q", "search", "from", "to")  # filters only the dashboard can evaluate


class ReceivedEvent:
    """One received event as the API details it: canonical fields, entities, failures and the raw request."""

    def __init__(self, detail: dict[str, Any]):
        self.detail = detail
        self.row: dict[str, Any] = detail.get("row") or {}
        self.fields: dict[str, Any] = detail.get("event") or {}
        self.entities: list[dict[str, Any]] = detail.get("entities") or []
        self.failures: list[dict[str, Any]] = detail.get("failures") or []
        self.request: dict[str, Any] = detail.get("request") or {}

    @property
    def id(self) -> int:
        """Return the row id (the cursor of the wait endpoint and the websocket)."""
        return self.row.get("id", 0)

    @property
    def event_id(self) -> str | None:
        """Return the event's UUID."""
        return self.row.get("event_id") or self.fields.get("event_id")

    @property
    def valid(self) -> bool:
        """Return whether the event passed every check."""
        return bool(self.row.get("valid"))

    @property
    def params(self) -> dict[str, str]:
        """Return the tracker parameters exactly as received (empty for a request nothing was decoded from)."""
        return self.detail.get("parameters") or {}

    @property
    def problems(self) -> list[str]:
        """Return every problem found with the event, one plain sentence each."""
        sentences = [p.get("message", "") for f in self.failures for p in f.get("problems") or []]
        sentences = sentences or [p.get("message", "") for p in self.row.get("problems") or []]
        return list(dict.fromkeys(s for s in sentences if s))

    def entity(self, name: str) -> Any:
        """Return the data of the first entity (or self-describing event) called `name`, or None."""
        found = self.entities_named(name)
        return found[0]["data"] if found else None

    def entities_named(self, name: str) -> list[dict[str, Any]]:
        """Return the entities whose schema name (or whole iglu URI) is `name`, the self-describing event first."""
        if name in UNSTRUCT_KEYS:
            return [e for e in self.entities if e.get("kind") == "unstruct"]
        return [e for e in self.entities if name in (schema_name(e.get("schema")), e.get("schema"))]

    def __getitem__(self, key: str) -> Any:
        """Return a canonical field."""
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Return a canonical field, or `default`."""
        return self.fields.get(key, default)

    def title(self) -> str:
        """Return what the event is in a few words: its name, or the structured event's category and action."""
        f = self.fields
        if f.get("event") == "struct":
            return f"struct {f.get('se_category') or '-'}/{f.get('se_action') or '-'}"
        return f.get("event_name") or f.get("event") or self.row.get("event") or "(unreadable request)"

    def __repr__(self) -> str:
        return f"<ReceivedEvent #{self.id} {self.title()} app_id={self.fields.get('app_id')!r} valid={self.valid}>"


def schema_name(schema: str | None) -> str | None:
    """Return the name part of an iglu URI."""
    parts = (schema or "").removeprefix("iglu:").split("/")
    return parts[1] if len(parts) == 4 else None


@dataclass
class Expectation:
    """One expected leaf: where to look, how to compare, and the API filter that pre-selects it (if any)."""

    label: str  # as shown to people: se_action, gitlab_standard.project_id, param.se_va, valid
    scope: str  # "field", "entity", "param" or "valid"
    name: str  # the field, entity name or parameter
    path: tuple[str, ...]  # inside the entity's data or a structured field
    op: str | None  # a name in operators.OPERATORS, "has", or None for equality written without a suffix
    expected: Any
    ids: set[int] | None = None  # for filters only the dashboard evaluates: the rows it said match

    def actual(self, event: ReceivedEvent, entity: dict[str, Any] | None = None) -> Any:
        """Return the value this expectation looks at (MISSING when absent), walking its path as the API does."""
        if self.scope == "valid":
            return event.valid
        if self.scope == "param":
            return event.params.get(self.name, MISSING)
        if self.scope == "entity":
            value = entity.get("data") if entity is not None else MISSING
        else:
            value = event.fields.get(self.name, event.row.get(self.name, MISSING))
        return walk(value, self.path)

    def test(self, actual: Any) -> bool:
        """Return whether an actual value satisfies the expectation."""
        return compare(self.op, self.expected, actual)

    def describe(self) -> str:
        """Return the expectation as it would be written in a call."""
        suffix = f"__{self.op}" if self.op else ""
        return f"{self.label}{suffix}={show(self.expected)}"


def expectations(match: dict[str, Any]) -> list[Expectation]:
    """Turn assert_event-style keyword arguments into expectations, rejecting keys that cannot match anything."""
    out: list[Expectation] = []
    for key, expected in _undot(match).items():
        base, op = split_operator(key)
        if base in SERVER_ONLY:
            out.append(Expectation(base, "server", base, (), None, expected))
        elif base == "has":
            names = [expected] if isinstance(expected, str) else list(expected)
            out.extend(Expectation(name, "entity", name, (), "has", True) for name in names)
        elif base == "valid":
            out.append(Expectation("valid", "valid", "valid", (), op, expected))
        elif base in PARAM_KEYS:
            if not isinstance(expected, dict):
                raise TypeError(f"{key}= takes a dict of raw tracker parameters, e.g. param={{'se_va': '12'}}")
            for name, value in expected.items():
                name, inner_op = split_operator(name)
                value = value if inner_op or callable(value) else str(value)
                out.append(Expectation(f"param.{name}", "param", name, (), inner_op, value))
        elif base in FIELDS or base == "schema":
            if isinstance(expected, dict) and op is None:
                out.extend(Expectation(f"{base}.{'.'.join(p)}", "field", base, p, o, v) for p, o, v in leaves(expected))
            else:
                out.append(Expectation(base, "field", base, (), op, expected))
        elif isinstance(expected, dict) and op is None:
            if not expected:
                out.append(Expectation(base, "entity", base, (), "has", True))
            out.extend(Expectation(f"{base}.{'.'.join(p)}", "entity", base, p, o, v) for p, o, v in leaves(expected))
        else:
            raise TypeError(
                f"{key}= is neither a canonical event field, `valid`, `param`, nor an entity: to match fields "
                f"inside an entity or the self-describing event, pass a dict, e.g. {base}={{'field': value}}")
    return out


def _undot(match: dict[str, Any]) -> dict[str, Any]:
    """Turn API-style dotted keys (`gitlab_standard.project_id`, `param.se_va`) into nested expectations."""
    out: dict[str, Any] = {}
    for key, value in match.items():
        head, dot, rest = key.partition(".")
        if not dot:
            out[key] = value
            continue
        nested = out.setdefault(head, {})
        if not isinstance(nested, dict):
            raise TypeError(f"{key}= and {head}= cannot both be given")
        *parents, last = rest.split(".")
        for part in parents:
            nested = nested.setdefault(part, {})
        nested[last] = value
    return out


def leaves(expected: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str | None, Any]]:
    """Yield (path, operator, value) for every leaf of a nested partial expectation."""
    for key, value in expected.items():
        name, op = split_operator(key)
        if isinstance(value, dict) and op is None and value:
            yield from leaves(value, (*prefix, name))
        else:
            yield (*prefix, name), op, value


def compare(op: str | None, expected: Any, actual: Any) -> bool:
    """Compare an actual value with an expected one under an operator (None is equality)."""
    if op == "has":
        return actual is not MISSING
    if callable(expected) and not isinstance(expected, type):
        return actual is not MISSING and bool(expected(actual))
    return (OPERATORS[op] if op else DEFAULT).test(actual, expected)


def show(value: Any) -> str:
    """Render a value for a failure message."""
    if value is MISSING:
        return "(missing)"
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__name__", "a predicate")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class Difference:
    """An expected leaf that the event does not satisfy."""

    expectation: Expectation
    actual: Any

    def __str__(self) -> str:
        c = self.expectation
        wanted = show(c.expected) if c.op is None else f"{c.op} {show(c.expected)}"
        if self.actual is NOT_SELECTED:
            return f"{c.label}: the dashboard's filter does not select this event"
        if c.scope == "entity" and self.actual is NO_ENTITY:
            return f"{c.label}: expected {wanted}, but the event has no {c.name} entity"
        return f"{c.label}: expected {wanted}, got {show(self.actual)}"


NO_ENTITY = object()
NOT_SELECTED = object()


def differences(event: ReceivedEvent, wanted: list[Expectation]) -> list[Difference]:
    """Return the expectations an event fails; entity expectations are judged on the best-matching entity of a name."""
    out: list[Difference] = []
    by_entity: dict[str, list[Expectation]] = {}
    for c in wanted:
        if c.scope == "entity":
            by_entity.setdefault(c.name, []).append(c)
        elif c.scope == "server":
            if c.ids is not None and event.id not in c.ids:
                out.append(Difference(c, NOT_SELECTED))
        else:
            actual = c.actual(event)
            if not c.test(actual):
                out.append(Difference(c, actual))
    for name, group in by_entity.items():
        candidates = event.entities_named(name)
        if not candidates:
            out.extend(Difference(c, NO_ENTITY) for c in group)
            continue
        best: list[Difference] | None = None
        for entity in candidates:
            failed = [Difference(c, c.actual(event, entity)) for c in group if not c.test(c.actual(event, entity))]
            if best is None or len(failed) < len(best):
                best = failed
        out.extend(best or [])
    return out


def matches(event: ReceivedEvent, wanted: list[Expectation]) -> bool:
    """Return whether an event satisfies every expectation."""
    return not differences(event, wanted)


def api_value(value: Any) -> str | None:
    """Render a value as a query-string filter value, or None when the API cannot express it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def api_filters(wanted: list[Expectation]) -> list[tuple[str, str]]:
    """Translate expectations into query API filters that select a superset of the matching events."""
    out: list[tuple[str, str]] = []
    for c in wanted:
        pair = _api_filter(c)
        if pair is not None and pair not in out:
            out.append(pair)
    return out


def _api_filter(c: Expectation) -> tuple[str, str] | None:
    """Return the one API filter for an expectation, or None when only the client can check it."""
    if c.scope == "server":
        return c.name, str(c.expected)
    if callable(c.expected) and not isinstance(c.expected, type):
        return None
    suffix = f"__{c.op}" if c.op else ""
    if c.scope == "valid":
        return ("valid", api_value(c.expected)) if c.op is None and isinstance(c.expected, bool) else None
    if c.scope == "entity" and c.op == "has":
        return "has", c.name
    if c.scope == "field" and (c.name not in API_COLUMNS or c.path):
        return None
    op = OPERATORS[c.op] if c.op else DEFAULT
    if op.negates and c.scope != "field":
        return None  # "no entity has x" is stricter than "some entity does not have x"
    key = {"field": c.name, "param": f"param.{c.name}"}.get(c.scope) or f"{c.name}.{'.'.join(c.path)}"
    if any("." in part or "__" in part for part in (c.name, *c.path)) and c.scope != "field":
        return None
    if op.read is flag:
        return key + suffix, api_value(bool(c.expected))
    if op.read is value_list:
        items = [api_value(v) for v in c.expected] if isinstance(c.expected, (list, tuple, set)) else [None]
        if any(v is None or "," in v for v in items):
            return None
        return key + suffix, ",".join(items)
    value = api_value(c.expected)
    return (key + suffix, value) if value is not None else None


def describe(match: dict[str, Any]) -> str:
    """Render keyword arguments the way they were written."""
    return ", ".join(f"{k}={show(v)}" for k, v in match.items()) or "(any event)"


def ranked(events: list[ReceivedEvent], wanted: list[Expectation]) -> list[tuple[ReceivedEvent, list[Difference]]]:
    """Order events by how many expected leaves they satisfy, best first, then newest first."""
    scored = [(e, differences(e, wanted)) for e in events]
    scored.sort(key=lambda pair: (len(pair[1]), -pair[0].id))
    return scored

