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
    from .store.schema_cache import SchemaCache
    from .worker import PipelineWorker

    settings = config if isinstance(config, Settings) else Settings.load(config)
    Path(settings.db).parent.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, static_folder=asset_dir("static"), template_folder=asset_dir("templates"))
    app.json.sort_keys = False  # keep Snowplow's field order in every JSON answer
    store = Store(settings.db, max_events=settings.max_events, max_age=settings.max_age, max_bytes=settings.max_bytes)
    cache = SchemaCache(settings.db)
    checker = build_checker(settings, cache)
    hub = Hub(store)
    worker = PipelineWorker(store, checker, settings.max_body_bytes).start()
    store.on_close(cache.close)  # after the worker, which was registered first and may still look schemas up
    app.config.update(SETTINGS=settings, STORE=store, HUB=hub, CHECKER=checker, PIPELINE=worker)

    from . import collector, live, ui
    from .api import cursor, events, iglu, micro, micro_paged, openapi, registries
    from .gitlab import api as gitlab_api
    from .policy import consistency, cors, destructive, errors, headers, hosts, slots, token

    # Request-wide policy, in the order it applies: the Host allow-list, the access token, JSON errors, security
    # headers, no deleting from other sites, CORS, thread slots, consistent reads.
    hosts.init_app(app)
    token.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    destructive.init_app(app)
    cors.init_app(app)
    slots.init_app(app, settings.threads)
    consistency.init_app(app)

    app.register_blueprint(collector.bp)
    app.register_blueprint(micro_paged.bp)  # its static /micro/events, columns, timeline beat micro's catch-all
    app.register_blueprint(micro.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(cursor.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(iglu.bp)
    app.register_blueprint(registries.bp)
    app.register_blueprint(ui.bp)
    gitlab_api.init_app(app, settings.definitions)  # GitLab definitions (reloaded on change) and their API
    live.init_app(app)
    # Last, around everything above: GET /i and POST tp2 answered without Flask's per-request work (lean_collector).
    from .lean_collector import LeanCollector

    app.wsgi_app = LeanCollector(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
