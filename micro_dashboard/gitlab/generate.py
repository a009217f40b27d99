"""`micro-dashboard generate event|metric`: write definition files as GitLab's `scripts/internal_events/cli.rb` does
(its key order, defaults, file names and key paths), refusing what GitLab's CLI or schemas refuse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from .definitions import (
    BUILT_IN_PROPERTIES,
    IDENTIFIER_FIELDS,
    SUM_OPERATOR,
    UNIQUE_VALUES,
    Definitions,
    EventDefinition,
    load,
)

ACTION_PATTERN = re.compile(r"[a-z0-9_]+")
# The tier lists GitLab's CLI offers (a tier includes those above it).
TIER_CHOICES = (("free", "premium", "ultimate"), ("premium", "ultimate"), ("ultimate",))
# Key order of a generated file (GitLab's NEW_EVENT_FIELDS and NEW_METRIC_FIELDS).
EVENT_FIELDS = ("description", "internal_events", "status", "category", "action", "value_type", "extra_properties",
                "identifiers", "additional_properties", "product_group", "product_categories", "milestone",
                "introduced_by_url", "tiers", "classification")
METRIC_FIELDS = ("key_path", "description", "product_group", "product_categories", "performance_indicator_type",
                 "value_type", "status", "milestone", "introduced_by_url", "time_frame", "data_source", "data_category",
                 "tiers", "events")
FRAME_ORDER = ("28d", "7d", "all")  # the order GitLab's CLI lists time frames in
FRAME_WORDS = {"7d": "weekly", "28d": "monthly", "all": "total"}
MAX_FILE_NAME = 100
LINE_WIDTH = 150  # GitLab writes with to_yaml(line_width: 150)


class GenerateError(click.ClickException):
    """A definition GitLab's CLI would not write; the message says why."""


class _Dumper(yaml.SafeDumper):
    """YAML as Ruby's Psych writes it: sequences not indented under their key, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(data: dict[str, Any]) -> str:
    """Return a mapping as GitLab's generated files spell it (`---` first, keys in the given order)."""
    return yaml.dump(data, Dumper=_Dumper, explicit_start=True, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=LINE_WIDTH)


def check_tiers(tiers: list[str]) -> list[str]:
    """Return the tiers if GitLab's CLI offers that list, else refuse."""
    if tuple(tiers) not in TIER_CHOICES:
        raise GenerateError(f"tiers {','.join(tiers) or '(none)'} are not one of GitLab's choices: "
                            + " / ".join(",".join(c) for c in TIER_CHOICES))
    return tiers


@dataclass
class Generated:
    """A definition file to write: where (relative to the GitLab checkout) and what."""

    path: Path
    text: str


def event_file(existing: Definitions, action: str, description: str, product_group: str, milestone: str,
               tiers: list[str], identifiers: list[str], properties: dict[str, str], product_categories: list[str],
               introduced_by_url: str | None = None) -> Generated:
    """Return the event definition GitLab's CLI writes for these answers."""
    if not ACTION_PATTERN.fullmatch(action):
        raise GenerateError(f"action {action!r} must be lowercase letters, digits and underscores ([a-z0-9_]+)")
    if action in existing.events:
        raise GenerateError(f"event {action!r} is already defined in {existing.events[action].file}")
    check_tiers(tiers)
    unknown = [i for i in identifiers if i not in (*IDENTIFIER_FIELDS, "feature_enabled_by_namespace_ids")]
    if unknown:
        raise GenerateError(f"identifiers {', '.join(unknown)} are not project, namespace, user or "
                            "feature_enabled_by_namespace_ids")
    custom = [p for p in properties if p not in BUILT_IN_PROPERTIES]
    if custom and not ({"label", "property"} <= set(properties) or "value" in properties):
        raise GenerateError(f"custom properties ({', '.join(custom)}) need label and property, or value, first "
                            "(GitLab's event schema)")
    data: dict[str, Any] = {"description": description, "internal_events": True, "status": "active",
                            "action": action, "identifiers": identifiers or None,
                            "additional_properties": {k: {"description": v} for k, v in properties.items()} or None,
                            "product_group": product_group, "product_categories": product_categories or None,
                            "milestone": milestone, "introduced_by_url": introduced_by_url or "TODO", "tiers": tiers}
    ordered = {k: data[k] for k in EVENT_FIELDS if data.get(k) is not None}
    folder = Path("config") if "free" in tiers else Path("ee") / "config"
    return Generated(folder / "events" / f"{action}.yml", to_yaml(ordered))


def _identifier(unique: str | None) -> str | None:
    """Return GitLab's identifier of a `unique` value: user, project, namespace, or the property name."""
    return unique[:-3] if unique and unique.endswith(".id") else unique


