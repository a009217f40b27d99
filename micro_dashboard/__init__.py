"""micro-dashboard: a local Snowplow collector, validator, live UI and test API in one process.

Importing this package loads nothing else: the tracking client and the pipeline must not pay for the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def asset_dir(name: str) -> str:
    """Find static/ or templates/: inside the installed package, else at the top of a source checkout."""
    installed = PACKAGE_DIR / name
    return str(installed if installed.is_dir() else PACKAGE_DIR.parent / name)


def __getattr__(name: str) -> Any:
    """Load `create_app` (and with it Flask) only when someone asks for it."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
