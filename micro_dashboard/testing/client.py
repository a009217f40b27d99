"""`MicroDashboard`: a client for a running dashboard that waits for events and asserts on them."""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests

from .matching import Expectation, ReceivedEvent, api_filters, describe, expectations, matches
from .report import closest, invalid_listing

DEFAULT_URL = "http://127.0.0.1:9091"
CANDIDATES = 50  # recent events considered when explaining a failure
HTTP_SLACK = 10.0  # seconds an HTTP call may take beyond the wait it asked the dashboard for


class APIError(RuntimeError):
    """The dashboard answered with an error (e.g. an unknown filter); the message is the dashboard's."""


class WaitTimeout(AssertionError):
    """Fewer matching events than expected arrived in time; the message shows what did arrive."""


class UnknownMetric(LookupError):
    """A metric key path the dashboard's definitions do not have; the message suggests a similar one."""


# The metric readings an assertion compares: key path -> the moving reading (GitLab's monitor and RSpec matchers).
Readings = dict[str, Any]


class MetricsChange:
    """Metric readings taken at one moment, to assert how metrics moved since, as GitLab's `increment_usage_metrics`
    RSpec matcher does (its baseline is read just before the block runs)."""

    def __init__(self, dashboard: MicroDashboard, baseline: Readings) -> None:
        self.dashboard = dashboard
        self.baseline = baseline

    def assert_changed(self, *key_paths: str, by: float | None = None, from_: float | None = None,
                       to: float | None = None, by_at_least: float | None = None,
                       by_at_most: float | None = None) -> dict[str, tuple[Any, Any]]:
        """Fail unless every key path's moving reading moved as told since the baseline (by 1 when nothing is
        told); return each key path's (before, after)."""
        __tracebackhide__ = True
        told = [(name, value) for name, value in (("by", by), ("by_at_least", by_at_least),
                                                   ("by_at_most", by_at_most), ("from", from_), ("to", to))
                if value is not None] or [("by", 1)]
        moves = self._moves(key_paths)
        if not all(_moved_as_told(before, after, told) for before, after in moves.values()):
            increment = " ".join(f"{name} {value}" for name, value in told)
            raise AssertionError("\n".join(f"expected metric {key} to be incremented {increment} -> value went from "
                                           f"{before} to {after}" for key, (before, after) in moves.items()))
        return moves

    def assert_unchanged(self, *key_paths: str) -> dict[str, tuple[Any, Any]]:
        """Fail if any key path's moving reading moved since the baseline; return each key path's (before, after)."""
        __tracebackhide__ = True
        moves = self._moves(key_paths)
        if any(before != after for before, after in moves.values()):
            raise AssertionError("\n".join(f"expected metric {key} not to be incremented -> value went from "
                                           f"{before} to {after}" for key, (before, after) in moves.items()))
        return moves

    def _moves(self, key_paths: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
        """Return (baseline, current) of each key path, refusing an unknown one with a suggestion."""
        if not key_paths:
            raise ValueError("name at least one metric key path, e.g. assert_changed('counts.count_total_x')")
        current = self.dashboard.metric_values()
        for key in key_paths:
            if key not in current:
                raise UnknownMetric(_unknown_metric(key, current, self.dashboard.url))
        return {key: (self.baseline.get(key, 0), current[key]) for key in key_paths}


def _moved_as_told(before: Any, after: Any, told: list[tuple[str, Any]]) -> bool:
    """Say whether a reading went from `before` to `after` as RSpec's `change` matcher would accept."""
    delta = after - before
    checks = {"by": lambda v: delta == v, "by_at_least": lambda v: delta >= v, "by_at_most": lambda v: delta <= v,
              # RSpec's from/to also require that the value changed.
              "from": lambda v: before == v and after != before, "to": lambda v: after == v and after != before}
    return all(checks[name](value) for name, value in told)


def _unknown_metric(key: str, known: Readings, url: str) -> str:
    """Return why a key path is unknown, suggesting the closest one (or one containing it, as GitLab does)."""
    if not known:
        return (f"unknown metric {key!r}: the dashboard at {url} has no metric definitions loaded "
                "(start it with --definitions DIR)")
    similar = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6) or sorted(k for k in known if key in k)
    hint = f" -- did you mean {similar[0]!r}?" if similar else ""
    return f"unknown metric {key!r} at {url}{hint}"