def metric_file(existing: Definitions, actions: list[str], kind: str, unique: str | None, frames: list[str],
                description: str, filters: list[dict[str, Any]], name: str | None = None,
                product_group: str | None = None, product_categories: list[str] | None = None,
                milestone: str | None = None, tiers: list[str] | None = None,
                introduced_by_url: str | None = None) -> Generated:
    """Return the one metric file GitLab's CLI writes for these answers (kind: unique, total or sum)."""
    if not actions:
        raise GenerateError("name at least one event with --event")
    events: list[EventDefinition] = []
    for action in actions:
        if action not in existing.events:
            raise GenerateError(f"event {action!r} is not defined: generate it first "
                                f"(`micro-dashboard generate event --action {action}`)")
        events.append(existing.events[action])
    if kind == "unique":
        if unique not in UNIQUE_VALUES:
            raise GenerateError(f"--unique must be one of {', '.join(UNIQUE_VALUES)}")
        identifier = _identifier(unique)
        for event in events:
            has = identifier in event.identifiers if unique.endswith(".id") else identifier in \
                event.additional_properties
            if not has:
                where = "identifiers" if unique.endswith(".id") else "additional_properties"
                raise GenerateError(f"--unique {unique}: event {event.action!r} has no {identifier!r} in its {where}")
    frames = [f for f in FRAME_ORDER if f in set(frames)] or (["28d", "7d"] if kind == "unique" else list(FRAME_ORDER))
    if kind == "unique" and "all" in frames:
        raise GenerateError("a unique count cannot have time frame all: GitLab keeps distinct values for 28 days")
    if filters and not name:
        raise GenerateError("a filtered metric needs --name (the key path cannot describe its filters)")
    for flt in filters:
        for key in flt:
            if key not in events[0].additional_properties:
                raise GenerateError(f"filter {key!r}: event {events[0].action!r} does not declare it under "
                                    "additional_properties")
    single = frames[0] if len(frames) == 1 else None
    slug = {"unique": f"count_distinct_{(unique or '').replace('.', '_')}_from", "total": "count_total",
            "sum": "sum_value_from"}[kind]
    key = "_".join(p for p in (slug, name or "_and_".join(actions), single and single != "all" and FRAME_WORDS[single])
                   if p)
    if len(key) + len(".yml") > MAX_FILE_NAME and not name:
        raise GenerateError(f"the file name {key}.yml is over {MAX_FILE_NAME} characters: give a shorter --name")
    prefix = {"unique": "redis_hll_counters", "total": "counts", "sum": "sums"}[kind]
    key_path = f"{prefix}.{key}"
    if existing.metric(key_path) or any(m.key_path.startswith(key_path + "_") and m.key_path[len(key_path):] in
                                        ("_weekly", "_monthly") for m in existing.metrics):
        raise GenerateError(f"key path {key_path} is already defined")
    rules = []
    for index, action in enumerate(actions):
        rule: dict[str, Any] = {"name": action}
        if unique:
            rule["unique"] = unique
        if kind == "sum":
            rule["operator"] = SUM_OPERATOR
        flt = filters[index] if index < len(filters) else (filters[-1] if filters else {})
        if flt:
            rule["filter"] = flt
        rules.append(rule)
    data = {"key_path": key_path, "description": f"{description_prefix(kind, unique, single)} {description}".strip(),
            # Unasked, GitLab's CLI takes the group, categories, milestone and tiers of the (first) event.
            "product_group": product_group or events[0].product_group,
            "product_categories": product_categories or list(events[0].product_categories) or None,
            "performance_indicator_type": [], "value_type": "number", "status": "active",
            "milestone": milestone or events[0].milestone, "introduced_by_url": introduced_by_url or "TODO",
            "time_frame": single or frames, "data_source": "internal_events", "data_category": "optional",
            "tiers": check_tiers(tiers or list(events[0].tiers) or ["free", "premium", "ultimate"]), "events": rules}
    folder = Path("config") if "free" in data["tiers"] else Path("ee") / "config"
    ordered = {k: data[k] for k in METRIC_FIELDS if data.get(k) is not None}
    return Generated(folder / "metrics" / f"counts_{single or 'all'}" / f"{key}.yml", to_yaml(ordered))


def description_prefix(kind: str, unique: str | None, single: str | None) -> str:
    """Return what GitLab puts before a metric's description ("Count of unique users", "Weekly count of", ...)."""
    identifier = _identifier(unique)
    words = [FRAME_WORDS[single]] if single else []
    if kind == "sum":
        words.append("sum of")
    elif unique:
        words.append("count of unique")
        if identifier in IDENTIFIER_FIELDS:
            words.append(f"{identifier}s")
    else:
        words.append("count of")
    text = " ".join(words)
    return text[:1].upper() + text[1:].lower()


# -- the command line --------------------------------------------------------------------------------------------------

