"""Build the schema checker the pipeline uses, and re-check unverified events once their schema resolves."""

from __future__ import annotations

import logging
import threading
from typing import Any

from .config import Settings
from .iglu import IgluChecker, Resolver, build_resolver
from .pipeline import Verdict
from .store import Store, revalidation

log = logging.getLogger(__name__)


class RevalidatingChecker:
    """An Iglu checker that, when a schema that could not be checked before resolves, re-checks stored events."""

    def __init__(self, checker: IgluChecker, store: Store):
        self.checker, self.store = checker, store
        self.resolver: Resolver = checker.resolver
        self._lock = threading.Lock()
        self._unverified: set[str] = set(revalidation.unverified_schemas(store))

    def check(self, schema: str, data: Any) -> Verdict:
        """Check one self-describing JSON; remember schemas that could not be checked."""
        verdict = self.checker.check(schema, data)
        with self._lock:
            if verdict.status == "unverified":
                self._unverified.add(schema)
                return verdict
            if schema not in self._unverified:
                return verdict
            self._unverified.discard(schema)
        # Off the request path: the tracker's answer must not wait for old events to be re-checked.
        threading.Thread(target=self.revalidate, args=(schema,), name="iglu-revalidate", daemon=True).start()
        return verdict

    def revalidate(self, schema: str) -> int:
        """Re-check every stored entity of `schema` that was left unverified; return how many were updated."""
        updated = 0
        for entity in revalidation.unverified_entities(self.store, schema):
            try:
                verdict = self.checker.check(schema, entity["data"])
                if verdict.status != "unverified":
                    revalidation.record_revalidation(self.store, entity, verdict)
                    updated += 1
            except Exception:  # one bad row must not stop the others from being re-checked
                log.exception("re-validating entity %s failed", entity["id"])
        return updated


def build_resolver_for(settings: Settings, store: Store | None) -> Resolver:
    """Return the resolver the settings describe, caching fetched schemas in the store."""
    return build_resolver(
        iglu_dirs=settings.iglu_dirs, registries=settings.iglu_registries, config=settings.iglu_resolver,
        cache=store, defaults=settings.iglu_defaults, timeout=settings.iglu_timeout,
    )


def build_checker(settings: Settings, store: Store) -> RevalidatingChecker:
    """Return the checker for these settings."""
    checker = IgluChecker(build_resolver_for(settings, store), strict=settings.strict)
    return RevalidatingChecker(checker, store)
