"""Commands about schemas: `schemas pull`, `schema check` and `validate FILE` (the pipeline, offline)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import requests

from .config import Settings, env_var
from .iglu import EmbeddedRegistry, pull_schemas
from .iglu_setup import build_checker, build_resolver_for
from .pipeline import Event, Outcome, RawPayload, ingest
from .snowplow import PAYLOAD_DATA_SCHEMA, SNOWPLOW_VENDOR
from .store.schema_cache import SchemaCache


def iglu_options(f: Callable) -> Callable:
    """Add the options that say where schemas come from (shared by serve and the schema commands)."""
    options = [
        click.option("--iglu-dir", "iglu_dirs", envvar=env_var("iglu_dirs"), multiple=True,
                     help="A static Iglu repository on disk (schemas/<vendor>/<name>/jsonschema/<version>). "
                          "Repeatable."),
        click.option("--iglu-registry", "iglu_registries", envvar=env_var("iglu_registries"), multiple=True,
                     help="An Iglu registry URL, optionally followed by ,APIKEY. Repeatable."),
        click.option("--iglu", "iglu_resolver", envvar=env_var("iglu_resolver"), default=None,
                     help="A resolver config file in Snowplow's resolver-config format."),
        click.option("--no-default-registries", envvar=env_var("iglu_defaults"), is_flag=True, default=False,
                     help="Do not ask Iglu Central and GitLab's registry."),
        click.option("--strict", envvar=env_var("strict"), is_flag=True, default=False,
                     help="Treat schemas that could not be checked (registry unreachable) as invalid."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def iglu_overrides(iglu_dirs, iglu_registries, iglu_resolver, no_default_registries, strict) -> dict[str, Any]:
    """Turn the iglu options into Settings overrides."""
    return {"iglu_dirs": list(iglu_dirs) or None, "iglu_registries": list(iglu_registries) or None,
            "iglu_resolver": iglu_resolver, "iglu_defaults": False if no_default_registries else None,
            "strict": strict or None}


def _settings(db: str | None, **iglu: Any) -> Settings:
    return Settings.load({"db": db, **iglu_overrides(**iglu)})


@click.group("schemas")
def schemas_group() -> None:
    """Manage the schema cache kept in the database."""


@schemas_group.command("pull")
@click.option("--from", "source", required=True,
              help="A local clone of a registry (a folder), or an Iglu Server URL ending in /api.")
@click.option("--vendor", default=None, help="Only this vendor's schemas, e.g. com.snowplowanalytics.snowplow.")
@click.option("--apikey", default=None, help="The Iglu Server API key.")
@click.option("--db", envvar=env_var("db"), default=None, help="The database whose schema cache to fill.")
def pull(source: str, vendor: str | None, apikey: str | None, db: str | None) -> None:
    """Fill the schema cache ahead of time, so the dashboard validates with no network."""
    settings = Settings.load({"db": db})
    Path(settings.db).parent.mkdir(parents=True, exist_ok=True)
    cache = SchemaCache(settings.db)
    if urlsplit(source).scheme in ("http", "https"):
        pulled = _pull_from_server(source.rstrip("/"), apikey, vendor, cache)
    else:
        if not Path(source).is_dir():
            raise click.ClickException(f"{source} is neither a folder nor an http(s) URL")
        pulled = pull_schemas(EmbeddedRegistry(source, name=f"local {source}"), cache, vendor)
    cache.close()
    click.echo(f"pulled {len(pulled)} schemas into {settings.db}")


def _pull_from_server(base: str, apikey: str | None, vendor: str | None, cache: SchemaCache) -> list[str]:
    """Copy every schema an Iglu Server lists (GET {base}/schemas) into the cache."""
    if not base.endswith("/api"):
        raise click.ClickException("a static registry cannot list its schemas: pull from a local clone "
                                   "(--from DIR) or from an Iglu Server URL ending in /api")
    headers = {"apikey": apikey} if apikey else {}
    try:
        listing = requests.get(f"{base}/schemas", headers=headers, timeout=10).json()
    except (requests.RequestException, ValueError) as exc:
        raise click.ClickException(f"could not list schemas at {base}/schemas: {exc}") from exc
    if not isinstance(listing, list) or not all(isinstance(uri, str) for uri in listing):
        raise click.ClickException(f"{base}/schemas did not answer a list of iglu URIs (check the apikey)")
    pulled = []
    for uri in listing:
        path = uri.removeprefix("iglu:")
        if vendor and not path.startswith(vendor + "/"):
            continue
        try:
            answer = requests.get(f"{base}/schemas/{path}", headers=headers, timeout=10)
            schema = answer.json() if answer.ok else None
        except (requests.RequestException, ValueError) as exc:
            click.echo(f"skipped {uri}: {exc}", err=True)
            continue
        if isinstance(schema, dict):
            cache.put(uri, schema, base)
            pulled.append(uri)
        else:
            click.echo(f"skipped {uri}: HTTP {answer.status_code}, not a JSON schema", err=True)
    return pulled


@click.command("schema")
@click.argument("action", type=click.Choice(["check"]))
@click.argument("uri")
@iglu_options
@click.option("--db", envvar=env_var("db"), default=None, help="The database whose schema cache to use.")
def schema_command(action: str, uri: str, db: str | None, **iglu: Any) -> None:
    """Say whether a schema (iglu:vendor/name/jsonschema/1-0-0) resolves, and where from."""
    settings = _settings(db, **iglu)
    Path(settings.db).parent.mkdir(parents=True, exist_ok=True)
    cache = SchemaCache(settings.db)
    try:
        resolution = build_resolver_for(settings, cache).lookup(uri)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        cache.close()
    if resolution.found:
        click.echo(f"{uri} resolves from {resolution.where()}")
        return
    click.echo(f"{uri} does not resolve ({resolution.status}):", err=True)
    if not resolution.history:
        click.echo("  no registry is configured: give --iglu-dir, --iglu-registry or --iglu", err=True)
    for attempt in resolution.history:
        errors = ", ".join(e.get("message") or e["error"] for e in attempt["errors"])
        click.echo(f"  {attempt['repository']}: {errors}", err=True)
    sys.exit(1)


def payloads_from_file(text: str) -> list[RawPayload]:
    """Read captured requests: a tp2 body, a request object, an event's parameters, or GET URLs one a line."""
    now = int(time.time() * 1000)

    def raw(method: str, path: str, query: str = "", body: bytes | None = None,
            content_type: str | None = None) -> RawPayload:
        vendor, _, version = path.strip("/").partition("/")
        if path in ("/i", "/ice.png"):
            vendor, version = SNOWPLOW_VENDOR, "tp1"
        return RawPayload(method=method, path=path, vendor=vendor, version=version, querystring=query, body=body,
                          body_size=len(body or b""), content_type=content_type, headers=[], ip="127.0.0.1",
                          useragent=None, referer=None, hostname="localhost", network_userid=None, timestamp=now)

    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        data = json.loads(stripped)
        items = data if isinstance(data, list) else [data]
        out = []
        for item in items:
            if isinstance(item, dict) and "method" in item and "path" in item:  # a request from /api/events/<id>
                body = item.get("body")
                out.append(raw(item["method"], item["path"], item.get("querystring") or "",
                               body.encode("utf-8") if isinstance(body, str) else None, item.get("content_type")))
            elif isinstance(item, dict) and "schema" in item and "data" in item:  # a tp2 POST body
                out.append(raw("POST", f"/{SNOWPLOW_VENDOR}/tp2", "", json.dumps(item).encode(),
                               "application/json"))
            else:  # one event's parameters
                body = {"schema": PAYLOAD_DATA_SCHEMA, "data": [item]}
                out.append(raw("POST", f"/{SNOWPLOW_VENDOR}/tp2", "", json.dumps(body).encode(),
                               "application/json"))
        return out
    out = []
    for line in stripped.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            parts = urlsplit(line)
            out.append(raw("GET", parts.path or "/i", parts.query))
    return out


