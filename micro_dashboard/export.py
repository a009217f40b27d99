"""Streaming exports of stored events: NDJSON (canonical JSON form) and the 131-column enriched TSV."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .filters import Filter, FilterError, parse_args
from .pipeline.fields import expand_json_form, to_tsv_line
from .store import Store, UnusableDatabase
from .store.reads import export_fields

FORMATS = ("ndjson", "tsv")


def ndjson_lines(store: Store, flt: Filter) -> Iterator[str]:
    """Yield one canonical-JSON event per line, oldest first."""
    for fields in export_fields(store, flt):
        yield json.dumps(expand_json_form(fields), ensure_ascii=False) + "\n"


def tsv_lines(store: Store, flt: Filter) -> Iterator[str]:
    """Yield one enriched TSV line per event, oldest first."""
    for fields in export_fields(store, flt):
        yield to_tsv_line(fields) + "\n"


def lines(store: Store, flt: Filter, fmt: str) -> Iterator[str]:
    """Yield the export lines of a format."""
    return ndjson_lines(store, flt) if fmt == "ndjson" else tsv_lines(store, flt)


@click.command("export")
@click.option("--db", envvar="MICRO_DASHBOARD_DB", default=None,
              help="The SQLite file to read. [default: events.db in the user's data directory]")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="ndjson", show_default=True,
              help="ndjson: one canonical JSON event per line; tsv: Snowplow's enriched TSV.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="A filter as in the API, e.g. app_id=web or gitlab_standard.project_id=7. Repeatable.")
@click.option("--search", default=None, help="The search-box language, e.g. 'app:web -is:valid'.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write here instead of standard output.")
def export_command(db: str | None, fmt: str, filters: tuple[str, ...], search: str | None, output) -> None:
    """Export stored events, oldest first, as NDJSON or enriched TSV."""
    from .config import Settings

    pairs = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} must look like KEY=VALUE", param_hint="--filter")
        pairs.append((key.strip(), value))
    if search:
        pairs.append(("search", search))
    try:
        flt = parse_args(pairs)
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="--filter") from exc
    path = db or Settings.load().db
    if not Path(path).is_file():
        raise click.ClickException(f"no database at {path}: pass --db with the file `serve` writes to")
    try:
        store = Store(path, readonly=True)  # the dashboard may be writing it right now
    except UnusableDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        if pending := store.undecoded_count():
            click.echo(f"note: {pending} received requests are not decoded yet and are not in this export "
                       "(start the dashboard on this database to decode them)", err=True)
        for line in lines(store, flt, fmt):
            output.write(line)
        output.flush()
    except BrokenPipeError:  # `| head` closed the pipe: that is fine
        sys.stderr.close()
    finally:
        store.close()
