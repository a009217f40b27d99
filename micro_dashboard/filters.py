"""The filter language of the API and the search box, parsed into plain dataclasses (no SQL here)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .columns import FILTERABLE
from .errors import ClientError
from .operators import DEFAULT, OPERATORS, read_flag, split_operator

# Query parameters that steer an endpoint rather than filter events.
RESERVED = frozenset(["limit", "before", "since", "columns", "count", "timeout", "format", "total"])
TIME_COLUMNS = frozenset(["collector_tstamp"])
# The largest integer SQLite stores; a filter value beyond it is kept as a float.
INT64_MAX = 2**63 - 1
# Times beyond ±8.64e15 ms (JavaScript's Date range, years -271821 to 275760) are rejected.
MAX_TIME_MS = 8_640_000_000_000_000

Value = str | int | float | bool


class FilterError(ClientError):
    """A filter a user wrote that cannot be understood; the message names it."""


@dataclass(frozen=True)
class Column:
    """A promoted column of the events table."""

    name: str


@dataclass(frozen=True)
class EntityField:
    """A JSON path inside an entity (by schema name) or inside the self-describing event (`unstruct`)."""

    entity: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class Param:
    """A raw tracker parameter as received."""

    key: str


Target = Column | EntityField | Param


@dataclass(frozen=True)
class Condition:
    """Compare a target with a value using one operator (a name in operators.OPERATORS)."""

    target: Target
    op: str
    value: Any  # a typed value, a tuple of them for `in`, a bool for `isnull`


@dataclass(frozen=True)
class Has:
    """The event carries an entity (or self-describing event) with this schema name."""

    entity: str


@dataclass(frozen=True)
class Valid:
    """The event is valid (True) or invalid (False)."""

    value: bool


@dataclass(frozen=True)
class Unverified:
    """The event is valid as far as it was checked, but a schema of it could not be checked (no registry answered)."""


@dataclass(frozen=True)
class Text:
    """Free text somewhere in the raw payload or the decoded event."""

    text: str


@dataclass(frozen=True)
class AnyOf:
    """At least one of the clauses holds."""

    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Not:
    """The clause does not hold."""

    clause: Clause


Clause = Condition | Has | Valid | Unverified | Text | AnyOf | Not


@dataclass
class Filter:
    """Clauses that must all hold."""

    clauses: list[Clause] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.clauses)


class LargeInteger(float):
    """An integer written in a filter that SQLite's integers cannot hold: a float that prints as written.

    Compared as a number it is the float; compared as text (a text column, a JSON string) it is its digits."""

    text: str

    def __new__(cls, text: str) -> LargeInteger:
        value = super().__new__(cls, text)
        value.text = text
        return value

    def __str__(self) -> str:
        return self.text


def typed(text: str) -> Value:
    """Return a value as the number or boolean it spells, else as the string itself."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[0-9]+", text):
        number = int(text) if len(text) <= 20 else None
        if number is not None and -INT64_MAX - 1 <= number <= INT64_MAX:
            return number
        return LargeInteger(text)
    if re.fullmatch(r"-?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?", text):
        return float(text)
    return text


def parse_time(name: str, text: str) -> int:
    """Parse an ISO-8601 timestamp or epoch milliseconds into epoch milliseconds."""
    text = text.strip()
    if re.fullmatch(r"-?[0-9]+", text):
        if len(text) > 20 or abs(int(text)) > MAX_TIME_MS:
            raise FilterError(f"{name} is out of range: epoch milliseconds must be within ±{MAX_TIME_MS}",
                              {"filter": name, "value": text})
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return int(round(dt.timestamp() * 1000))
    except (ValueError, OverflowError):
        raise FilterError(f"{name} must be an ISO-8601 time or epoch milliseconds, not {text!r}",
                          {"filter": name, "value": text}) from None


def parse_bool(name: str, text: str) -> bool:
    """Parse `true` or `false` (also 1/0, yes/no)."""
    try:
        return read_flag(text)
    except ValueError as exc:
        raise FilterError(f"{name} {exc}", {"filter": name, "value": text}) from None


def parse_target(name: str) -> Target | None:
    """Return what a filter name (without operator) points at, or None if it names nothing."""
    if name in FILTERABLE:
        return Column(name)
    head, dot, rest = name.partition(".")
    if not dot or not head or not rest or "" in rest.split("."):
        return None
    if head == "param":
        return Param(rest)
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", head):
        return None
    return EntityField(head, tuple(rest.split(".")))


