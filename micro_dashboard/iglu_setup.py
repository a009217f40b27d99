"""Build the schema checker the pipeline uses, and re-check unverified events once their schema resolves."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .config import Settings
from .iglu import IgluChecker, Resolver, build_resolver
from .pipeline import Verdict
from .store import Store, Summary, revalidation

log = logging.getLogger(__name__)


class RevalidatingChecker:
    """An Iglu checker that, when a schema that could not be checked before resolves, re-checks stored events."""

    def __init__(self, checker: IgluChecker, store: Store):
        self.checker, self.store = checker, store
        self.resolver: Resolver = checker.resolver
        self._lock = threading.Lock()
        self._unverified: set[str] = set(revalidation.unverified_schemas(store))
        self._resolved: set[str] = set()  # schemas that were unverified once and resolved since
        # One background worker: re-checks run off the request path, in order, never many at once.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iglu-revalidate")
        store.on_commit(self._recheck_late_arrivals)

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
            self._resolved.add(schema)
        self._revalidate_in_background(schema)
        return verdict

    def _revalidate_in_background(self, schema: str) -> None:
        self._background.submit(self.revalidate, schema)

    def idle(self) -> None:
        """Wait until every re-check queued so far has run."""
        self._background.submit(lambda: None).result()

    def _recheck_late_arrivals(self, summaries: list[Summary]) -> None:
        """Re-check a just-committed unverified row whose schema resolved while it was on its way to the store.

        Without this, a row checked just before its schema resolved, and committed just after the re-check
        queried the store, would stay unverified.
        """
        rows = [s.id for s in summaries if s.unverified]
        with self._lock:
            # Offline, every row is unverified and nothing has resolved yet: no query on each commit then.
            if not rows or not self._resolved:
                return
        schemas = revalidation.unverified_schemas(self.store, rows)
        with self._lock:
            resolved = [schema for schema in schemas if schema in self._resolved and schema not in self._unverified]
        for schema in resolved:
            self._revalidate_in_background(schema)

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
