"""`micro-dashboard tail`: stream events to the terminal as they arrive, one line each, invalid ones in red; with
`--metrics`, GitLab metric readings as they move."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import click
import requests

DEFAULT_URL = "http://127.0.0.1:9091"
RECONNECT_SECONDS = 1.0
# Envelopes after which metrics may have moved; /api/metrics is read again once the feed is quiet this long.
METRIC_TRIGGERS = frozenset({"hello", "event", "update", "counts", "reset", "pruned"})
METRICS_QUIET_SECONDS = 0.2
METRICS_MAX_DELAY_SECONDS = 1.0


class Dashboard:
    """A dashboard followed with filters: the API checks them once, the live feed applies them to every row."""

    def __init__(self, url: str, filters: list[tuple[str, str]]):
        self.url, self.filters = url, filters
        self.session = requests.Session()

    def get(self, params: list[tuple[str, Any]]) -> dict[str, Any]:
        """GET /api/events; a filter the dashboard rejects becomes a usage error."""
        response = self.session.get(self.url + "/api/events", params=[*self.filters, *params], timeout=30)
        if response.status_code == 400:
            raise click.UsageError(response.json().get("error") or response.text)
        response.raise_for_status()
        return response.json()

    def websocket_url(self, since: int) -> str:
        """Return the /ws address that replays and pushes the rows after `since` matching the filters."""
        scheme, rest = self.url.split("://", 1)
        query = urlencode([*self.filters, ("since", since)])
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws?{query}"


def parse_filters(args: tuple[str, ...], search: str | None) -> list[tuple[str, str]]:
    """Turn `key=value` arguments and --search into API query parameters."""
    filters = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{arg!r} is not key=value (e.g. app_id=web or gitlab_standard.project_id=7)",
                                     param_hint="FILTERS")
        filters.append((key, value))
    if search:
        filters.append(("search", search))
    return filters


def line(summary: dict[str, Any]) -> str:
    """Render one event summary as a terminal line: time, app, event, key fields, validity."""
    ms = summary.get("collector_tstamp")
    clock = datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S.%f")[:-3] if ms else "-" * 12
    name = summary.get("event_name") or summary.get("event") or "(unreadable)"
    if summary.get("event") == "struct":
        name = "struct"  # its event_name is Google's generic `event`, which says nothing
        keys = [f"{k}={summary[f'se_{k}']}" for k in ("category", "action", "label") if summary.get(f"se_{k}")]
        details = " ".join(keys)
    else:
        details = summary.get("schema") or ""
    if summary.get("user_id"):
        details += f" user={summary['user_id']}"
    text = f"{clock}  {(summary.get('app_id') or '-')[:20]:<20}  {name[:24]:<24}  {details.strip()}"
    if not summary.get("valid"):
        reasons = "; ".join(dict.fromkeys(p.get("message", "") for p in summary.get("problems") or []))
        return click.style(f"{text}  INVALID: {reasons or 'no reason recorded'}", fg="red", bold=True)
    if summary.get("unverified"):
        return text + "  " + click.style("unverified (schema not checked)", fg="yellow")
    return text + "  " + click.style("valid", fg="green")


def note(message: str) -> None:
    """Tell the person watching (on stderr, so stdout stays one event per line)."""
    click.echo(click.style(message, dim=True), err=True)


@click.command("tail")
@click.argument("filters", nargs=-1)
@click.option("--url", envvar="MICRO_DASHBOARD_URL", default=DEFAULT_URL, show_default=True,
              help="The dashboard to follow.")
@click.option("-s", "--search", default=None,
              help="The search box language, e.g. 'app:web is:invalid has:gitlab_standard -event:page_ping'.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print one JSON object per event (for jq).")
@click.option("-n", "--last", type=click.IntRange(0), default=0, show_default=True,
              help="First show this many of the newest matching events already received.")
@click.option("--since", type=click.IntRange(0), default=None,
              help="Replay every event after this row id first (0: everything kept).")
@click.option("--metrics", "metrics", is_flag=True, default=False,
              help="Show GitLab metric readings instead of events: each key path once, then a line whenever one "
                   "moves (the dashboard needs --definitions).")
def tail_command(filters: tuple[str, ...], url: str, search: str | None, as_json: bool, last: int,
                 since: int | None, metrics: bool) -> None:
    """Stream events as they arrive, one line each; FILTERS are the API's, e.g. app_id=web se_action=click.

    Invalid events are shown in red with their reasons; an event shown before that changes later (re-checked
    once its schema could be fetched) is shown again, marked "updated" (with --json: "updated": true).
    Filters work like the API's query parameters:
    promoted fields (app_id=web), entity fields (gitlab_standard.project_id=7), raw parameters (param.e=se),
    operators (se_label__contains=x), valid=false, has=<entity>.
    """
    url = url.strip().rstrip("/")
    url = url if "://" in url else "http://" + url
    if metrics:
        if filters or search or last or since is not None:
            raise click.UsageError("--metrics shows every metric: FILTERS, --search, --last and --since are for events")
        with contextlib.suppress(KeyboardInterrupt):
            follow_metrics(Dashboard(url, []), as_json)
        return
    dashboard = Dashboard(url, parse_filters(filters, search))
    try:
        first = dashboard.get([("limit", max(last, 1))])  # checks the filters before anything is streamed
    except requests.ConnectionError:
        raise click.ClickException(f"micro-dashboard is not reachable at {url}; is it running?") from None
    cursor = first["last_id"] if since is None else since
    if last and since is None:
        for summary in reversed(first["events"][:last]):
            emit(summary, as_json)
    with contextlib.suppress(KeyboardInterrupt):
        follow(dashboard, cursor, as_json)


def emit(summary: dict[str, Any], as_json: bool, updated: bool = False) -> None:
    """Print one event (again, marked, when it changed after it was shown) and flush, so a pipe sees it at once."""
    if as_json:
        click.echo(json.dumps({**summary, "updated": True} if updated else summary, ensure_ascii=False))
    else:
        click.echo(click.style("updated ", dim=True) + line(summary) if updated else line(summary))
    sys.stdout.flush()


def follow(dashboard: Dashboard, cursor: int, as_json: bool) -> None:
    """Print events after `cursor` forever, reconnecting (from the last row seen) when the socket drops."""
    import simple_websocket

    connected_once = False
    while True:
        try:
            ws = simple_websocket.Client.connect(dashboard.websocket_url(cursor))
        except (simple_websocket.ConnectionError, OSError) as exc:
            if not connected_once:
                raise click.ClickException(f"cannot open {dashboard.websocket_url(cursor)}: {exc}") from None
            time.sleep(RECONNECT_SECONDS)  # the dashboard is restarting; try again, like tail -F
            continue
        try:
            cursor, lost = stream(ws, dashboard, cursor, as_json, connected_once)
        finally:
            with contextlib.suppress(Exception):  # closing a socket the server already dropped raises
                ws.close()
        connected_once = True
        if lost:
            note("connection lost; reconnecting...")
            time.sleep(RECONNECT_SECONDS)


def stream(ws: Any, dashboard: Dashboard, cursor: int, as_json: bool, reconnected: bool) -> tuple[int, bool]:
    """Print what one websocket connection sends; return the cursor to go on from, and whether it was lost."""
    import simple_websocket

    seen = [cursor]  # the last row printed, kept when the connection drops mid-stream
    try:
        return _stream(ws, dashboard, seen, as_json, reconnected), False
    except simple_websocket.ConnectionClosed:
        return seen[0], True


def _stream(ws: Any, dashboard: Dashboard, seen: list[int], as_json: bool, reconnected: bool) -> int:
    """Print envelopes, moving `seen[0]` past each event; return the cursor to reconnect from after a resync."""
    # Said as soon as the handshake is done, not on the server's hello: simple-websocket's client leaves a
    # message that came in the same read as the handshake unread until more data arrives, so waiting for
    # the hello could wait until the next event.
    note(f"{'reconnected to' if reconnected else 'tailing'} {dashboard.url} (Ctrl-C to stop)")
    while True:
        envelope = json.loads(ws.receive())
        kind = envelope.get("type")
        if kind == "reset":
            note("-- events were deleted --")
        elif kind == "resync":
            note("-- too slow to keep up; catching up --")
            return int(envelope["data"]["since"])
        elif kind == "event":  # only rows the filters match are sent
            emit(envelope["data"], as_json)
            seen[0] = max(seen[0], envelope["data"]["id"])
        elif kind == "update":
            emit(envelope["data"], as_json, updated=True)
        # hello, counts and pruned carry totals for a UI; tail has nothing to show for them


def read_metrics(dashboard: Dashboard) -> dict[str, Any]:
    """GET /api/metrics; a dashboard without definitions is an error worth stopping for."""
    try:
        response = dashboard.session.get(dashboard.url + "/api/metrics", timeout=30)
    except requests.ConnectionError:
        raise click.ClickException(f"micro-dashboard is not reachable at {dashboard.url}; is it running?") from None
    response.raise_for_status()
    body = response.json()
    if not body.get("configured"):
        raise click.ClickException(f"the dashboard at {dashboard.url} has no GitLab definitions: start it with "
                                   "--definitions DIR (a GitLab checkout)")
    return body


def metric_line(metric: dict[str, Any], before: Any = None) -> str:
    """Render one metric reading: time, key path, the moving reading (and what it was), the production reading."""
    clock = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    moving = f"{before} -> {metric['moving']}" if before is not None else str(metric["moving"])
    text = f"{clock}  {metric['key_path']}  {moving}  (production {metric['production']}, {metric['time_frame']})"
    return click.style(text, fg="green", bold=True) if before is not None else text


def emit_metrics(body: dict[str, Any], shown: dict[str, Any], as_json: bool) -> None:
    """Print every metric not shown yet and every one whose readings changed; remember what was shown."""
    for metric in body.get("metrics") or []:
        key, readings = metric["key_path"], (metric["moving"], metric["production"])
        if shown.get(key) == readings:
            continue
        before = shown[key][0] if key in shown else None
        if as_json:
            click.echo(json.dumps({"key_path": key, "time_frame": metric["time_frame"], "moving": metric["moving"],
                                   "production": metric["production"], "before": before}))
        else:
            click.echo(metric_line(metric, before))
        shown[key] = readings
    sys.stdout.flush()


def follow_metrics(dashboard: Dashboard, as_json: bool) -> None:
    """Print the metrics, then again each one that moves, whenever /ws says events changed (reconnecting)."""
    import simple_websocket

    body = read_metrics(dashboard)
    for problem in body.get("problems") or []:
        note(f"definitions: {problem.get('file')}:{problem.get('line')}: {problem.get('message')}")
    shown: dict[str, Any] = {}
    emit_metrics(body, shown, as_json)
    connected_once = False
    while True:
        try:
            cursor = dashboard.get([("limit", 1)])["last_id"]  # metrics are re-read, not replayed: start from now
            ws = simple_websocket.Client.connect(dashboard.websocket_url(cursor))
        except (simple_websocket.ConnectionError, OSError, requests.ConnectionError) as exc:
            if not connected_once:
                raise click.ClickException(f"cannot open {dashboard.websocket_url(cursor)}: {exc}") from None
            time.sleep(RECONNECT_SECONDS)
            continue
        note(f"{'reconnected to' if connected_once else 'tailing metrics of'} {dashboard.url} (Ctrl-C to stop)")
        connected_once = True
        try:
            while True:
                if json.loads(ws.receive()).get("type") not in METRIC_TRIGGERS:
                    continue
                # Debounce: a burst of events becomes one read of the metrics once the feed goes quiet (or at
                # least once a second while it never does).
                deadline = time.monotonic() + METRICS_MAX_DELAY_SECONDS
                while time.monotonic() < deadline and ws.receive(timeout=METRICS_QUIET_SECONDS) is not None:
                    pass
                emit_metrics(read_metrics(dashboard), shown, as_json)
        except simple_websocket.ConnectionClosed:
            note("connection lost; reconnecting...")
            time.sleep(RECONNECT_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                ws.close()