def condition(name: str, text: str, target: Target | None = None) -> Clause:
    """Build the clause for one `name=value` filter on a column, an entity field or a parameter (or `target`)."""
    base, op_name = split_operator(name)
    op = OPERATORS[op_name] if op_name else DEFAULT
    target = target or parse_target(base)
    if target is None:
        raise FilterError(f"unknown filter {name!r}", {"filter": name, "known": list(FILTERABLE) + [
            "valid", "from", "to", "has", "q", "search", "<entity>.<path>", "unstruct.<path>", "param.<key>"]})
    parts = target.path if isinstance(target, EntityField) else (target.key,) if isinstance(target, Param) else ()
    bad = next((p for p in parts if '"' in p or "\x00" in p), None)
    if bad is not None:
        raise FilterError(f"filter {name!r}: a field name cannot contain a double quote or a NUL character",
                          {"filter": name, "part": bad})
    is_time = isinstance(target, Column) and target.name in TIME_COLUMNS

    def value_of(item: str) -> Any:
        return parse_time(name, item) if is_time else typed(item)

    try:
        value = op.read(text, value_of)
    except FilterError:
        raise
    except ValueError as exc:
        raise FilterError(f"{name} {exc}", {"filter": name, "value": text}) from None
    if op.negates:
        return Not(Condition(target, op.negates, value))
    return Condition(target, op.name, value)


def parse_args(items: Iterable[tuple[str, str]]) -> Filter:
    """Parse query-string pairs (reserved names skipped) into a filter."""
    out = Filter()
    for name, text in items:
        if name in RESERVED:
            continue
        if name == "valid":
            out.clauses.append(Valid(parse_bool(name, text)))
        elif name == "from":
            out.clauses.append(Condition(Column("collector_tstamp"), "gte", parse_time(name, text)))
        elif name == "to":
            out.clauses.append(Condition(Column("collector_tstamp"), "lte", parse_time(name, text)))
        elif name == "has":
            if not text:
                raise FilterError("has needs an entity name, e.g. has=gitlab_standard", {"filter": name})
            out.clauses.append(Has(text))
        elif name == "q":
            if text:
                out.clauses.append(Text(text))
        elif name == "search":
            out.clauses.extend(parse_search(text).clauses)
        else:
            out.clauses.append(condition(name, text))
    return out


# Search keys in the words of GitLab and Snowplow developers, defined once: each reads as the fields it names (any
# of them, for more than one). `user_id` is Snowplow's user_id and GitLab's gitlab_standard user_id alike.
ALIASES: dict[str, tuple[str, ...]] = {
    "action": ("se_action",), "category": ("se_category",), "label": ("se_label",), "property": ("se_property",),
    "value": ("se_value",), "project_id": ("gitlab_standard.project_id",),
    "namespace_id": ("gitlab_standard.namespace_id",), "plan": ("gitlab_standard.plan",),
    "user_id": ("user_id", "gitlab_standard.user_id"),
}
# Summary columns a search may name though they are not promoted (read from the events table all the same).
SEARCHABLE_COLUMNS = ("se_value",)
IS_VALUES = ("valid", "invalid", "unverified")
# The search language, for people: each form with what it does (the UI's `?` help and GET /api/search-help).
SEARCH_SYNTAX: tuple[tuple[str, str], ...] = (
    ("app:shop", "app_id is shop"),
    ("event:click_button", "the event's name, structured action or event type is click_button"),
    ("schema:link_click", "the event's schema contains link_click"),
    ("is:valid  is:invalid  is:unverified", "validity (unverified: a schema could not be checked)"),
    ("has:gitlab_standard  has:com.gitlab/gitlab_standard", "carries this entity or self-describing event"),
    ("gitlab_standard.project_id:7", "a field inside an entity, by schema name and JSON path"),
    ("param.aid:shop", "a raw tracker parameter as received"),
    ("se_value__gt:3", "an operator after the key: " + ", ".join(OPERATORS)),
    ("key=value", "the same as key:value for a known key"),
    ("-app:shop", "a leading minus excludes what the term matches"),
    ('"free text"  words', "text anywhere in the raw request or the decoded event"),
)
KEY_VALUE = re.compile(r"([A-Za-z_][\w.\-]*)=(.*)")
_TOKEN = re.compile(r'\s*(-?)(?:"([^"]*)"|([^\s:"]+):(?:"([^"]*)"|(\S*))|(\S+))')


def parse_search(text: str) -> Filter:
    """Parse the search box: `app:x event:x schema:x is:valid|invalid|unverified has:e e.f:v -neg "phrase" words`."""
    out = Filter()
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise FilterError(f"cannot read the search at {text[pos:].strip()!r}", {"token": text[pos:].strip()})
        pos = match.end()
        negate, phrase, key, quoted, value, word = match.groups()
        token = match.group(0).strip()
        if (value or "").startswith('"') or (word or "").startswith('"'):
            raise FilterError(f"search token {token!r} opens a quote that is never closed", {"token": token})
        key_value = KEY_VALUE.fullmatch(word) if word is not None else None
        if key_value and is_search_key(split_operator(key_value.group(1))[0]):
            key, value, word = key_value.group(1), key_value.group(2), None  # `key=value` reads as `key:value`
        if phrase is not None or word is not None:
            text_value = phrase if phrase is not None else word
            clause: Clause | None = Text(text_value) if text_value else None
        else:
            clause = search_token(token, key, quoted if quoted is not None else value)
        if clause is not None:
            out.clauses.append(Not(clause) if negate else clause)
    return out


