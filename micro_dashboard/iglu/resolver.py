"""Resolve iglu URIs to schemas across registries, with Snowplow's lookup order, caching and back-off."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol

from micro_dashboard.iglu.config import ResolverConfigError, read_resolver_config
from micro_dashboard.iglu.keys import SchemaKey
from micro_dashboard.iglu.limits import REMEMBERED_URIS, Bounded
from micro_dashboard.iglu.registries import (
    DEFAULT_TIMEOUT,
    EmbeddedRegistry,
    Lookup,
    Registry,
    default_registries,
    parse_registry_option,
)


class SchemaCache(Protocol):
    """Durable storage for schemas fetched over HTTP, so they resolve again with no network."""

    def get(self, uri: str) -> tuple[dict[str, Any], str] | None:
        """Return the stored schema and the name of the registry it came from, or None."""
        ...

    def put(self, uri: str, schema: dict[str, Any], source: str) -> None:
        """Store a schema fetched from the registry named `source`."""
        ...


class MemorySchemaCache:
    """A SchemaCache in a dict, for tests and for runs without a database."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[dict[str, Any], str]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str) -> tuple[dict[str, Any], str] | None:
        """Return the stored schema and its source, or None."""
        with self._lock:
            return self._items.get(uri)

    def put(self, uri: str, schema: dict[str, Any], source: str) -> None:
        """Store a schema and its source."""
        with self._lock:
            self._items[uri] = (schema, source)

    def __len__(self) -> int:
        return len(self._items)


__all__ = ["MemorySchemaCache", "Resolution", "Resolver", "ResolverConfigError", "SchemaCache",
           "build_resolver", "pull_schemas"]


@dataclass
class Resolution:
    """The result of resolving one iglu URI."""

    uri: str
    status: Literal["found", "not_found", "unreachable"]
    schema: dict[str, Any] | None = None
    source: str | None = None  # the registry's name, for a found schema
    cached: bool = False  # found in the persistent SchemaCache rather than asked of the registry
    # Snowplow's ResolutionError lookupHistory: what each registry said.
    history: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # "Iglu Central (http://...): connection refused"

    @property
    def found(self) -> bool:
        """Return whether the schema resolved."""
        return self.status == "found"

    def where(self) -> str:
        """Say in words where the schema came from, or why it did not resolve."""
        if self.status == "found":
            return f"{self.source} (from the schema cache)" if self.cached else str(self.source)
        if self.status == "not_found":
            return "not found in any registry"
        return "; ".join(self.unreachable)


@dataclass
class _Attempts:
    count: int = 0
    last: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)


