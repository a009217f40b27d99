"""Build the schema checker the pipeline uses from the settings, with the database's schema cache."""

from __future__ import annotations

from .config import Settings
from .iglu import IgluChecker, Resolver, build_resolver
from .iglu.resolver import SchemaCache


def build_resolver_for(settings: Settings, cache: SchemaCache | None) -> Resolver:
    """Return the resolver the settings describe, caching fetched schemas in `cache`."""
    return build_resolver(
        iglu_dirs=settings.iglu_dirs, registries=settings.iglu_registries, config=settings.iglu_resolver,
        cache=cache, defaults=settings.iglu_defaults, timeout=settings.iglu_timeout,
    )


def build_checker(settings: Settings, cache: SchemaCache | None) -> IgluChecker:
    """Return the checker for these settings."""
    return IgluChecker(build_resolver_for(settings, cache), strict=settings.strict)
