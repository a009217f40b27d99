"""Test helpers for suites that assert on received events: a client, assertions and a pytest plugin.

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
"""

from .client import APIError, MicroDashboard, WaitTimeout
from .matching import ReceivedEvent
from .plugin import (
    DashboardServer,
    micro_dashboard,
    micro_dashboard_config,
    micro_dashboard_server,
    pytest_addoption,
    pytest_terminal_summary,
    tracker,
)

__all__ = ["APIError", "DashboardServer", "MicroDashboard", "ReceivedEvent", "WaitTimeout", "micro_dashboard",
           "micro_dashboard_config", "micro_dashboard_server", "pytest_addoption", "pytest_terminal_summary",
           "tracker"]