# Concurrent first lookups of one URI wait for one fetch; URIs share these locks (by hash) so that the locks do not
# grow with the number of distinct URIs.
KEY_LOCKS = 64


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Resolver:
    """Find schemas in registries, in Snowplow's order, remembering answers so offline work stays fast."""

    def __init__(
        self,
        registries: Iterable[Registry],
        cache: SchemaCache | None = None,
        not_found_ttl: float = 60.0,
        backoff: float = 30.0,
        cache_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        remembered: int = REMEMBERED_URIS,
    ) -> None:
        self.registries = list(registries)
        self.cache = cache
        self.not_found_ttl = not_found_ttl
        self.backoff = backoff
        self.cache_ttl = cache_ttl  # None keeps resolved schemas until `remembered` newer ones push them out
        self._clock = clock
        self._lock = threading.Lock()  # guards the maps below, never held during I/O
        # Each map keeps the `remembered` most recently used URIs, so made-up URIs cannot grow memory without end.
        self._resolved: Bounded[str, tuple[dict[str, Any], str, bool, float]] = Bounded(remembered)
        # Answers kept until their expiry: not found anywhere, or refused by a registry (too large, too deep).
        self._settled: Bounded[str, tuple[float, Resolution]] = Bounded(remembered)
        self._attempts: Bounded[tuple[str, str], _Attempts] = Bounded(remembered)
        self._down: dict[str, tuple[float, str]] = {}  # registry name -> (retry after, why it failed)
        self._key_locks = tuple(threading.Lock() for _ in range(KEY_LOCKS))

    def ordered(self, key: SchemaKey) -> list[Registry]:
        """Return the registries in the order Snowplow asks them for `key`."""
        return sorted(self.registries, key=lambda r: (not r.matches(key), r.class_priority, r.priority))

    def lookup(self, uri: str | SchemaKey) -> Resolution:
        """Resolve an iglu URI; raise InvalidSchemaKey if it is malformed."""
        key = uri if isinstance(uri, SchemaKey) else SchemaKey.parse(uri)
        quick = self._remembered(key.uri)
        if quick is not None:
            return quick
        with self._key_locks[hash(key.uri) % KEY_LOCKS]:
            # Another thread may have resolved it while this one waited.
            quick = self._remembered(key.uri)
            return quick if quick is not None else self._resolve(key)

    def where(self, uri: str | SchemaKey) -> str:
        """Say where the schema for `uri` comes from (or why it does not resolve)."""
        return self.lookup(uri).where()

    def registry_states(self) -> list[dict[str, Any]]:
        """Say, reading only, what each registry last did: answered ("ok"), failed ("unreachable"), or nothing yet."""
        with self._lock:
            down = {name: why for name, (_retry, why) in self._down.items()}
            # get() in the maps' own order marks each entry used in that same order: their order is unchanged.
            resolved = [self._resolved.get(uri) for uri in self._resolved]
            answered = {hit[1] for hit in resolved if hit is not None and not hit[2]}
            failed: dict[str, str] = {}
            failed_at: dict[str, str] = {}
            for uri, name in self._attempts:
                attempts = self._attempts.get((uri, name)) or _Attempts()
                for error in attempts.errors:
                    if error["error"] == "NotFound":
                        answered.add(name)
                    else:
                        failed[name] = error["message"]
                        failed_at[name] = max(failed_at.get(name, ""), attempts.last)
        states = []
        for registry in self.registries:
            name = registry.name
            # A registry in its back-off failed last; one that never answered but failed is still down.
            why = down.get(name) or (failed.get(name) if name not in answered else None)
            state = "unreachable" if why else "ok" if name in answered else "not asked yet"
            states.append({"name": name, "location": registry.location, "kind": registry.kind, "state": state,
                           "reason": why or None, "failed_at": (failed_at.get(name) or None) if why else None})
        return states

    def forget(self, uri: str | None = None) -> None:
        """Drop remembered answers (one URI's, or all and the back-offs) so the next lookup asks again."""
        with self._lock:
            if uri is None:
                self._resolved.clear()
                self._settled.clear()
                self._down.clear()
            else:
                self._resolved.pop(uri)
                self._settled.pop(uri)

    def footprint(self) -> dict[str, int]:
        """Return how many entries each in-memory map holds (each at most `remembered`)."""
        with self._lock:
            return {"resolved": len(self._resolved), "settled": len(self._settled),
                    "attempts": len(self._attempts), "down": len(self._down)}

    def _remembered(self, uri: str) -> Resolution | None:
        """Return a resolution answered from memory: a resolved schema or a fresh not-found."""
        now = self._clock()
        with self._lock:
            hit = self._resolved.get(uri)
            if hit is not None and (self.cache_ttl is None or now - hit[3] < self.cache_ttl):
                return Resolution(uri, "found", schema=hit[0], source=hit[1], cached=hit[2])
            settled = self._settled.get(uri)
            if settled is not None and now < settled[0]:
                answer = settled[1]
                return Resolution(uri, answer.status, history=[dict(h) for h in answer.history],
                                  unreachable=list(answer.unreachable))
        return None

    def _resolve(self, key: SchemaKey) -> Resolution:
        uri = key.uri
        history: list[dict[str, Any]] = []
        unreachable: list[str] = []
        refused = failed = False
        cache_checked = False
        for registry in self.ordered(key):
            if registry.kind == "http" and not cache_checked:
                cache_checked = True
                stored = self.cache.get(uri) if self.cache is not None else None
                if stored is not None:
                    return self._remember(uri, stored[0], stored[1], cached=True)
            why = self._backing_off(registry)
            if why is not None:
                failed = True
                message = f"not asked again yet after a recent failure: {why}"
                history.append(self._record(uri, registry, Lookup("error", message=message), counted=False))
                unreachable.append(f"could not reach {registry.describe()}: {why} (retried after {self.backoff:g} s)")
                continue
            answer = registry.lookup(key)
            if answer.status == "found" and answer.schema is not None:
                if registry.kind == "http" and self.cache is not None:
                    self.cache.put(uri, answer.schema, registry.name)
                return self._remember(uri, answer.schema, registry.name, cached=False)
            history.append(self._record(uri, registry, answer))
            if answer.status == "refused":
                refused = True
                unreachable.append(f"{registry.describe()} answered with a schema micro-dashboard does not read: "
                                   f"{answer.message}")
            if answer.status == "error":
                failed = True
                unreachable.append(f"could not reach {registry.describe()}: {answer.message}")
                if registry.kind == "http":
                    with self._lock:
                        self._down[registry.name] = (self._clock() + self.backoff, str(answer.message))
        if not cache_checked and self.cache is not None:
            stored = self.cache.get(uri)
            if stored is not None:
                return self._remember(uri, stored[0], stored[1], cached=True)
        if not history:
            # Nothing was asked, so nothing said "not found": the schema is unchecked, not the sender's mistake.
            why = "no Iglu registry is configured (give --iglu-dir, --iglu-registry or --iglu)"
            unreachable.append(why)
            history.append({"repository": "none", "errors": [{"error": "RepoFailure", "message": why}],
                            "attempts": 0, "lastAttempt": _now_iso()})
        publisher = _publisher_not_configured(key, self.registries)
        if publisher is not None:
            # The folders and registries asked do not have it, but the registry that publishes the vendor's schemas
            # was not asked (e.g. --no-default-registries): that is not the sender's mistake, only unchecked.
            unreachable.append(f"not asked: {publisher.describe()}, the default registry that publishes "
                               f"{key.vendor} schemas, is not configured")
        if unreachable:
            resolution = Resolution(uri, "unreachable", history=history, unreachable=unreachable)
            if refused and not failed:  # asking again soon would fetch the same refused answer
                with self._lock:
                    self._settled[uri] = (self._clock() + self.not_found_ttl, resolution)
            return resolution
        with self._lock:
            self._settled[uri] = (self._clock() + self.not_found_ttl, Resolution(uri, "not_found", history=history))
        return Resolution(uri, "not_found", history=[dict(h) for h in history])

    def _backing_off(self, registry: Registry) -> str | None:
        """Return why the registry failed if it is still in its back-off period."""
        now = self._clock()
        with self._lock:
            down = self._down.get(registry.name)
            if down is None:
                return None
            if now >= down[0]:
                del self._down[registry.name]
                return None
            return down[1]

    def _record(self, uri: str, registry: Registry, answer: Lookup, counted: bool = True) -> dict[str, Any]:
        """Add one answer to the registry's attempts for `uri` and return its lookupHistory entry."""
        error = {"error": "NotFound"} if answer.status == "not_found" else \
            {"error": "RepoFailure", "message": str(answer.message)}
        with self._lock:
            attempts = self._attempts.setdefault((uri, registry.name), _Attempts())
            if counted:
                attempts.count += 1
                attempts.last = _now_iso()
            if error not in attempts.errors:
                attempts.errors.append(error)
            return {
                "repository": registry.name,
                "errors": [dict(e) for e in attempts.errors],
                "attempts": attempts.count,
                "lastAttempt": attempts.last or _now_iso(),
            }

    def _remember(self, uri: str, schema: dict[str, Any], source: str, cached: bool) -> Resolution:
        with self._lock:
            self._resolved[uri] = (schema, source, cached, self._clock())
            self._settled.pop(uri)
        return Resolution(uri, "found", schema=schema, source=source, cached=cached)

    @classmethod
    def from_resolver_config(
        cls,
        config: dict[str, Any] | str | Path,
        cache: SchemaCache | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **options: Any,
    ) -> Resolver:
        """Build a resolver from Snowplow's resolver-config 1-0-x (a dict, JSON text, or a file path)."""
        registries, cache_ttl = read_resolver_config(config, timeout)
        options.setdefault("cache_ttl", cache_ttl)
        return cls(registries, cache=cache, **options)