class MicroDashboard:
    """A running micro-dashboard: hand its collector URL to a tracker, then wait for and assert on events.

    Only events received after the cursor count (`mark()` moves it to "now"; `since=0` looks at everything).
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 5.0, cursor: int | None = None,
                 session: requests.Session | None = None):
        """Connect to the dashboard at `url`; `session` shares kept-alive connections (close() leaves it open)."""
        url = url.strip().rstrip("/")
        self.url = url if "://" in url else "http://" + url
        self.timeout = timeout
        self.own_session = session is None
        self.session = requests.Session() if session is None else session
        self.trackers: list[Any] = []
        self.send_failures: list[str] = []  # filled by trackers whose emitter reports a failed request
        self.cursor = cursor or 0
        # What assert_metric_changed compares with: the readings when the cursor was set (mark() moves both).
        self.metrics_baseline: Readings | None = None
        if cursor is None:
            self.cursor, self.metrics_baseline = self._cursor_state()

    def __repr__(self) -> str:
        return f"MicroDashboard({self.url!r}, cursor={self.cursor})"

    # -- where trackers send -------------------------------------------------------------------------------

    @property
    def collector_url(self) -> str:
        """Return the collector's base URL, e.g. http://127.0.0.1:9091."""
        return self.url

    @property
    def endpoint(self) -> str:
        """Return host:port, the form snowplow-tracker's `Emitter(endpoint, protocol="http")` takes."""
        return urlsplit(self.url).netloc

    def register(self, tracker: Any) -> Any:
        """Flush this tracker (anything with `.flush()`) before every wait and assertion; return it."""
        self.trackers.append(tracker)
        return tracker

    def flush(self) -> None:
        """Send whatever registered trackers still buffer; fail if a tracker could not deliver."""
        __tracebackhide__ = True
        for tracker in self.trackers:
            tracker.flush()
        if self.send_failures:
            failures, self.send_failures = self.send_failures, []
            raise AssertionError(f"a tracker could not send to {self.url}: " + "; ".join(failures))

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, params: Any = None, wait: float = 0.0,
              ok: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        try:
            response = self.session.request(method, self.url + path, params=params, timeout=wait + HTTP_SLACK)
        except requests.ConnectionError as exc:
            raise APIError(f"micro-dashboard is not reachable at {self.url}: {exc}") from None
        if response.status_code not in ok:
            try:
                body = response.json()
                message = body.get("error") or response.text
                if body.get("detail"):
                    message += f" ({body['detail']})"
            except ValueError:
                message = response.text[:500]
            raise APIError(f"{method} {path} answered {response.status_code}: {message}")
        return response.status_code, response.json()

    def health(self) -> bool:
        """Return whether the dashboard answers /health."""
        try:
            return self.session.get(self.url + "/health", timeout=HTTP_SLACK).ok
        except requests.RequestException:
            return False

    def _cursor_state(self) -> tuple[int, Readings]:
        """Return the newest row id and the metrics' moving readings ({} without definitions), in one request."""
        status, body = self._call("GET", "/api/cursor", ok=(200, 404))
        if status == 404:  # a dashboard older than /api/cursor
            return int(self._call("GET", "/api/events", {"limit": 1})[1].get("last_id") or 0), self.metric_values()
        return int(body.get("last_id") or 0), body.get("metrics") or {}

    def last_id(self) -> int:
        """Return the newest row id the dashboard handed out (the cursor meaning "from now on")."""
        return self._cursor_state()[0]

    def mark(self) -> int:
        """Flush trackers and move the cursor (and the metrics baseline) to now: what was received so far no
        longer counts."""
        self.flush()
        self.cursor, self.metrics_baseline = self._cursor_state()
        return self.cursor

    # -- reading -------------------------------------------------------------------------------------------

    def event(self, key: str | int) -> ReceivedEvent:
        """Return one event by its event_id (UUID) or row id; raise LookupError if there is none."""
        status, body = self._call("GET", f"/api/events/{key}", ok=(200, 404))
        if status == 404:
            raise LookupError(f"no event {key} at {self.url}")
        return ReceivedEvent(body)

    def _summaries(self, filters: list[tuple[str, str]], since: int, limit: int) -> list[dict[str, Any]]:
        """Return the summaries of API-matching rows after `since`, newest first."""
        out: list[dict[str, Any]] = []
        before = None
        while len(out) < limit:
            params = [*filters, ("since", since), ("limit", min(500, limit - len(out)))]
            if before is not None:
                params.append(("before", before))
            body = self._call("GET", "/api/events", params)[1]
            out.extend(body["events"])
            before = body.get("next_before")
            if not body["events"] or before is None:
                break
        return out[:limit]

    def _details(self, summaries: list[dict[str, Any]]) -> list[ReceivedEvent]:
        """Fetch the details of rows, oldest first, skipping any deleted meanwhile."""
        out = []
        for summary in sorted(summaries, key=lambda s: s["id"]):
            try:
                out.append(self.event(summary["id"]))
            except LookupError:
                continue
        return out

    def events(self, since: int | None = None, limit: int = 1000, **match: Any) -> list[ReceivedEvent]:
        """Return the events after the cursor that match, oldest first (keyword arguments as in assert_event)."""
        wanted = expectations(match)
        since = self.cursor if since is None else since
        self.flush()
        found = self._details(self._summaries(api_filters(wanted), since, limit))
        return [e for e in found if matches(e, wanted)]

    def latest(self, since: int | None = None, **match: Any) -> ReceivedEvent | None:
        """Return the newest matching event after the cursor, or None."""
        found = self.events(since=since, **match)
        return found[-1] if found else None

    def metrics(self) -> list[dict[str, Any]]:
        """Return every GitLab metric with its readings (GET /api/metrics), once the trackers are flushed and the
        dashboard has decoded what it acknowledged."""
        self.flush()
        return self._call("GET", "/api/metrics")[1].get("metrics") or []

    def metric_values(self) -> Readings:
        """Return each metric key path's moving reading (the value GitLab's monitor and RSpec matchers show)."""
        return {m["key_path"]: m["moving"] for m in self.metrics()}

    @contextmanager
    def metrics_change(self) -> Iterator[MetricsChange]:
        """Read the metrics now, run the block, then assert on how they moved (GitLab's block matcher):

            with micro_dashboard.metrics_change() as metrics:
                client.track_event("create_ci_runner", project_id=1)
            metrics.assert_changed("counts.count_total_ci_runners_created", by=1)
        """
        yield MetricsChange(self, self.metric_values())

    def assert_metric_changed(self, *key_paths: str, by: float | None = None, from_: float | None = None,
                              to: float | None = None, by_at_least: float | None = None,
                              by_at_most: float | None = None) -> dict[str, tuple[Any, Any]]:
        """Fail unless each key path's moving reading moved as told (by 1 when nothing is told) since mark() (the
        start of the test, with the pytest fixture); return each key path's (before, after)."""
        __tracebackhide__ = True
        return self._since_mark().assert_changed(*key_paths, by=by, from_=from_, to=to, by_at_least=by_at_least,
                                                 by_at_most=by_at_most)

    def assert_metric_unchanged(self, *key_paths: str) -> dict[str, tuple[Any, Any]]:
        """Fail if any key path's moving reading moved since mark(); return each key path's (before, after)."""
        __tracebackhide__ = True
        return self._since_mark().assert_unchanged(*key_paths)

    def _since_mark(self) -> MetricsChange:
        if self.metrics_baseline is None:
            raise ValueError("no metrics baseline: call mark() first (a client made with cursor= has none), or use "
                             "`with dashboard.metrics_change() as metrics:`")
        return MetricsChange(self, self.metrics_baseline)

    def counts(self) -> dict[str, int]:
        """Return Micro's totals: total, good and bad."""
        return self._call("GET", "/micro/all")[1]

    # -- deleting ------------------------------------------------------------------------------------------

    def reset(self, **filters: Any) -> int:
        """Delete every event, or those the API's filters select (as the API reads them); return how many."""
        wanted = expectations(filters)
        translated = api_filters(wanted)
        if len(translated) < len(wanted):
            raise ValueError(f"reset() can only delete by filters the dashboard understands; {describe(filters)} "
                             "is not exactly expressible as one")
        return int(self._call("DELETE", "/api/events", translated)[1].get("deleted", 0))

    # -- waiting -------------------------------------------------------------------------------------------

    def _collect(self, wanted: list[Expectation], count: int, timeout: float, since: int) -> list[ReceivedEvent]:
        """Long-poll the wait endpoint until `count` events match (re-checked here) or the timeout passes."""
        self.flush()
        filters = api_filters(wanted)
        deadline = time.monotonic() + timeout
        found: list[ReceivedEvent] = []
        cursor = since
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            params = [*filters, ("count", count - len(found)), ("timeout", f"{remaining:.3f}"), ("since", cursor)]
            status, body = self._call("GET", "/api/wait", params, wait=remaining, ok=(200, 408))
            arrived = [ReceivedEvent(d) for d in body.get("events") or []]
            found.extend(e for e in arrived if matches(e, wanted))
            cursor = max([cursor, int(body.get("cursor") or 0), *(e.id for e in arrived)])
            if len(found) >= count or status == 408 or remaining <= 0:
                return found

    def wait_for(self, count: int = 1, timeout: float | None = None, since: int | None = None,
                 **match: Any) -> list[ReceivedEvent]:
        """Return the first `count` matching events after the cursor as soon as they are there, oldest first.

        Raise WaitTimeout, showing the closest events that did arrive, if fewer arrive within `timeout` seconds.
        """
        __tracebackhide__ = True
        wanted = expectations(match)
        timeout = self.timeout if timeout is None else timeout
        since = self.cursor if since is None else since
        found = self._collect(wanted, count, timeout, since)
        if len(found) < count:
            raise WaitTimeout(self._explain(
                f"expected {count} event{'s' if count != 1 else ''} matching {describe(match)} within {timeout:g}s, "
                f"got {len(found)}", wanted, since))
        return found[:count]

    # -- assertions ----------------------------------------------------------------------------------------

    def assert_event(self, timeout: float | None = None, since: int | None = None, **match: Any) -> ReceivedEvent:
        """Wait for one event matching every expectation (partially) and return it."""
        __tracebackhide__ = True
        return self.wait_for(1, timeout=timeout, since=since, **match)[0]

    def assert_events(self, n: int, exactly: bool = False, timeout: float | None = None, since: int | None = None,
                      **match: Any) -> list[ReceivedEvent]:
        """Wait for at least `n` matching events (exactly `n` with `exactly=True`) and return them all."""
        __tracebackhide__ = True
        since = self.cursor if since is None else since
        self.wait_for(n, timeout=timeout, since=since, **match)
        found = self.events(since=since, **match)
        if exactly and len(found) != n:
            wanted = expectations(match)
            raise AssertionError(self._explain(
                f"expected exactly {n} event{'s' if n != 1 else ''} matching {describe(match)}, got {len(found)}",
                wanted, since))
        return found

    def assert_no_event(self, within: float = 1.0, since: int | None = None, **match: Any) -> None:
        """Fail if an event matching the expectations arrives (or already arrived) within `within` seconds."""
        __tracebackhide__ = True
        wanted = expectations(match)
        since = self.cursor if since is None else since
        found = self._collect(wanted, 1, within, since)
        if found:
            lines = [f"expected no event matching {describe(match)} within {within:g}s, but one arrived:",
                     *closest(found, wanted, len(found))[1:]]
            raise AssertionError("\n".join(lines))

    def assert_all_valid(self, since: int | None = None, strict: bool = False, **match: Any) -> None:
        """Fail listing every invalid event after the cursor (among those matching), with each problem.

        An event whose schema no registry could be asked about is valid but unverified; with `strict=True` it
        fails too, so a suite run offline cannot pass without its schemas having been checked.
        """
        __tracebackhide__ = True
        since = self.cursor if since is None else since
        invalid = self.events(since=since, **{**match, "valid": False})
        unverified = [e for e in self.events(since=since, **{**match, "valid": True}) if e.row.get("unverified")]
        if invalid or (strict and unverified):
            total = len(self.events(since=since, **match))
            lines = [f"{len(invalid)} of {total} event{'s' if total != 1 else ''} received are invalid"
                     + (":" if invalid else "."), *(invalid_listing(invalid) if invalid else [])]
            if strict and unverified:
                lines.append(f"{len(unverified)} could not be checked against their schemas (strict=True):")
                lines += [f"  {e.title()}: " + "; ".join(n["note"] for n in e.entities if n.get("note"))
                          for e in unverified]
            raise AssertionError("\n".join(lines))

    def close(self) -> None:
        """Close the HTTP connections this client keeps open (not those of a session it was given)."""
        if self.own_session:
            self.session.close()

    def __enter__(self) -> MicroDashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- explaining ----------------------------------------------------------------------------------------

    def _explain(self, headline: str, wanted: list[Expectation], since: int) -> str:
        """Return a failure message: the headline, then the closest events received after `since`."""
        summaries = self._summaries([], since, CANDIDATES)
        total = len(summaries)
        if total >= CANDIDATES:
            total = int(self._call("GET", "/api/events", [("since", since), ("limit", 1), ("total", "exact")])[1]
                        .get("total") or total)
        for c in wanted:
            if c.scope == "server":
                c.ids = {s["id"] for s in self._summaries([(c.name, str(c.expected))], since, CANDIDATES)}
        if not summaries:
            return (f"{headline}.\nNo events at all arrived at {self.url} after row {since}: is the tracker's "
                    f"endpoint {self.collector_url} (host:port {self.endpoint})?")
        return "\n".join([f"{headline}.", *closest(self._details(summaries), wanted, total)])