def describe(event: Event) -> str:
    """Name an event for a verdict line."""
    f = event.fields
    what = f.get("event_name") or f.get("event") or "?"
    if f.get("event") == "struct":
        what = f"struct {f.get('se_category')} / {f.get('se_action')}"
    return f"{f.get('event_id', '?')}  {what}"


@click.command("validate")
@click.argument("file", type=click.File("r"))
@iglu_options
@click.option("--db", envvar=env_var("db"), default=None, help="The database whose schema cache to use.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON verdict per event.")
def validate_command(file, db: str | None, as_json: bool, **iglu: Any) -> None:
    """Run the pipeline on captured requests in FILE (or - for stdin) and print a verdict per event."""
    settings = _settings(db, **iglu)
    Path(settings.db).parent.mkdir(parents=True, exist_ok=True)
    cache = SchemaCache(settings.db)
    checker = build_checker(settings, cache)
    try:
        payloads = payloads_from_file(file.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {file.name}: {exc}") from exc
    invalid = 0
    for raw in payloads:
        outcome: Outcome = ingest(raw, checker)
        for failure in outcome.failures:
            invalid += 1
            _print_verdict(as_json, "invalid", f"{raw.method} {raw.path}", [p.message for p in failure.problems])
        for event in outcome.events:
            invalid += not event.valid
            status = "invalid" if not event.valid else ("unverified" if event.unverified else "valid")
            notes = [p.message for f in event.failures for p in f.problems]
            notes += [e.note for e in event.entities if e.status == "unverified" and e.note]
            _print_verdict(as_json, status, describe(event), notes)
    cache.close()
    sys.exit(1 if invalid else 0)


def _print_verdict(as_json: bool, status: str, what: str, notes: list[str]) -> None:
    if as_json:
        click.echo(json.dumps({"status": status, "event": what, "problems": notes}))
        return
    mark = {"valid": click.style("✓ valid", fg="green"), "invalid": click.style("✗ invalid", fg="red"),
            "unverified": click.style("? unverified", fg="yellow")}[status]
    click.echo(f"{mark}  {what}")
    for note in notes:
        click.echo(f"    {note}")