def build_resolver(
    iglu_dirs: Iterable[str | Path] = (),
    registries: Iterable[str] = (),
    config: dict[str, Any] | str | Path | None = None,
    cache: SchemaCache | None = None,
    defaults: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    **options: Any,
) -> Resolver:
    """Build the resolver the CLI describes: --iglu-dir DIRs, --iglu-registry URL[,apikey], --iglu FILE."""
    if config is not None:
        resolver = Resolver.from_resolver_config(config, cache=cache, timeout=timeout, **options)
        extra: list[Registry] = []
    else:
        resolver = Resolver([], cache=cache, **options)
        extra = default_registries(timeout) if defaults else []
    local = [EmbeddedRegistry(d, name=f"local {d}") for d in iglu_dirs]
    remote = [parse_registry_option(r, timeout) for r in registries]
    resolver.registries = local + resolver.registries + remote + extra
    return resolver


def pull_schemas(source: EmbeddedRegistry, cache: SchemaCache, vendor: str | None = None) -> list[str]:
    """Copy every schema of a local registry clone (or one vendor's) into the cache; return their URIs."""
    pulled = []
    for key in source.keys(vendor):
        answer = source.lookup(key)
        if answer.status == "found" and answer.schema is not None:
            cache.put(key.uri, answer.schema, source.name)
            pulled.append(key.uri)
    return pulled


def _publisher_not_configured(key: SchemaKey, registries: Iterable[Registry]) -> Registry | None:
    """Return the default registry that publishes this vendor's schemas (GitLab's for com.gitlab) when none of the
    configured registries is it, else None."""
    configured = {r.describe() for r in registries}
    return next((r for r in default_registries() if r.vendor_prefixes and r.matches(key)
                 and r.describe() not in configured), None)
