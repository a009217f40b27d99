"""The pytest plugin: a dashboard per test session, a `micro_dashboard` client per test, and a `tracker`.

Installing micro-dashboard registers this module as a pytest plugin (the `pytest11` entry point), giving:

- `micro_dashboard`: a `MicroDashboard` for a dashboard started once per session in the test process (free port,
  temporary database), emptied before each test; or, with `--micro-dashboard-url URL` / `$MICRO_DASHBOARD_URL`,
  a client of that running dashboard that counts only events received after the test started.
- `tracker`: a snowplow-tracker `Tracker` pointed at it (synchronous, one event per request, a unique app id per
  test as `tracker.app_id`), flushed before every wait and assertion.
- `micro_dashboard_config`: create_app() settings for the in-process dashboard; override it in a conftest.py.
- `--micro-dashboard-keep`: keep all events and, after a failed run, the database (its path is printed).

    def test_signup_is_tracked(micro_dashboard, tracker):
        tracker.track(StructuredEvent("auth", "signup", label="email"))
        micro_dashboard.assert_event(se_action="signup", app_id=tracker.app_id, valid=True)

Every pytest session loads this module, most of them never use its fixtures: the client (requests), the server
(Flask) and the tracker are imported only when a fixture that needs them runs.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .client import MicroDashboard

URL_ENV = "MICRO_DASHBOARD_URL"
KEPT_DB = pytest.StashKey[str]()


@dataclass
class DashboardServer:
    """The dashboard a session's tests talk to: started in this process, or an external one."""

    url: str
    db: str | None = None  # the temporary database of an in-process dashboard
    app: Any = None  # the Flask app of an in-process dashboard
    http: Any = None  # the session's requests.Session, kept alive from test to test

    @property
    def external(self) -> bool:
        """Return whether the dashboard runs elsewhere (its events are not ours to delete)."""
        return self.app is None

    def client(self, empty: bool) -> MicroDashboard:
        """Return a client whose cursor (and metrics baseline) starts now, emptying an in-process dashboard first.

        An in-process dashboard is asked directly, not over HTTP: a test pays for no request before it runs.
        """
        from .client import MicroDashboard

        if self.http is None:
            import requests

            self.http = requests.Session()
        if self.external:
            return MicroDashboard(self.url, session=self.http)
        from ..api.cursor import cursor_state
        from ..policy.consistency import SETTLE_SECONDS

        store = self.app.config["STORE"]
        # What earlier tests sent is decoded first, so it is deleted (or falls before the cursor), never counted.
        store.wait_decoded(store.acknowledged_through, SETTLE_SECONDS)
        if empty:
            store.delete()
        dashboard = MicroDashboard(self.url, cursor=0, session=self.http)
        state = cursor_state(self.app)
        dashboard.cursor, dashboard.metrics_baseline = state["last_id"], state["metrics"] or {}
        return dashboard


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --micro-dashboard-url and --micro-dashboard-keep."""
    group = parser.getgroup("micro-dashboard", "micro-dashboard test helpers")
    group.addoption("--micro-dashboard-url", dest="micro_dashboard_url", default=None, metavar="URL",
                    help=f"Use the dashboard running at URL instead of starting one in the test process "
                         f"(also ${URL_ENV} or the micro_dashboard_url ini option).")
    group.addoption("--micro-dashboard-keep", dest="micro_dashboard_keep", action="store_true", default=False,
                    help="Keep every test's events and, if a test failed, leave the database for "
                         "`micro-dashboard serve --db PATH`.")
    parser.addini("micro_dashboard_url", "URL of an external micro-dashboard for the micro_dashboard fixture.",
                  default=None)


def external_url(config: pytest.Config) -> str | None:
    """Return the external dashboard's URL from the command line, the environment or the ini file."""
    return config.getoption("micro_dashboard_url") or os.environ.get(URL_ENV) or config.getini(
        "micro_dashboard_url") or None


@pytest.fixture(scope="session")
def micro_dashboard_config() -> dict[str, Any]:
    """Return create_app() settings for the in-process dashboard (override to add Iglu dirs, strict mode...)."""
    return {}


@pytest.fixture(scope="session")
def micro_dashboard_server(request: pytest.FixtureRequest,
                           micro_dashboard_config: dict[str, Any]) -> Iterator[DashboardServer]:
    """Start one dashboard for the session on a free port with a temporary database (or use an external one)."""
    url = external_url(request.config)
    if url:
        external = DashboardServer(url=url)
        yield external
        if external.http is not None:
            external.http.close()
        return
    from .. import create_app
    from ..server import Server

    folder = tempfile.mkdtemp(prefix="micro-dashboard-")
    db = os.path.join(folder, "events.db")
    app = create_app({**micro_dashboard_config, "db": db})
    server = Server(app, "127.0.0.1", 0, threads=32).start()
    started = DashboardServer(url=f"http://127.0.0.1:{server.port}", db=db, app=app)
    try:
        yield started
    finally:
        if started.http is not None:
            started.http.close()
        server.stop()
        app.config["STORE"].close()
        if request.config.getoption("micro_dashboard_keep") and request.session.testsfailed:
            request.config.stash[KEPT_DB] = db
        else:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def micro_dashboard(micro_dashboard_server: DashboardServer, request: pytest.FixtureRequest
                    ) -> Iterator[MicroDashboard]:
    """Return a client whose waits and assertions only see events received during this test.

    An in-process dashboard is emptied before each test (unless --micro-dashboard-keep); an external one is
    never emptied, and the client's cursor starts after the newest event already there.
    """
    with micro_dashboard_server.client(empty=not request.config.getoption("micro_dashboard_keep")) as dashboard:
        yield dashboard


def unique_app_id(node: pytest.Item) -> str:
    """Return an app id naming the test, unique to this run (so parallel tests can share a dashboard)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")[:60]
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tracker(micro_dashboard: MicroDashboard, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Return a snowplow-tracker Tracker sending to the test's dashboard, one event per request, synchronously.

    Its app id (`tracker.app_id`) is unique to the test; the dashboard client flushes it before each wait.
    """
    from snowplow_tracker import Emitter, Tracker

    def on_failure(sent: int, failed: list[dict[str, Any]]) -> None:
        micro_dashboard.send_failures.append(f"{len(failed)} event(s) were not accepted")

    app_id = unique_app_id(request.node)
    # The client's kept-alive session: each event costs a request, not a new connection too.
    emitter = Emitter(micro_dashboard.endpoint, protocol="http", method="post", batch_size=1,
                      on_failure=on_failure, request_timeout=10, session=micro_dashboard.session)
    instance = Tracker("pytest", emitters=emitter, app_id=app_id)
    instance.app_id = app_id
    micro_dashboard.register(instance)
    yield instance
    instance.flush()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where the kept database is and how to look at it."""
    db = config.stash.get(KEPT_DB, None)
    if db:
        terminalreporter.write_sep("-", "micro-dashboard")
        terminalreporter.write_line(f"kept the events of this run in {db}")
        terminalreporter.write_line(f"inspect them with: micro-dashboard serve --db {db}")
