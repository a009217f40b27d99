"""Iglu registries: static repositories on disk and HTTP registries (static sites or Iglu Server)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from micro_dashboard.iglu.fetch import FetchError, TooLarge, fetch
from micro_dashboard.iglu.keys import SchemaKey
from micro_dashboard.iglu.limits import MAX_SCHEMA_BYTES

# Seconds a registry has for its whole answer (not per read), from connecting to the last byte.
DEFAULT_TIMEOUT = 2.0
# Snowplow's bad-row schema caps a RepoFailure message at 256 characters.
MAX_MESSAGE = 256


@dataclass
class Lookup:
    """What one registry answered for one schema key."""

    # "refused": the registry answered, with a schema micro-dashboard will not read (too large, nested too deeply
    # to parse): that schema's problem, so the registry is not backed off as it is for an "error".
    status: Literal["found", "not_found", "error", "refused"]
    schema: dict[str, Any] | None = None
    message: str | None = None  # why it is an error: "connection refused", "timed out after 2 s", ...


class Registry:
    """Common attributes of every registry kind."""

    kind: str = "registry"
    # Snowplow's class priority: embedded repositories are asked before HTTP ones.
    class_priority: int = 100

    def __init__(
        self, name: str, priority: int = 0, vendor_prefixes: list[str] | tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.priority = priority
        self.vendor_prefixes = list(vendor_prefixes)

    @property
    def location(self) -> str:
        """Return where the registry lives (a path or a URL)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Return the registry's name and location, for messages (once, when the name is the location)."""
        return self.name if self.name == self.location else f"{self.name} ({self.location})"

    def matches(self, key: SchemaKey) -> bool:
        """Return whether one of the registry's vendor prefixes matches the key's vendor."""
        return any(key.vendor.startswith(prefix) for prefix in self.vendor_prefixes)

    def lookup(self, key: SchemaKey) -> Lookup:
        """Return the registry's answer for `key`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()} priority={self.priority}>"


class EmbeddedRegistry(Registry):
    """A static Iglu repository on disk: `<path>/schemas/<vendor>/<name>/<format>/<version>`."""

    kind = "embedded"
    class_priority = 1

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        priority: int = 0,
        vendor_prefixes: list[str] | tuple[str, ...] = (),
    ) -> None:
        given = Path(path).expanduser()
        # Accept both the repository root and its `schemas` directory itself.
        self.root = given / "schemas" if (given / "schemas").is_dir() else given
        super().__init__(name or f"local {given}", priority, vendor_prefixes)
        self.given = given

    @property
    def location(self) -> str:
        """Return the directory the schemas are read from."""
        return str(self.root)

    def lookup(self, key: SchemaKey) -> Lookup:
        """Read the schema file for `key`, if there is one."""
        file = self.root.joinpath(key.vendor, key.name, key.format, key.version)
        try:
            with file.open("rb") as opened:
                data = opened.read(MAX_SCHEMA_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return Lookup("not_found")
        except OSError as exc:
            return Lookup("error", message=_clip(f"cannot read {file}: {exc.strerror or exc}"))
        if len(data) > MAX_SCHEMA_BYTES:
            return Lookup("refused", message=_clip(f"{file} is more than the {MAX_SCHEMA_BYTES:,} bytes a schema "
                                                   "may be"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return Lookup("error", message=_clip(f"{file} is not UTF-8 text"))
        return _parse_schema(text, str(file))

    def keys(self, vendor: str | None = None) -> list[SchemaKey]:
        """List every schema key in the repository, optionally only one vendor's (exactly that vendor)."""
        found = []
        for file in sorted(self.root.glob("*/*/*/*")):
            if not file.is_file():
                continue
            parts = file.relative_to(self.root).parts
            if vendor and parts[0] != vendor:
                continue
            try:
                found.append(SchemaKey.parse("iglu:" + "/".join(parts)))
            except ValueError:
                continue  # a README or stray file, not a schema
        return found


class HttpRegistry(Registry):
    """An HTTP registry: a static Iglu repository site, or an Iglu Server whose base ends in `/api`."""

    kind = "http"
    class_priority = 100

    def __init__(
        self,
        uri: str,
        apikey: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        name: str | None = None,
        priority: int = 0,
        vendor_prefixes: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.uri = uri.rstrip("/")
        super().__init__(name or self.uri, priority, vendor_prefixes)
        self.apikey = apikey
        self.timeout = timeout  # for the whole answer: a deadline, not a wait per read

    @property
    def location(self) -> str:
        """Return the registry's base URL."""
        return self.uri

    def schema_url(self, key: SchemaKey) -> str:
        """Return the URL the schema for `key` is served at."""
        return f"{self.uri}/schemas/{key.path}"

    def lookup(self, key: SchemaKey) -> Lookup:
        """GET the schema for `key` within the deadline and the size cap, every problem an error answer."""
        headers = {"Accept": "application/json"}
        # Only Iglu Server takes a key; a static site must not be sent one.
        if self.apikey and self.uri.endswith("/api"):
            headers["apikey"] = self.apikey
        url = self.schema_url(key)
        try:
            response = fetch(url, headers, self.timeout, MAX_SCHEMA_BYTES)
        except TooLarge as exc:
            return Lookup("refused", message=_clip(str(exc)))
        except FetchError as exc:
            return Lookup("error", message=_clip(str(exc)))
        if response.status == 404:
            return Lookup("not_found")
        if response.status in (401, 403):
            return Lookup("error", message=f"HTTP {response.status}: access denied (check the apikey)")
        if response.status != 200:
            return Lookup("error", message=_clip(f"HTTP {response.status} {response.reason}".strip()))
        try:
            text = response.body.decode("utf-8")
        except UnicodeDecodeError:
            return Lookup("error", message=_clip(f"the answer from {url} is not UTF-8 text"))
        return _parse_schema(text, url)


def _parse_schema(text: str, where: str) -> Lookup:
    """Turn a schema document into a found answer, or an error if it is not a JSON object."""
    try:
        schema = json.loads(text)
    except RecursionError:
        return Lookup("refused", message=_clip(f"the schema at {where} is nested too deeply to read"))
    except ValueError as exc:
        return Lookup("error", message=_clip(f"the schema at {where} is not valid JSON: {exc}"))
    if not isinstance(schema, dict):
        return Lookup("error", message=_clip(f"the schema at {where} is not a JSON object"))
    return Lookup("found", schema=schema)


def _clip(message: str) -> str:
    """Cut a message to the length Snowplow's bad-row schema allows."""
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def default_registries(timeout: float = DEFAULT_TIMEOUT) -> list[Registry]:
    """Return the public registries Snowplow tools use by default, plus GitLab's for `com.gitlab`."""
    return [
        HttpRegistry("http://iglucentral.com", name="Iglu Central", priority=0, timeout=timeout),
        HttpRegistry("http://mirror01.iglucentral.com", name="Iglu Central - Mirror 01", priority=1,
                     timeout=timeout),
        HttpRegistry("https://gitlab-org.gitlab.io/iglu", name="GitLab", priority=0,
                     vendor_prefixes=["com.gitlab"], timeout=timeout),
    ]


def parse_registry_option(value: str, timeout: float = DEFAULT_TIMEOUT) -> HttpRegistry:
    """Build an HTTP registry from a `URL[,apikey]` command-line value."""
    uri, _, apikey = value.partition(",")
    uri = uri.strip()
    if not uri.startswith(("http://", "https://")):
        raise ValueError(f"registry {uri!r} must be an http(s):// URL, optionally followed by ,apikey")
    return HttpRegistry(uri, apikey=apikey.strip() or None, timeout=timeout)
