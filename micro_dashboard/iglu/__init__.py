"""Iglu: schema keys, registries, a resolver with caching and back-off, and draft-4 validation."""

from micro_dashboard.iglu.keys import InvalidSchemaKey, SchemaKey
from micro_dashboard.iglu.registries import (
    EmbeddedRegistry,
    HttpRegistry,
    Lookup,
    Registry,
    default_registries,
    parse_registry_option,
)
from micro_dashboard.iglu.resolver import (
    MemorySchemaCache,
    Resolution,
    Resolver,
    ResolverConfigError,
    SchemaCache,
    build_resolver,
    pull_schemas,
)
from micro_dashboard.iglu.validation import IgluChecker

__all__ = [
    "EmbeddedRegistry",
    "HttpRegistry",
    "IgluChecker",
    "InvalidSchemaKey",
    "Lookup",
    "MemorySchemaCache",
    "Registry",
    "Resolution",
    "Resolver",
    "ResolverConfigError",
    "SchemaCache",
    "SchemaKey",
    "build_resolver",
    "default_registries",
    "parse_registry_option",
    "pull_schemas",
]
