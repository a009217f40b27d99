"""Loading GitLab's event and metric definitions, checking them, and reloading them when a file changes.

A broken file becomes a `Problem` naming the file, the line and the reason; every other file still loads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Severity = Literal["error", "warning", "hint"]

# time_frame value -> key path suffix when a metric file lists several frames (GitLab's TimeFramedKeyPath).
FRAME_SUFFIX = {"7d": "_weekly", "28d": "_monthly", "all": ""}
TIME_FRAMES = tuple(FRAME_SUFFIX)
# What a rule's `unique` may name (the metric schema's enum).
UNIQUE_VALUES = ("user.id", "project.id", "namespace.id", "label", "property", "value")
SUM_OPERATOR = "sum(value)"
# Filter keys that are the structured event's own fields; any other key is a custom property (standard context `extra`).
BUILT_IN_PROPERTIES = ("label", "property", "value")
# Event identifiers and the standard-context field each is sent in.
IDENTIFIER_FIELDS = {"user": "user_id", "project": "project_id", "namespace": "namespace_id"}

# Required keys and their YAML types, as GitLab's copied schemas (config/events/schema.json and
# config/metrics/schema/base.json) state them; `None` accepts any type.
EVENT_REQUIRED: dict[str, tuple[type, ...] | None] = {
    "description": (str,), "action": (str,), "product_group": None, "introduced_by_url": (str,),
    "milestone": (str,), "tiers": (list,)}
METRIC_REQUIRED: dict[str, tuple[type, ...] | None] = {
    "key_path": (str,), "description": (str,), "value_type": (str,), "status": (str,), "product_group": None,
    "time_frame": (str, list), "data_source": (str,), "data_category": (str,), "milestone": (str,),
    "introduced_by_url": (str,), "tiers": (list,)}
EVENT_STATUSES = ("active", "removed")
METRIC_STATUSES = ("active", "removed", "broken")
DATA_SOURCES = ("database", "redis", "redis_hll", "prometheus", "system", "license", "internal_events")
DATA_CATEGORIES = ("operational", "optional", "subscription", "standard")
VALUE_TYPES = ("string", "number", "boolean", "object")
RULE_KEYS = ("name", "unique", "filter", "operator")


@dataclass(frozen=True)
class Problem:
    """Something wrong in a definition file: where (file, 1-based line) and why."""

    file: str
    line: int | None
    severity: Severity
    message: str

    def to_json(self) -> dict[str, Any]:
        """Return the problem as the API sends it."""
        return asdict(self)


@dataclass(frozen=True)
class EventDefinition:
    """One `config/events/<action>.yml`."""

    action: str
    file: str
    internal_events: bool
    identifiers: tuple[str, ...]
    additional_properties: tuple[str, ...]
    description: str | None
    product_group: Any = None
    product_categories: tuple[str, ...] = ()
    milestone: Any = None
    tiers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the definition as the API sends it."""
        return {"action": self.action, "file": self.file, "internal_events": self.internal_events,
                "identifiers": list(self.identifiers), "additional_properties": list(self.additional_properties),
                "description": self.description}