def _split(values: tuple[str, ...]) -> list[str]:
    """Return the words of repeatable options that may also hold comma- or space-separated lists."""
    return [w for v in values for w in re.split(r"[\s,]+", v) if w]


def _scalar(text: str) -> Any:
    """Read a filter value as YAML does (30 is a number, "30" and npm are strings)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else text


def _pairs(text: str, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{text!r} must look like key=value[,key=value]", param_hint=flag)
        out[key.strip()] = _scalar(value.strip())
    return out


def _write(root: Path, generated: Generated) -> None:
    target = root / generated.path
    if target.exists():
        raise GenerateError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(generated.text, encoding="utf-8")
    click.echo(f"wrote {target}")


def _existing(root: Path, definitions: tuple[str, ...]) -> Definitions:
    return load([root, *definitions])


DIR_OPTION = click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                          show_default=True, help="The GitLab checkout to write into (and whose definitions exist).")
DEFINITIONS_OPTION = click.option("--definitions", multiple=True, type=click.Path(file_okay=False),
                                  help="More definition folders whose events and key paths already exist.")
COMMON = [
    click.option("--description", required=True, help="What it counts or records (metrics get GitLab's prefix)."),
    click.option("--product-group", help="The owning product group (a metric defaults to its event's)."),
    click.option("--product-category", "product_categories", multiple=True, help="A product category; repeatable."),
    click.option("--milestone", help="The milestone it ships in, e.g. 17.9."),
    click.option("--tiers", help="free,premium,ultimate or premium,ultimate or ultimate."),
    click.option("--mr", "introduced_by_url", help="The merge request URL (introduced_by_url; default TODO)."),
    click.option("--stage", help="Accepted for GitLab's quick start; not written (the schema forbids it)."),
    click.option("--section", help="Accepted for GitLab's quick start; not written (the schema forbids it)."),
    DIR_OPTION, DEFINITIONS_OPTION,
]


def _common(f: Any) -> Any:
    for option in reversed(COMMON):
        f = option(f)
    return f


@click.group("generate")
def generate_group() -> None:
    """Write GitLab event and metric definitions as GitLab's internal events CLI does."""


@generate_group.command("event")
@click.option("--action", required=True, help="The event name ([a-z0-9_]+).")
@click.option("--identifiers", default="project,namespace,user", show_default=True,
              help="Comma list of project, namespace, user (empty for none).")
@click.option("--property", "properties", multiple=True,
              help="An additional property as NAME=DESCRIPTION (label, property, value, or a custom name); repeatable.")
@_common
def generate_event(action, identifiers, properties, description, product_group, product_categories, milestone, tiers,
                   introduced_by_url, stage, section, root, definitions) -> None:
    """Write config/events/<action>.yml (ee/config/... when the tiers lack free)."""
    declared = {}
    for text in properties:
        name, sep, about = text.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{text!r} must look like NAME=DESCRIPTION", param_hint="--property")
        declared[name.strip()] = about.strip()
    for flag, value in (("--product-group", product_group), ("--milestone", milestone)):
        if not value:
            raise GenerateError(f"{flag} is required for an event")
    generated = event_file(_existing(root, definitions), action, description, product_group, milestone,
                           _split((tiers or "free,premium,ultimate",)), _split((identifiers,)), declared,
                           list(product_categories), introduced_by_url)
    _write(root, generated)


@generate_group.command("metric")
@click.option("--event", "actions", multiple=True, required=True, help="An event the metric counts; repeatable.")
@click.option("--unique", help="Count distinct values of user.id, project.id, namespace.id, label, property or value.")
@click.option("--sum", "sum_value", is_flag=True, help="Sum the events' value instead of counting them.")
@click.option("--time-frames", "--time_frames", "time_frames", multiple=True,
              help="7d, 28d and/or all (space or comma separated; default 28d 7d, and all for totals).")
@click.option("--filter", "filters", multiple=True,
              help="key=value[,key=value] on the events' properties, one per --event in order; needs --name.")
@click.option("--name", help="The key path's middle part, instead of the event names.")
@_common
def generate_metric(actions, unique, sum_value, time_frames, filters, name, description, product_group,
                    product_categories, milestone, tiers, introduced_by_url, stage, section, root, definitions) -> None:
    """Write one metric file: counts_all/<key>.yml for several time frames, counts_7d or counts_28d for one."""
    if unique and sum_value:
        raise GenerateError("--unique and --sum cannot be combined")
    kind = "unique" if unique else "sum" if sum_value else "total"
    generated = metric_file(_existing(root, definitions), list(actions), kind, unique, _split(time_frames),
                            description, [_pairs(f, "--filter") for f in filters], name, product_group,
                            list(product_categories), milestone, _split((tiers,)) if tiers else None,
                            introduced_by_url)
    _write(root, generated)
