"""One Settings object: defaults < environment (MICRO_DASHBOARD_*) < CLI flags < an explicit dict."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

ENV_PREFIX = "MICRO_DASHBOARD_"


def default_db_path() -> str:
    """Return the persistent database file in the user's data directory."""
    return str(Path(platformdirs.user_data_dir("micro-dashboard")) / "events.db")


def parse_aliases(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse `/a/b=/vendor/version` path aliases, checking both sides have two segments."""
    aliases = {}
    for value in values:
        source, sep, target = value.partition("=")
        source, target = "/" + source.strip().strip("/"), "/" + target.strip().strip("/")
        if not sep or source.count("/") != 2 or target.count("/") != 2:
            raise ValueError(f"path alias {value!r} must look like /com.acme/track=/com.snowplowanalytics.snowplow/tp2")
        aliases[source] = target
    return aliases


@dataclass
class Settings:
    """Everything that can be configured, with its default."""

    host: str = "127.0.0.1"
    port: int = 9091
    db: str = field(default_factory=default_db_path)
    # Retention: the oldest events go first once either bound is reached (0 or None: no bound). At the measured
    # 11 GiB an hour of a busy sender, an unbounded database would fill a laptop's disk in an afternoon.
    max_events: int | None = 500_000
    max_bytes: int | None = 1024**3  # the database's used pages
    max_age: float | None = None  # seconds
    path_aliases: dict[str, str] = field(default_factory=dict)
    enable_redirect: bool = False
    max_body_bytes: int = 2 * 1024 * 1024
    threads: int = 1024  # server worker threads; each open websocket or waiting request holds one (idle ones are cheap)
    iglu_dirs: list[str] = field(default_factory=list)
    iglu_registries: list[str] = field(default_factory=list)  # "URL" or "URL,apikey"
    iglu_resolver: str | None = None  # a resolver-config JSON file
    iglu_defaults: bool = True  # ask Iglu Central and GitLab's registry too
    iglu_timeout: float = 2.0
    strict: bool = False
    cors_origins: list[str] = field(default_factory=lambda: ["http://localhost", "http://127.0.0.1"])
    definitions: list[str] = field(default_factory=list)  # GitLab definition folders (config/events, ...)
    allowed_hosts: list[str] = field(default_factory=list)  # Host names the UI, API and /ws answer to beyond local ones
    token: str | None = None  # the access token of the UI, API and /ws; generated when listening beyond loopback

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment, then apply explicit overrides (None values are ignored).

        Snowplow Micro's MICRO_IGLU_REGISTRY_URL (with MICRO_IGLU_API_KEY) adds one more registry, as in Micro."""
        environ = os.environ if environ is None else environ
        settings = cls()
        from_env: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(env_var(f.name))
            if raw is not None and raw.strip() != "":
                from_env[f.name] = _coerce(f.name, raw, getattr(settings, f.name))
        settings = replace(settings, **from_env)
        explicit = {k: v for k, v in (overrides or {}).items() if v is not None}
        settings = replace(settings, **explicit)
        micro = micro_registry(environ)
        if micro is not None and micro not in settings.iglu_registries:
            settings = replace(settings, iglu_registries=[*settings.iglu_registries, micro])
        return settings


# Snowplow Micro's own variables: a registry added after the configured ones (Micro's Configuration.scala).
MICRO_IGLU_REGISTRY_URL = "MICRO_IGLU_REGISTRY_URL"
MICRO_IGLU_API_KEY = "MICRO_IGLU_API_KEY"


def micro_registry(environ: Mapping[str, str]) -> str | None:
    """Return the `URL[,apikey]` registry that MICRO_IGLU_REGISTRY_URL and MICRO_IGLU_API_KEY describe, if any."""
    url = (environ.get(MICRO_IGLU_REGISTRY_URL) or "").strip()
    if not url:
        return None
    apikey = (environ.get(MICRO_IGLU_API_KEY) or "").strip()
    return f"{url},{apikey}" if apikey else url


# The environment variable of each setting, named after its command-line flag (--iglu-dir: IGLU_DIR).
ENV_NAMES = {
    "path_aliases": "PATH_ALIAS", "iglu_dirs": "IGLU_DIR", "iglu_registries": "IGLU_REGISTRY",
    "iglu_resolver": "IGLU", "iglu_defaults": "NO_DEFAULT_REGISTRIES", "cors_origins": "CORS_ORIGIN",
    "allowed_hosts": "ALLOWED_HOST",
}


def env_var(setting: str) -> str:
    """Return the environment variable that sets a setting, e.g. MICRO_DASHBOARD_IGLU_DIR for iglu_dirs."""
    return ENV_PREFIX + ENV_NAMES.get(setting, setting.upper())


def _coerce(name: str, raw: str, default: Any) -> Any:
    """Turn an environment variable's text into the type of its setting (lists are space-separated, as in click)."""
    if name == "path_aliases":
        return parse_aliases(raw.replace(",", " ").split())
    if name == "iglu_defaults":  # set by NO_DEFAULT_REGISTRIES, so inverted
        return raw.strip().lower() not in TRUE
    if isinstance(default, bool):
        return raw.strip().lower() in TRUE
    if isinstance(default, list):
        return raw.split()
    if name in ("port", "max_events", "threads", "max_body_bytes"):
        return int(raw)
    if name == "max_bytes":
        return parse_size(raw)
    if name in ("max_age", "iglu_timeout"):
        return parse_duration(raw)
    return raw


TRUE = ("1", "true", "yes", "on", "y", "t")


def parse_size(text: str) -> int:
    """Parse a size like `1073741824`, `500M`, `2G` or `512K` into bytes (powers of 1024)."""
    text = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def describe_size(size: int) -> str:
    """Return a byte count the way a person says it: 1 GiB, 500 MiB, 12345 bytes."""
    for unit, name in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= unit and size % (unit // 16 or 1) == 0:
            return f"{size / unit:g} {name}"
    return f"{size} bytes"


def parse_duration(text: str) -> float:
    """Parse a duration like `90`, `30s`, `15m`, `12h` or `7d` into seconds."""
    text = str(text).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)