@dataclass(frozen=True)
class Rule:
    """One `events:` entry of a metric: which events count, and what is counted of them."""

    name: str
    unique: str | None = None
    filter: tuple[tuple[str, Any], ...] = ()
    operator: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the rule as the definition file spells it."""
        out: dict[str, Any] = {"name": self.name}
        if self.unique:
            out["unique"] = self.unique
        if self.filter:
            out["filter"] = dict(self.filter)
        if self.operator:
            out["operator"] = self.operator
        return out


@dataclass(frozen=True)
class Metric:
    """One metric key path: a metric file with a time_frame list gives one per frame."""

    key_path: str
    time_frame: str  # 7d, 28d or all
    rules: tuple[Rule, ...]
    file: str
    line: int | None
    description: str | None

    @property
    def unique(self) -> str | None:
        """Return what distinct values are counted of (None for a total or a sum)."""
        return next((r.unique for r in self.rules if r.unique), None)

    @property
    def kind(self) -> Literal["unique", "total", "sum"]:
        """Return how the metric counts: distinct values, events, or the sum of `value`."""
        if self.unique:
            return "unique"
        return "sum" if any(r.operator == SUM_OPERATOR for r in self.rules) else "total"

    @property
    def event_names(self) -> tuple[str, ...]:
        """Return the event names the rules count, each once, in order."""
        return tuple(dict.fromkeys(r.name for r in self.rules))

    def to_json(self) -> dict[str, Any]:
        """Return the metric as the API sends it."""
        return {"key_path": self.key_path, "time_frame": self.time_frame, "kind": self.kind, "unique": self.unique,
                "events": [r.to_json() for r in self.rules], "file": self.file, "line": self.line,
                "description": self.description}


@dataclass
class Definitions:
    """Every event and metric loaded from the definition folders, and the problems found on the way."""

    dirs: tuple[str, ...] = ()
    events: dict[str, EventDefinition] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def metric(self, key_path: str) -> Metric | None:
        """Return the metric with this key path, if one is defined."""
        return next((m for m in self.metrics if m.key_path == key_path), None)

    def metrics_of(self, action: str) -> list[Metric]:
        """Return the metrics that count events of this name."""
        return [m for m in self.metrics if action in m.event_names]

    @property
    def event_names(self) -> set[str]:
        """Return every event name a metric counts."""
        return {name for m in self.metrics for name in m.event_names}

    def to_json(self) -> dict[str, Any]:
        """Return everything loaded, as GET /api/definitions sends it."""
        return {"dirs": list(self.dirs), "events": [e.to_json() for e in self.events.values()],
                "metrics": [m.to_json() for m in self.metrics], "problems": [p.to_json() for p in self.problems]}


# -- finding and reading files ---------------------------------------------------------------------------------------

def definition_files(root: Path) -> tuple[list[Path], list[Path]]:
    """Return the event files and the metric files of one definitions folder (one level; `aggregates/` skipped)."""
    events: list[Path] = []
    metrics: list[Path] = []
    for base in (root, root / "ee"):
        events += sorted((base / "config" / "events").glob("*.yml"))
        metrics_dir = base / "config" / "metrics"
        if metrics_dir.is_dir():
            for folder in sorted(p for p in metrics_dir.iterdir() if p.is_dir() and p.name != "aggregates"):
                metrics += sorted(folder.glob("*.yml"))
    return events, metrics


def _read(path: Path, problems: list[Problem]) -> tuple[dict[str, Any], dict[str, int]] | None:
    """Parse a YAML file into its mapping and the 1-based line of each top-level key; report why not."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.append(Problem(str(path), mark.line + 1 if mark else None, "error",
                                f"not valid YAML: {exc.problem or exc.context}"))
        return None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(str(path), None, "error", f"cannot be read: {exc}"))
        return None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.append(Problem(str(path), 1, "error", "is not a YAML mapping (key: value lines)"))
        return None
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return data, lines


