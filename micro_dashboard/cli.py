"""The command line: `micro-dashboard` (serve by default) and its other commands."""

from __future__ import annotations

import signal
import sys

import click
from click_default_group import DefaultGroup

from . import __version__
from .demo import demo_command
from .iglu_cli import iglu_options, iglu_overrides, schema_command, schemas_group, validate_command


def _env(name: str) -> str:
    return f"MICRO_DASHBOARD_{name.upper()}"


@click.group(cls=DefaultGroup, default="serve", default_if_no_args=True)
@click.version_option(__version__, prog_name="micro-dashboard")
def cli() -> None:
    """A local Snowplow collector, validator, live UI and test API in one process.

    With no command, runs `serve` on 127.0.0.1:9091; `micro-dashboard serve --help` lists its flags.
    """


@cli.command()
@click.option("--host", envvar=_env("host"), default="127.0.0.1", show_default=True,
              help="Interface to listen on.")
@click.option("-p", "--port", envvar=_env("port"), type=int, default=9091, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--db", envvar=_env("db"), default=None,
              help="SQLite file to keep events in. [default: events.db in the user's data directory]")
@click.option("--max-events", envvar=_env("max_events"), type=int, default=None,
              help="Keep at most this many events; the oldest are deleted first.")
@click.option("--max-age", envvar=_env("max_age"), default=None,
              help="Delete events older than this: seconds, or 30m, 12h, 7d.")
@click.option("--path-alias", "path_aliases", envvar=_env("path_alias"), multiple=True,
              help="Map an extra two-segment path onto a collector path, e.g. "
                   "/com.acme/track=/com.snowplowanalytics.snowplow/tp2. Repeatable.")
@click.option("--enable-redirect", envvar=_env("enable_redirect"), is_flag=True, default=False,
              help="Serve /r/tp2 click redirects.")
@iglu_options
@click.option("--threads", envvar=_env("threads"), type=int, default=64, show_default=True,
              help="Server threads; each open websocket or waiting request holds one.")
def serve(host, port, db, max_events, max_age, path_aliases, enable_redirect, threads, **iglu) -> None:
    """Run the collector, API and UI (the default command)."""
    from . import create_app
    from .config import Settings, parse_aliases, parse_duration
    from .server import Server

    try:
        aliases = parse_aliases([a for value in path_aliases for a in value.split(",") if a.strip()])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--path-alias") from exc
    overrides = {
        "host": host, "port": port, "db": db, "max_events": max_events,
        "max_age": parse_duration(max_age) if max_age else None, "path_aliases": aliases or None,
        "enable_redirect": enable_redirect or None, "threads": threads,
        **iglu_overrides(**iglu),
    }
    settings = Settings.load(overrides)
    app = create_app(settings)
    server = Server(app, settings.host, settings.port)
    try:
        server.prepare()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from exc
    base = f"http://{settings.host}:{server.port}"
    click.echo(f"micro-dashboard {__version__}")
    click.echo(f"  collector  {base}  (point your tracker's endpoint here)")
    click.echo(f"  UI         {base}/")
    click.echo(f"  API        {base}/micro/good  {base}/api/events  {base}/api/openapi.json")
    click.echo(f"  database   {settings.db}")
    click.echo("Press Ctrl-C to stop.", nl=True)
    sys.stdout.flush()
    # SIGTERM (docker stop, a Procfile runner) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        app.config["STORE"].close()
        click.echo("stopped; every acknowledged event is on disk")


for command in (schemas_group, schema_command, validate_command, demo_command):
    cli.add_command(command)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line."""
    cli()

from .export import export_command  # noqa: E402

cli.add_command(export_command)

from .tail import tail_command  # noqa: E402

cli.add_command(tail_command)
