"""Test helpers for suites that assert on received events: `MicroDashboard`, a client of a running dashboard.

Importing this package needs neither pytest nor the server, so any code can use the client. The pytest fixtures
(`micro_dashboard`, `tracker`) live in `micro_dashboard.testing.plugin`, which pytest loads by itself.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import APIError, MicroDashboard, WaitTimeout
    from .matching import ReceivedEvent

__all__ = ["APIError", "MetricsChange", "MicroDashboard", "ReceivedEvent", "UnknownMetric", "WaitTimeout"]

# Where each public name lives; loaded on first use, so pytest loading the plugin does not pay for requests.
HOMES = {"APIError": ".client", "MetricsChange": ".client", "MicroDashboard": ".client", "UnknownMetric": ".client",
         "WaitTimeout": ".client", "ReceivedEvent": ".matching"}


def __getattr__(name: str) -> Any:
    """Load the client's module the first time one of its names is asked for."""
    if name in HOMES:
        return getattr(import_module(HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