def _type_name(types: tuple[type, ...]) -> str:
    names = {str: "a string", list: "a list", dict: "a mapping", bool: "true or false", int: "a number"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_required(data: dict[str, Any], lines: dict[str, int], required: dict[str, tuple[type, ...] | None],
                    file: str, problems: list[Problem]) -> bool:
    """Report missing required keys and keys of the wrong type; return whether all were right."""
    ok = True
    for key, types in required.items():
        if key not in data:
            problems.append(Problem(file, 1, "error", f"required key {key!r} is missing"))
            ok = False
        elif types is not None and not isinstance(data[key], types):
            problems.append(Problem(file, lines.get(key), "error",
                                    f"{key!r} must be {_type_name(types)}, not {data[key]!r}"))
            ok = False
    return ok


def _check_enum(data: dict[str, Any], lines: dict[str, int], key: str, allowed: tuple[str, ...], file: str,
                problems: list[Problem]) -> None:
    if key in data and data[key] not in allowed:
        problems.append(Problem(file, lines.get(key), "error",
                                f"{key!r} is {data[key]!r}; it must be one of {', '.join(allowed)}"))


# -- events ----------------------------------------------------------------------------------------------------------

def product_groups(root: Path) -> frozenset[str] | None:
    """Return the product groups a GitLab checkout allows (its config/metrics/schema/product_groups.json), if any."""
    try:
        allowed = json.loads((root / "config" / "metrics" / "schema" / "product_groups.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    values = allowed.get("enum") if isinstance(allowed, dict) else None
    return frozenset(v for v in values if isinstance(v, str)) if isinstance(values, list) else None


def _check_product_group(data: dict[str, Any], lines: dict[str, int], file: str, groups: frozenset[str] | None,
                         problems: list[Problem]) -> None:
    """Warn about a product_group the checkout's product_groups.json does not list (GitLab's CI would refuse it)."""
    group = data.get("product_group")
    if groups is not None and isinstance(group, str) and group not in groups:
        problems.append(Problem(file, lines.get("product_group"), "warning",
                                f"product_group {group!r} is not in config/metrics/schema/product_groups.json"))


def load_event(path: Path, problems: list[Problem], groups: frozenset[str] | None = None) -> EventDefinition | None:
    """Read and check one event definition file."""
    read = _read(path, problems)
    if read is None:
        return None
    data, lines = read
    file = str(path)
    _check_required(data, lines, EVENT_REQUIRED, file, problems)
    _check_product_group(data, lines, file, groups, problems)
    action = data.get("action")
    if not isinstance(action, str) or not action:
        return None
    _check_enum(data, lines, "status", EVENT_STATUSES, file, problems)
    identifiers = data.get("identifiers") or []
    if not isinstance(identifiers, list):
        problems.append(Problem(file, lines.get("identifiers"), "error", "'identifiers' must be a list"))
        identifiers = []
    declared = data.get("additional_properties") or {}
    if not isinstance(declared, dict):
        problems.append(Problem(file, lines.get("additional_properties"), "error",
                                "'additional_properties' must be a mapping of property names to descriptions"))
        declared = {}
    custom = [k for k in declared if k not in BUILT_IN_PROPERTIES]
    if custom and not ({"label", "property"} <= set(declared) or "value" in declared):
        # The schema's rule (config/events/schema.json additional_properties.anyOf); GitLab's own files break it.
        problems.append(Problem(file, lines.get("additional_properties"), "warning",
                                f"custom properties ({', '.join(map(str, custom))}) need label and property, or "
                                "value, declared first (GitLab's event schema)"))
    return EventDefinition(action, file, data.get("internal_events") is True, tuple(str(i) for i in identifiers),
                           tuple(str(k) for k in declared), data.get("description"), data.get("product_group"),
                           _strings(data.get("product_categories")), data.get("milestone"), _strings(data.get("tiers")))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


# -- metrics ---------------------------------------------------------------------------------------------------------

def _filter_type_error(key: str, value: Any) -> str | None:
    """Return what a filter value must be, when it is not that (label/property strings, value a number)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in ("label", "property"):
        return None if isinstance(value, str) else "a string"
    if key == "value":
        return None if number else "a number"
    return None if number or isinstance(value, str) else "a string or a number"


def _rules(data: dict[str, Any], lines: dict[str, int], file: str, problems: list[Problem]) -> list[Rule] | None:
    """Check a metric's `events:` list and return its rules (None when it cannot be counted)."""
    line = lines.get("events")
    entries = data.get("events")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(file, line or 1, "error", "'events' must be a non-empty list of {name: ...} entries"))
        return None
    rules: list[Rule] = []
    for number, entry in enumerate(entries, 1):
        where = f"events entry {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(Problem(file, line, "error", f"{where} needs a 'name' (the event's action)"))
            return None
        unknown = [k for k in entry if k not in RULE_KEYS]
        if unknown:
            problems.append(Problem(file, line, "error", f"{where} has unknown key(s) {', '.join(map(str, unknown))}; "
                                                         f"allowed: {', '.join(RULE_KEYS)}"))
        unique, operator, flt = entry.get("unique"), entry.get("operator"), entry.get("filter") or {}
        if unique is not None and unique not in UNIQUE_VALUES:
            problems.append(Problem(file, line, "error", f"{where}: unique {unique!r} must be one of "
                                                         f"{', '.join(UNIQUE_VALUES)}"))
            return None
        if operator is not None and operator != SUM_OPERATOR:
            problems.append(Problem(file, line, "error", f"{where}: operator {operator!r} must be {SUM_OPERATOR!r}"))
            return None
        if not isinstance(flt, dict):
            problems.append(Problem(file, line, "error", f"{where}: 'filter' must be a mapping"))
            return None
        for key, value in flt.items():
            wrong = _filter_type_error(str(key), value)
            if wrong:
                problems.append(Problem(file, line, "error", f"{where}: filter {key} must be {wrong}, not {value!r}"))
                return None
        rules.append(Rule(entry["name"], unique, tuple((str(k), v) for k, v in flt.items()), operator))
    kinds = {"unique" if r.unique else "sum" if r.operator else "total" for r in rules}
    if len(kinds) > 1:
        problems.append(Problem(file, line, "error", "every events entry must count the same way: "
                                                     f"found {', '.join(sorted(kinds))} (unique and total mixed)"))
        return None
    if len({r.unique for r in rules}) > 1:
        problems.append(Problem(file, line, "error", "every events entry must use the same 'unique'"))
        return None
    return rules


def load_metric(path: Path, problems: list[Problem], groups: frozenset[str] | None = None) -> list[Metric]:
    """Read and check one metric file; return one metric per time frame (none when it cannot be counted)."""
    read = _read(path, problems)
    if read is None:
        return []
    data, lines = read
    file = str(path)
    _check_required(data, lines, METRIC_REQUIRED, file, problems)
    _check_product_group(data, lines, file, groups, problems)
    for key, allowed in (("status", METRIC_STATUSES), ("data_source", DATA_SOURCES),
                         ("data_category", DATA_CATEGORIES), ("value_type", VALUE_TYPES)):
        _check_enum(data, lines, key, allowed, file, problems)
    key_path = data.get("key_path")
    if not isinstance(key_path, str) or not key_path:
        return []
    if data.get("data_source") != "internal_events":
        return []  # counted by GitLab's database or Redis code, not from events
    frames = data.get("time_frame")
    frame_list = frames if isinstance(frames, list) else [frames]
    bad = [f for f in frame_list if f not in TIME_FRAMES]
    if bad or not frame_list:
        problems.append(Problem(file, lines.get("time_frame"), "error",
                                f"time_frame {frames!r} must be 7d, 28d, all, or a list of them"))
        return []
    rules = _rules(data, lines, file, problems)
    if rules is None:
        return []
    if rules[0].unique and "all" in frame_list:
        problems.append(Problem(file, lines.get("time_frame"), "error",
                                "a unique count cannot have time_frame all (GitLab keeps distinct values 28 days)"))
        frame_list = [f for f in frame_list if f != "all"]
    line = lines.get("key_path")
    if isinstance(frames, list):
        return [Metric(key_path + FRAME_SUFFIX[f], f, tuple(rules), file, line, data.get("description"))
                for f in frame_list]
    return [Metric(key_path, f, tuple(rules), file, line, data.get("description")) for f in frame_list]


def load(dirs: Iterable[str | Path]) -> Definitions:
    """Load every definition under these folders; what is wrong becomes a problem, the rest still loads."""
    found = Definitions(tuple(str(d) for d in dirs))
    metric_files: list[tuple[Path, frozenset[str] | None]] = []
    for root in map(Path, found.dirs):
        if not root.is_dir():
            found.problems.append(Problem(str(root), None, "error", "definitions folder not found"))
            continue
        event_files, more_metrics = definition_files(root)
        groups = product_groups(root)
        metric_files += [(path, groups) for path in more_metrics]
        for path in event_files:
            event = load_event(path, found.problems, groups)
            if event is None:
                continue
            if event.action in found.events:
                found.problems.append(Problem(event.file, None, "error", f"action {event.action!r} is also defined "
                                                                          f"in {found.events[event.action].file}"))
                continue
            if Path(event.file).stem != event.action:
                found.problems.append(Problem(event.file, None, "warning",
                                              f"file name should be {event.action}.yml (its action)"))
            found.events[event.action] = event
    seen: dict[str, Metric] = {}
    for path, groups in metric_files:
        metrics = load_metric(path, found.problems, groups)
        for name in dict.fromkeys(n for m in metrics[:1] for n in m.event_names):
            if name not in found.events:
                found.problems.append(Problem(str(path), metrics[0].line, "error",
                                              f"counts event {name!r}, which no event file defines"))
        for metric in metrics:
            if metric.key_path in seen:
                first = seen[metric.key_path]
                found.problems.append(Problem(metric.file, metric.line, "error",
                                              f"duplicate key path {metric.key_path}: also in {first.file} "
                                              f"(line {first.line})"))
                continue
            seen[metric.key_path] = metric
            found.metrics.append(metric)
    return found


# -- reloading -------------------------------------------------------------------------------------------------------

class DefinitionsSource:
    """The definitions of some folders, reloaded when a file is added, changed or removed (checked at most once
    every `interval` seconds, when asked)."""

    def __init__(self, dirs: Iterable[str | Path], interval: float = 1.0) -> None:
        self.dirs = tuple(str(d) for d in dirs)
        self.interval = interval
        self.version = 0  # goes up by one on every reload that found a change
        self._lock = threading.Lock()
        self._checked = 0.0
        self._signature: tuple = ()
        self._current = Definitions(self.dirs)
        self.get()

    def _files_signature(self) -> tuple:
        files: list[Path] = []
        for root in map(Path, self.dirs):
            events, metrics = definition_files(root)
            files += events + metrics
        signature = []
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            signature.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(signature)

    def get(self) -> Definitions:
        """Return the current definitions, reloading them first if a file changed since the last look."""
        with self._lock:
            now = time.monotonic()
            if self.version and now - self._checked < self.interval:
                return self._current
            self._checked = now
            signature = self._files_signature()
            if signature != self._signature or not self.version:
                self._signature = signature
                self._current = load(self.dirs)
                self.version += 1
            return self._current
