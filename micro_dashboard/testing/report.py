"""Failure messages that show what did arrive: the closest events and, for each, what differs."""

from __future__ import annotations

from datetime import datetime

from .matching import Expectation, ReceivedEvent, ranked

SHOWN = 5  # closest events listed in a failure message


def clock(ms: int | None) -> str:
    """Render epoch milliseconds as a local wall-clock time with milliseconds."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S.%f")[:-3]


def _cut(text: str | None, width: int) -> str:
    text = "-" if text in (None, "") else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def event_line(event: ReceivedEvent) -> list[str]:
    """Return the table cells of one event: row id, time, app, what it is, validity."""
    return [f"#{event.id}", clock(event.row.get("collector_tstamp")), _cut(event.row.get("app_id"), 24),
            _cut(event.title(), 40), "valid" if event.valid else "INVALID"]


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Align rows of cells into columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def closest(events: list[ReceivedEvent], conds: list[Expectation], total: int, shown: int = SHOWN) -> list[str]:
    """Return lines listing the events closest to the expectation, each followed by its differences."""
    if not events:
        return []
    scored = ranked(events, conds)[:shown]
    leaves = max(len(conds), 1)
    header = ["row", "time", "app_id", "event", "validity", "matched"]
    cells = [header] + [[*event_line(e), f"{leaves - len(diffs)}/{leaves}"] for e, diffs in scored]
    aligned = table(cells)
    lines = [f"closest of the {total} event{'s' if total != 1 else ''} received (most matching fields first):",
             aligned[0]]
    for (event, diffs), line in zip(scored, aligned[1:]):
        lines.append(line)
        lines.extend(f"      {d}" for d in diffs)
        if not event.valid and event.problems:
            lines.extend(f"      invalid: {p}" for p in event.problems[:3])
    if total > len(scored):
        lines.append(f"  ... and {total - len(scored)} more")
    return lines


def invalid_listing(events: list[ReceivedEvent]) -> list[str]:
    """Return lines listing invalid events, each with its problems in plain sentences."""
    lines = []
    for row, event in zip(table([event_line(e) for e in events]), events):
        lines.append(row)
        lines.extend(f"      - {p}" for p in event.problems or ["(no reason recorded)"])
    return lines
