"""GET /api/registries: each configured Iglu registry and whether it answers, so that offline work says so."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

bp = Blueprint("registries", __name__, url_prefix="/api")

EXTENSION = "micro_dashboard.registries"
# What an offline user can do about it, in the words of the CLI's own flags and commands.
FIXES = ("`micro-dashboard schemas pull` while online fills the schema cache; `--iglu-dir DIR` serves a local "
         "copy of the schemas; `--strict` counts events whose schemas could not be checked as invalid")


@dataclass(frozen=True)
class RegistryState:
    """One configured registry as last seen: `ok`, `unreachable` (since when, why) or `not asked yet`."""

    name: str
    location: str
    kind: str
    state: str
    reason: str | None = None
    since: str | None = None  # ISO-8601: the first failure seen in its current run of failures

    def describe(self) -> str:
        """Return the registry's name and location, once when they are the same."""
        return self.name if self.name == self.location else f"{self.name} ({self.location})"


class RegistryWatch:
    """Reads the resolver's registry states and remembers since when each unreachable one has been failing."""

    def __init__(self, resolver: Any) -> None:
        self.resolver = resolver
        self._lock = threading.Lock()
        self._since: dict[str, str] = {}
        self._told: dict[str, str] = {}  # registry name -> the state changes() last reported

    def states(self) -> list[RegistryState]:
        """Return every configured registry's state now, in the resolver's order."""
        found = self.resolver.registry_states()
        with self._lock:
            out = []
            for state in found:
                since = None
                if state["state"] == "unreachable":
                    since = self._since.setdefault(state["name"], state["failed_at"] or _now_iso())
                else:
                    self._since.pop(state["name"], None)
                out.append(RegistryState(state["name"], state["location"], state["kind"], state["state"],
                                         state["reason"], since))
            return out

    def changes(self) -> list[RegistryState]:
        """Return the registries that became unreachable, or answered again, since the last call."""
        changed = []
        for state in self.states():
            with self._lock:
                before = self._told.get(state.name)
                # A failure is news the first time; an answer only after a failure.
                if state.state != before and "unreachable" in (state.state, before) and state.state != "not asked yet":
                    changed.append(state)
                if state.state != "not asked yet":
                    self._told[state.name] = state.state
        return changed


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def watch_of(app: Flask) -> RegistryWatch:
    """Return the app's registry watch (one per app, shared by the API and the serve banner)."""
    return app.extensions[EXTENSION]


@bp.record_once
def _watch(setup: Any) -> None:
    setup.app.extensions[EXTENSION] = RegistryWatch(setup.app.config["CHECKER"].resolver)


def unreachable_line(state: RegistryState) -> str:
    """Say in one line that a registry cannot be reached and what that means."""
    return (f"Iglu registry unreachable: {state.describe()}: {state.reason}. Events with schemas only it has are "
            f"unverified (not checked) until it answers; {FIXES}.")


def back_line(state: RegistryState) -> str:
    """Say in one line that a registry answers again."""
    return f"Iglu registry answers again: {state.describe()}. Unverified events with its schemas are checked now."


@bp.route("/registries", methods=["GET"])
def registries() -> Response:
    """List the configured Iglu registries with their state, and how many stored events could not be checked."""
    states = watch_of(current_app).states()
    # The store keeps this count (as the Unverified filter counts): counting the rows read them all, which the UI
    # asks for as events arrive.
    unverified = current_app.config["STORE"].totals()["unverified"]
    return jsonify({
        "registries": [asdict(s) for s in states],
        "unreachable": [s.name for s in states if s.state == "unreachable"],
        "unverified": unverified,
        "strict": current_app.config["CHECKER"].strict,
        "fixes": FIXES,
    })


def banner_lines(app: Flask) -> list[str]:
    """Return the serve banner's lines about schemas: the registries asked, in order, and what strict mode does."""
    states = watch_of(app).states()
    if not states:
        return ["  schemas    no Iglu registry is configured: every event with an entity stays unverified "
                "(give --iglu-dir, --iglu-registry or --iglu)"]
    lines = [f"  schemas    {'  '.join(s.describe() for s in states)}"]
    if app.config["CHECKER"].strict:
        lines.append("             --strict: an event whose schema no registry could be asked about is invalid")
    return lines


def news_lines(app: Flask) -> list[str]:
    """Return a line for each registry that became unreachable, or answers again, since the last call."""
    return [unreachable_line(s) if s.state == "unreachable" else back_line(s) for s in watch_of(app).changes()]
