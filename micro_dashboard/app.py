"""The Flask application: settings, the store, the pipeline worker, the hub, and every blueprint, wired once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import asset_dir


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the dashboard app; `config` overrides settings from the environment (see config.Settings)."""
    from .config import Settings
    from .hub import Hub
    from .iglu_setup import build_checker
    from .store import Store

    settings = config if isinstance(config, Settings) else Settings.load(config)
    Path(settings.db).parent.mkdir(parents=True, exist_ok=True) if settings.db != ":memory:" else None
    app = Flask(__name__, static_folder=asset_dir("static"), template_folder=asset_dir("templates"))
    app.json.sort_keys = False  # keep Snowplow's field order in every JSON answer
    store = Store(settings.db, max_events=settings.max_events, max_age=settings.max_age)
    app.config.update(SETTINGS=settings, STORE=store, HUB=Hub(store), CHECKER=build_checker(settings, store))

    from . import collector, live, ui
    from .api import events, iglu, micro, micro4, openapi

    app.register_blueprint(collector.bp)
    app.register_blueprint(micro4.bp)  # its static /micro/events, columns, timeline beat micro's catch-all
    app.register_blueprint(micro.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(iglu.bp)
    app.register_blueprint(ui.bp)
    live.init_app(app, settings.threads)
    return app
