"""The command line: `micro-dashboard` (serve by default) and its other commands."""

from __future__ import annotations

import difflib
import signal
import sys
import threading

import click
from click_default_group import DefaultGroup

from . import __version__
from .config import describe_size, env_var, parse_duration, parse_size
from .demo import demo_command
from .iglu_cli import iglu_options, iglu_overrides, schema_command, schemas_group, validate_command


class ServeByDefault(DefaultGroup):
    """A group whose default command is `serve`, for no arguments or options alone, but not for an unknown word."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple:
        """Say that a word that names no command is unknown, and list the commands, instead of passing it to serve."""
        word = args[0] if args else ""
        if word and not word.startswith("-") and word not in self.commands:
            names = sorted(self.list_commands(ctx))
            close = difflib.get_close_matches(word, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"unknown command {word!r}.{hint} The commands are: {', '.join(names)}.")
        return super().resolve_command(ctx, args)


@click.group(cls=ServeByDefault, default="serve", default_if_no_args=True)
@click.version_option(__version__, prog_name="micro-dashboard")
def cli() -> None:
    """A local Snowplow collector, validator, live UI and test API in one process.

    With no command, runs `serve` on 127.0.0.1:9091; `micro-dashboard serve --help` lists its flags.
    """


@cli.command()
@click.option("--host", envvar=env_var("host"), default="127.0.0.1", show_default=True,
              help="Interface to listen on.")
@click.option("-p", "--port", envvar=env_var("port"), type=int, default=9091, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--db", envvar=env_var("db"), default=None,
              help="SQLite file to keep events in. [default: events.db in the user's data directory]")
@click.option("--max-events", envvar=env_var("max_events"), type=click.IntRange(min=0), default=None,
              help="Keep at most this many events; the oldest are deleted first; 0: no limit.  [default: 500000]")
@click.option("--max-bytes", envvar=env_var("max_bytes"), default=None,
              help="Keep the database under this size (e.g. 500M, 2G); the oldest events are deleted first; "
                   "0: no limit.  [default: 1G]")
@click.option("--max-age", envvar=env_var("max_age"), default=None,
              help="Delete events older than this: seconds, or 30m, 12h, 7d.")
@click.option("--path-alias", "path_aliases", envvar=env_var("path_aliases"), multiple=True,
              help="Map an extra two-segment path onto a collector path, e.g. "
                   "/com.acme/track=/com.snowplowanalytics.snowplow/tp2. Repeatable.")
@click.option("--enable-redirect", envvar=env_var("enable_redirect"), is_flag=True, default=False,
              help="Serve /r/tp2 click redirects.")
@click.option("--max-body-bytes", envvar=env_var("max_body_bytes"), type=click.IntRange(min=1), default=None,
              help="Largest request body accepted; bigger ones get 413 and are recorded.  [default: 2097152]")
@click.option("--cors-origin", "cors_origins", envvar=env_var("cors_origins"), multiple=True,
              help="An origin allowed to call the API from a browser (any port); repeatable.  "
                   "[default: http://localhost, http://127.0.0.1]")
@click.option("--allowed-host", "allowed_hosts", envvar=env_var("allowed_hosts"), multiple=True,
              help="A host name the UI, API and /ws answer to, besides localhost and the --host address (others get "
                   "421, against DNS rebinding; the collector answers any); repeatable.")
@click.option("--token", envvar=env_var("token"), default=None,
              help="The access token of the UI, API and /ws.  [default: none on loopback; beyond it, generated and "
                   "printed]")
@click.option("--definitions", "definitions", envvar=env_var("definitions"), multiple=True,
              type=click.Path(file_okay=False), help="A GitLab checkout (or a folder with config/events and "
              "config/metrics) whose event and metric definitions to check and count; repeatable.")
@iglu_options
@click.option("--iglu-timeout", envvar=env_var("iglu_timeout"), default=None,
              help="How long to wait for a registry: seconds, e.g. 0.5.  [default: 2]")
@click.option("--threads", envvar=env_var("threads"), type=click.IntRange(min=1), default=1024, show_default=True,
              help="Server threads; websockets and waiting requests may hold all but 16 of them.")
def serve(host, port, db, max_events, max_bytes, max_age, path_aliases, enable_redirect, max_body_bytes, cors_origins,
          allowed_hosts, token, definitions, iglu_timeout, threads, **iglu) -> None:
    """Run the collector, API and UI (the default command)."""
    from . import create_app
    from .config import Settings, parse_aliases
    from .server import Server

    try:
        aliases = parse_aliases([a for value in path_aliases for a in value.split(",") if a.strip()])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--path-alias") from exc
    overrides = {
        "host": host, "port": port, "db": db, "max_events": max_events, "max_bytes": _size(max_bytes, "--max-bytes"),
        "max_age": _duration(max_age, "--max-age"), "path_aliases": aliases or None,
        "enable_redirect": enable_redirect or None, "max_body_bytes": max_body_bytes,
        "cors_origins": list(cors_origins) or None, "iglu_timeout": _duration(iglu_timeout, "--iglu-timeout"),
        "threads": threads, "definitions": list(definitions) or None, **iglu_overrides(**iglu),
        "allowed_hosts": list(allowed_hosts) or None, "token": token,
    }
    settings = Settings.load(overrides)
    from .store import UnusableDatabase

    try:
        app = create_app(settings)
    except UnusableDatabase as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # the database's folder cannot be made
        raise click.ClickException(f"cannot use {settings.db}: {exc.strerror or exc}; pass --db with a writable "
                                   "place") from None
    server = Server(app, settings.host, settings.port)
    try:
        server.prepare()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from exc
    print_banner(settings, server.port, app.config["ACCESS_TOKEN"], app.config["STORE"].integrity)
    from .api.registries import banner_lines, news_lines

    click.echo("\n".join(banner_lines(app)))
    click.echo("Press Ctrl-C to stop.", nl=True)
    sys.stdout.flush()
    # The server runs in its own thread and the signal only sets a flag: an exception raised into the serve
    # loop at an arbitrary point can leave cheroot's locks taken, and stopping then hangs.
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, and docker stop or a Procfile runner
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    try:
        while not stopping.wait(0.5):
            for line in news_lines(app):  # a registry that failed, or answers again, is said at once
                click.echo(line)
    finally:
        server.stop()
        app.config["STORE"].close()
        click.echo("stopped; every acknowledged event is on disk")


def print_banner(settings, port: int, token: str | None, integrity: str) -> None:
    """Print where everything is, at an address others can reach, and warn when listening beyond loopback."""
    from .policy.hosts import EVERY_INTERFACE, is_loopback, reachable_address, url_host

    base = f"http://{url_host(reachable_address(settings.host))}:{port}"
    click.echo(f"micro-dashboard {__version__}")
    if not is_loopback(settings.host):
        where = "every interface" if settings.host in EVERY_INTERFACE else "an address other machines can reach"
        click.echo(f"  warning: listening on {settings.host} ({where}): anyone who can reach port {port} can send "
                   "events; the UI, API and live feed need the token below")
    click.echo(f"  collector  {base}  (point your tracker's endpoint here)")
    click.echo(f"  UI         {base}/" + (f"?token={token}" if token else ""))
    click.echo(f"  API        {base}/micro/good  {base}/api/events  {base}/api/openapi.json")
    if token:
        click.echo(f"  token      {token}  (send 'Authorization: Bearer {token}'; the UI link above sets a cookie)")
    click.echo(f"  database   {settings.db}  ({integrity})")
    click.echo(f"  retention  {retention(settings)}")


for command in (schemas_group, schema_command, validate_command, demo_command):
    cli.add_command(command)


def retention(settings) -> str:
    """Say how much the database keeps, as the banner shows it."""
    bounds = [f"{settings.max_events:,} events" if settings.max_events else "",
              describe_size(settings.max_bytes) if settings.max_bytes else "",
              f"{settings.max_age:g} s" if settings.max_age else ""]
    said = [b for b in bounds if b]
    if not said:
        return "everything (no --max-events, --max-bytes or --max-age): the database grows without bound"
    return f"the newest {' / '.join(said)}, whichever is reached first (--max-events, --max-bytes, --max-age)"


def _size(text: str | None, flag: str) -> int | None:
    """Parse a size flag, or say what a size looks like."""
    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size: give bytes (1048576) or 500M, 2G", param_hint=flag) from None


def _duration(text: str | None, flag: str) -> float | None:
    """Parse a duration flag, or say what a duration looks like."""
    if not text:
        return None
    try:
        return parse_duration(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration: give seconds (90, 0.5) or 30s, 15m, 12h, 7d",
                                 param_hint=flag) from None



def main() -> None:
    """Run the command line."""
    cli()

from .export import export_command  # noqa: E402

cli.add_command(export_command)

from .tail import tail_command  # noqa: E402

cli.add_command(tail_command)

from .gitlab.generate import generate_group  # noqa: E402

cli.add_command(generate_group)
