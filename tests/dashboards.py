"""Dashboards for tests: apps on a temporary database, the real server in front of them, all closed together.

The `make_app` and `make_live_server` fixtures (conftest.py) hand these out per test; a module-scoped fixture
uses `Dashboards` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from micro_dashboard import create_app
from micro_dashboard.server import Server
from micro_dashboard.store import Store


def base_settings(folder: Path) -> dict[str, Any]:
    """Return the settings every test app starts from: a database in `folder` and no internet registries."""
    return {"db": str(folder / "events.db"), "iglu_defaults": False, "threads": 32}



@dataclass
class LiveServer:
    """A dashboard served by the real multi-threaded server on a free port."""

    app: Flask
    server: Server

    @property
    def url(self) -> str:
        """Return the base URL, e.g. http://127.0.0.1:43123."""
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def port(self) -> int:
        """Return the bound port."""
        return self.server.port

    @property
    def store(self) -> Store:
        """Return the app's store."""
        return self.app.config["STORE"]

    def close(self) -> None:
        """Stop serving and close the database (before another app opens it); closing again is harmless."""
        self.server.stop()
        self.store.close()


class Dashboards:
    """Make apps (settings over a base) and serve them; close() stops every server, then closes every store."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.apps: list[Flask] = []
        self.servers: list[Server] = []

    def app(self, **settings: Any) -> Flask:
        """Create an app with these settings over the base ones (the same database unless `db` is given)."""
        self.apps.append(create_app({**self.settings, **settings}))
        return self.apps[-1]

    def serve(self, app: Flask, port: int = 0) -> LiveServer:
        """Serve an app with the production server on 127.0.0.1 (a port of 0 picks a free one)."""
        self.servers.append(Server(app, "127.0.0.1", port).start())
        return LiveServer(app, self.servers[-1])

    def live_server(self, **settings: Any) -> LiveServer:
        """Create an app with these settings and serve it on a free port."""
        return self.serve(self.app(**settings))

    def close(self) -> None:
        """Stop the servers (stopping twice is harmless), then close the stores."""
        for server in reversed(self.servers):
            server.stop()
        for app in self.apps:
            app.config["STORE"].close()

    def __enter__(self) -> Dashboards:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
