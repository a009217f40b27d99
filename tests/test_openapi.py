"""The OpenAPI document: valid OpenAPI 3.1, and describing exactly the app's /api and /micro routes."""

from __future__ import annotations

import re

from flask import Flask
from openapi_spec_validator import validate

DOCUMENTED_PREFIXES = ("/api", "/micro")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def route_operations(app: Flask) -> set[tuple[str, str]]:
    """Return (OpenAPI path, method) for every Flask rule under /api and /micro."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(DOCUMENTED_PREFIXES):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            out.update((path, m.lower()) for m in rule.methods - IGNORED_METHODS)
    return out


def documented_operations(document: dict) -> set[tuple[str, str]]:
    """Return (path, method) for every operation the document describes under /api and /micro."""
    return {(path, method) for path, item in document["paths"].items() if path.startswith(DOCUMENTED_PREFIXES)
            for method in item}


def test_document_is_valid_openapi(client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_documented_and_every_documented_route_exists(app: Flask, client) -> None:
    document = client.get("/api/openapi.json").get_json()
    routes, documented = route_operations(app), documented_operations(document)
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations with no route"


def test_collector_endpoints_are_documented(client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/i", "/{vendor}/{version}", "/health"} <= set(paths)
    assert set(paths["/{vendor}/{version}"]) == {"get", "post"}


def test_filter_parameters_are_described_on_filtered_endpoints(client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/events", "/api/wait", "/api/export.tsv", "/api/stats"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"app_id", "valid", "from", "to", "has", "q", "search"} <= names, path
    assert {"count", "timeout", "since"} <= {p["name"] for p in paths["/api/wait"]["get"]["parameters"]}
    assert "408" in paths["/api/wait"]["get"]["responses"]
