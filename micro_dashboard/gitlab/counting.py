"""Counting metrics as GitLab does: per ISO week (Monday start, UTC) of the event time, over two windows.

For a 7d or 28d metric, the **moving** reading covers the ISO weeks from the week of now-7d (now-28d) through
the current week, as GitLab's `monitor.rb` and RSpec matchers count (it moves the moment an event fires); the
**production** reading covers the last complete ISO week (the last four), as Service Ping reports. An `all`
metric counts every stored event in both readings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..store import Change, Store, gitlab_reads
from .definitions import Definitions, Metric

FRAME_DAYS = {"7d": 7, "28d": 28}


def utc_now() -> datetime:
    """Return the current time in UTC (what `now` defaults to)."""
    return datetime.now(timezone.utc)


def week_start(moment: datetime) -> date:
    """Return the Monday starting the ISO week (UTC) of a moment."""
    day = moment.astimezone(timezone.utc).date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Window:
    """The ISO weeks a reading counts: Mondays from `first` through `last` (None: no bound)."""

    first: date | None
    last: date | None

    def covers(self, week: date) -> bool:
        """Say whether a week's events count in this window."""
        return (self.first is None or week >= self.first) and (self.last is None or week <= self.last)

    def to_json(self) -> dict[str, Any]:
        """Return the window as the API sends it: its first and last week's Mondays."""
        return {"first_week": self.first and self.first.isoformat(), "last_week": self.last and self.last.isoformat()}


def windows(time_frame: str, now: datetime) -> dict[str, Window]:
    """Return the moving and the production window of a time frame at `now`."""
    if time_frame not in FRAME_DAYS:
        return {"moving": Window(None, None), "production": Window(None, None)}
    days = FRAME_DAYS[time_frame]
    current = week_start(now)
    return {"moving": Window(week_start(now - timedelta(days=days)), current),
            "production": Window(current - timedelta(days=days), current - timedelta(days=7))}


def _rules(metric: Metric) -> list[gitlab_reads.Rule]:
    return [(r.name, r.filter) for r in metric.rules]


def _reading(metric: Metric, rows: Iterable[tuple[str, Any, int, float]], window: Window) -> int | float:
    """Reduce weekly rows to one value: distinct values over the window's weeks, events, or the sum of value."""
    inside = [r for r in rows if window.covers(date.fromisoformat(r[0]))]
    if metric.kind == "unique":
        return len({r[1] for r in inside})
    if metric.kind == "sum":
        total = sum(r[3] for r in inside)
        return int(total) if float(total).is_integer() else total
    return sum(r[2] for r in inside)


def _since(frames: Iterable[str], now: datetime) -> int | None:
    """Return the earliest collector time an event counted in these frames can have (None: all of them)."""
    if "all" in frames:
        return None
    oldest = min(week_start(now - timedelta(days=FRAME_DAYS[f])) for f in frames)
    return int(datetime.combine(oldest, datetime.min.time(), timezone.utc).timestamp() * 1000)


def metric_readings(store: Store, definitions: Definitions, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return every metric with its moving and production readings at `now` (one query per metric file)."""
    now = now or utc_now()
    by_file: dict[tuple[str, tuple], list[Metric]] = {}
    for metric in definitions.metrics:
        by_file.setdefault((metric.file, metric.rules), []).append(metric)
    out: dict[str, dict[str, Any]] = {}
    for metrics in by_file.values():
        rows = gitlab_reads.weekly(store, _rules(metrics[0]), metrics[0].unique,
                                   _since([m.time_frame for m in metrics], now))
        for metric in metrics:
            frames = windows(metric.time_frame, now)
            readings = {name: _reading(metric, rows, window) for name, window in frames.items()}
            out[metric.key_path] = {**metric.to_json(), "value": readings["moving"], **readings,
                                    "windows": {name: w.to_json() for name, w in frames.items()}}
    return [out[m.key_path] for m in definitions.metrics]


def moved_by(store: Store, definitions: Definitions, row: int, action: str | None,
             now: datetime | None = None) -> list[str]:
    """Return the key paths whose moving reading counts this events row (its name and filters match, the unique
    value is there, and its time falls in the window)."""
    if not action:
        return []
    now = now or utc_now()
    moved = []
    for metric in definitions.metrics_of(action):
        rows = gitlab_reads.weekly(store, _rules(metric), metric.unique, row=row)
        if rows and windows(metric.time_frame, now)["moving"].covers(date.fromisoformat(rows[0][0])):
            moved.append(metric.key_path)
    return moved


def may_change_metrics(change: Change, definitions: Definitions) -> bool:
    """Say whether a store change can have moved a metric: rows of a counted event inserted or updated, or rows
    deleted or pruned (a hub can re-read the metrics only then)."""
    if change.kind in ("delete", "pruned"):
        return bool(definitions.metrics)
    names = definitions.event_names
    return any(s.se_action in names for s in change.summaries)