def search_token(token: str, key: str, value: str) -> Clause:
    """Turn one `key:value` search token into a clause."""
    if value == "":
        raise FilterError(f"search token {token!r} has no value", {"token": token})
    if key == "app":
        return Condition(Column("app_id"), "exact", value)
    if key == "event":
        return AnyOf(tuple(Condition(Column(c), "exact", value) for c in ("event_name", "se_action", "event")))
    if key == "schema":
        return Condition(Column("schema"), "contains", value)
    if key == "is":
        if value == "unverified":
            return Unverified()
        if value not in ("valid", "invalid"):
            hint = did_you_mean(value, IS_VALUES, "is:")
            raise FilterError(f"search token {token!r}: use is:valid or is:invalid, or is:unverified for events "
                              f"whose schemas could not be checked{hint}", {"token": token})
        return Valid(value == "valid")
    if key == "has":
        return Has(entity_name(value))
    if key in ("valid", "from", "to", "q"):
        return parse_args([(key, value)]).clauses[0]
    base, op_name = split_operator(key)
    suffix = f"__{op_name}" if op_name else ""
    try:
        if base in ALIASES:
            clauses = tuple(condition(name + suffix, value, Column(name) if name in SEARCHABLE_COLUMNS else None)
                            for name in ALIASES[base])
            return clauses[0] if len(clauses) == 1 else AnyOf(clauses)
        if base in SEARCHABLE_COLUMNS:
            return condition(key, value, Column(base))
        return condition(key, value)
    except FilterError as exc:
        hint = "" if is_search_key(base) else did_you_mean(base, search_keys(), "", ":")
        raise FilterError(f"cannot read search token {token!r}: {exc}{hint}", {"token": token, **exc.detail}) from None


def entity_name(text: str) -> str:
    """Return the schema name in `name`, `vendor/name` or an `iglu:vendor/name/format/version` URI."""
    parts = text.removeprefix("iglu:").split("/")
    return parts[1] if len(parts) >= 2 and parts[1] else parts[0]


def search_keys() -> tuple[str, ...]:
    """Return every key the search box reads directly (besides `<entity>.<path>` and `param.<key>`)."""
    return ("app", "event", "schema", "is", "has", "valid", "from", "to", "q", *ALIASES, *FILTERABLE,
            *SEARCHABLE_COLUMNS)


def is_search_key(key: str) -> bool:
    """Return whether the search reads `key` (without its operator) as a field rather than free text."""
    return key in search_keys() or parse_target(key) is not None


def did_you_mean(word: str, choices: Iterable[str], prefix: str = "", suffix: str = "") -> str:
    """Return ` (did you mean x?)` naming the closest choice, or nothing when none is close."""
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0]}{suffix}?)" if close else ""


def search_help() -> dict[str, Any]:
    """Return the search language for people and for autocomplete: its forms, keys, aliases and operators."""
    return {"syntax": [{"example": example, "means": means} for example, means in SEARCH_SYNTAX],
            "keys": list(search_keys()), "aliases": {k: list(v) for k, v in ALIASES.items()},
            "is": list(IS_VALUES), "operators": {name: op.description for name, op in OPERATORS.items()}}


def column_targets(names: list[str]) -> dict[str, Target]:
    """Return what each extra column a list shows points at (a canonical field, `param.k`, `entity.path`)."""
    from .pipeline.fields import FIELDS

    targets = {}
    for name in names:
        target = Column(name) if name in FIELDS else parse_target(name)
        if target is None:
            raise FilterError(f"unknown column {name!r}", {"column": name})
        targets[name] = target
    return targets


# What a search key's values are read from, for the keys that are not a field of their own name.
VALUE_SOURCES = {"app": ("app_id",), "event": ("se_action", "event_name"), "schema": ("schema",)}


def value_targets(key: str) -> list[Target]:
    """Return the fields whose values a search key compares (for autocomplete), or raise naming the key."""
    names = VALUE_SOURCES.get(key) or ALIASES.get(key) or (key,)
    targets = [Column(n) if n in SEARCHABLE_COLUMNS else parse_target(n) for n in names]
    if any(t is None for t in targets):
        raise FilterError(f"unknown search key {key!r}{did_you_mean(key, search_keys())}", {"key": key})
    return [t for t in targets if t is not None]
