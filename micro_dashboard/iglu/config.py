"""Snowplow's resolver-config 1-0-x format: the registries a team's Micro or Enrich config names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from micro_dashboard.iglu.registries import DEFAULT_TIMEOUT, EmbeddedRegistry, HttpRegistry, Registry

# Snowplow Micro reads schemas from an `iglu-client-embedded/` folder (the name of iglu-scala-client's built-in
# embedded registry) in its configuration directory, beside its resolver config: so do we.
EMBEDDED_FOLDER = "iglu-client-embedded"


class ResolverConfigError(ValueError):
    """A resolver configuration that is not Snowplow's resolver-config 1-0-x format."""


def read_resolver_config(
    config: dict[str, Any] | str | Path, timeout: float = DEFAULT_TIMEOUT
) -> tuple[list[Registry], float | None]:
    """Return the registries a resolver config names and its cacheTtl in seconds (None: keep forever).

    A config read from a file that has an `iglu-client-embedded/` folder beside it gets that folder as a local
    registry too, as Snowplow Micro does."""
    data, base, from_file = _load_config(config)
    registries = [_registry_from_config(repo, i, base, timeout) for i, repo in enumerate(data["repositories"])]
    embedded = base / EMBEDDED_FOLDER
    if from_file and embedded.is_dir():
        registries.append(EmbeddedRegistry(embedded, name=f"Iglu Client Embedded ({embedded})"))
    ttl = data.get("cacheTtl")
    return registries, float(ttl) if isinstance(ttl, (int, float)) and ttl > 0 else None


def _load_config(config: dict[str, Any] | str | Path) -> tuple[dict[str, Any], Path, bool]:
    """Return the config's `data` object, the directory relative embedded paths are taken from, and whether that
    directory is the one the config was read from."""
    base, from_file = Path.cwd(), False
    if isinstance(config, dict):
        document = config
    else:
        text = str(config)
        if isinstance(config, str) and text.lstrip().startswith("{"):
            source = "resolver config"
        else:
            path = Path(text).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                message = f"cannot read resolver config {path}: {exc.strerror or exc}"
                raise ResolverConfigError(message) from exc
            base, source, from_file = path.resolve().parent, str(path), True
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ResolverConfigError(f"{source} is not valid JSON: {exc}") from exc
    schema = document.get("schema") if isinstance(document, dict) else None
    if not (isinstance(schema, str) and
            schema.startswith("iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-")):
        raise ResolverConfigError(
            "a resolver config must be {\"schema\": \"iglu:com.snowplowanalytics.iglu/resolver-config/"
            f"jsonschema/1-0-3\", \"data\": {{...}}}}; its schema is {schema!r}")
    data = document.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("repositories"), list):
        raise ResolverConfigError("a resolver config needs data.repositories, a list of repositories")
    return data, base, from_file


def _registry_from_config(
    repo: Any, index: int, base: Path, timeout: float
) -> Registry:
    """Build one registry from a resolver-config repository entry."""
    where = f"repositories[{index}]"
    if not isinstance(repo, dict) or not isinstance(repo.get("connection"), dict):
        raise ResolverConfigError(f"{where} needs a connection: {{\"http\": {{\"uri\": ...}}}} or "
                                  "{\"embedded\": {\"path\": ...}}")
    name = str(repo.get("name") or f"repository {index}")
    priority = repo.get("priority", 0)
    prefixes = repo.get("vendorPrefixes") or []
    if not isinstance(priority, (int, float)) or not isinstance(prefixes, list):
        raise ResolverConfigError(f"{where}: priority must be a number and vendorPrefixes a list of strings")
    connection = repo["connection"]
    if isinstance(connection.get("http"), dict) and connection["http"].get("uri"):
        http = connection["http"]
        return HttpRegistry(str(http["uri"]), apikey=http.get("apikey"), timeout=timeout, name=name,
                            priority=int(priority), vendor_prefixes=[str(p) for p in prefixes])
    if isinstance(connection.get("embedded"), dict) and connection["embedded"].get("path"):
        path = Path(str(connection["embedded"]["path"])).expanduser()
        return EmbeddedRegistry(path if path.is_absolute() else base / path, name=name,
                                priority=int(priority), vendor_prefixes=[str(p) for p in prefixes])
    raise ResolverConfigError(f"{where} ({name}): connection must be {{\"http\": {{\"uri\": ...}}}} or "
                              "{\"embedded\": {\"path\": ...}}")
