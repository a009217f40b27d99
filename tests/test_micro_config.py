"""Snowplow Micro's configuration conventions: MICRO_IGLU_REGISTRY_URL / MICRO_IGLU_API_KEY, and the
`iglu-client-embedded/` folder beside a resolver config (as snowplow-micro-examples keeps its schemas)."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from support import QuietServer

from micro_dashboard.config import Settings
from micro_dashboard.iglu import IgluChecker, build_resolver
from micro_dashboard.iglu.config import read_resolver_config
from micro_dashboard.iglu_setup import build_resolver_for

RESOLVER_SCHEMA = "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-0"
CART_ACTION = "iglu:test.example.iglu/cart_action_event/jsonschema/1-0-0"
ACME = "iglu:com.acme/signup/jsonschema/1-0-0"
SIGNUP_SCHEMA = {"self": {"vendor": "com.acme", "name": "signup", "format": "jsonschema", "version": "1-0-0"},
                 "type": "object", "properties": {"plan": {"type": "string"}}, "required": ["plan"]}


class IgluServer(BaseHTTPRequestHandler):
    """An Iglu Server that serves com.acme/signup under /api to a client that sends the apikey `secret`."""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        if self.path != "/api/schemas/com.acme/signup/jsonschema/1-0-0":
            self.send_error(404)
        elif self.headers.get("apikey") != "secret":
            self.send_error(401)
        else:
            body = json.dumps(SIGNUP_SCHEMA).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


def resolver_file(folder: Path, uri: str = "http://127.0.0.1:9/unused") -> Path:
    """Write a resolver config naming one HTTP registry (only for com.snowplowanalytics), as Micro's examples do."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "iglu.json"
    path.write_text(json.dumps({"schema": RESOLVER_SCHEMA, "data": {"cacheSize": 500, "repositories": [
        {"name": "Iglu Central", "priority": 0, "vendorPrefixes": ["com.snowplowanalytics"],
         "connection": {"http": {"uri": uri}}}]}}))
    return path


def embed(folder: Path, uri: str, schema: dict) -> None:
    """Write a schema into folder/iglu-client-embedded/schemas/<vendor>/<name>/jsonschema/<version>."""
    vendor, name, fmt, version = uri[len("iglu:"):].split("/")
    file = folder / "iglu-client-embedded" / "schemas" / vendor / name / fmt / version
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(schema))


def test_micro_iglu_registry_url_and_api_key_add_a_registry_after_the_configured_ones(
        serve: Callable[..., QuietServer], tmp_path: Path) -> None:
    server = serve(handler=IgluServer)
    environ = {"MICRO_IGLU_REGISTRY_URL": f"{server.url}/api", "MICRO_IGLU_API_KEY": "secret"}
    settings = Settings.load({"iglu_defaults": False, "iglu_resolver": str(resolver_file(tmp_path))},
                             environ=environ)
    assert settings.iglu_registries == [f"{server.url}/api,secret"]
    resolver = build_resolver_for(settings, None)
    assert [r.location for r in resolver.registries][-1] == f"{server.url}/api"
    checker = IgluChecker(resolver)
    assert checker.check(ACME, {"plan": "free"}).status == "valid"
    assert checker.check(ACME, {}).status == "invalid"
    assert server.requests[0][1]["apikey"] == "secret"


def test_micro_iglu_registry_url_alone_adds_a_registry_without_a_key_and_keeps_our_own() -> None:
    settings = Settings.load({"iglu_registries": ["http://ours.test"]},
                             environ={"MICRO_IGLU_REGISTRY_URL": "https://theirs.test/api",
                                      "MICRO_DASHBOARD_IGLU_DIR": "/schemas"})
    assert settings.iglu_registries == ["http://ours.test", "https://theirs.test/api"]
    assert settings.iglu_dirs == ["/schemas"]
    assert Settings.load(environ={"MICRO_IGLU_REGISTRY_URL": " "}).iglu_registries == []
    assert Settings.load(environ={"MICRO_IGLU_API_KEY": "k"}).iglu_registries == []


def test_an_iglu_client_embedded_folder_beside_the_resolver_file_is_a_local_registry(tmp_path: Path) -> None:
    micro = tmp_path / "micro"
    config = resolver_file(micro)
    embed(micro, CART_ACTION, {"type": "object", "properties": {"type": {"enum": ["add", "remove"]}},
                               "required": ["type"], "additionalProperties": False})
    registries, _ttl = read_resolver_config(config)
    embedded = [r for r in registries if r.kind == "embedded"]
    assert [Path(r.location) for r in embedded] == [micro / "iglu-client-embedded" / "schemas"]
    checker = IgluChecker(build_resolver(config=str(config), defaults=False, timeout=0.2))
    assert checker.check(CART_ACTION, {"type": "add"}).status == "valid"
    verdict = checker.check(CART_ACTION, {"type": "keep"})
    assert verdict.status == "invalid" and verdict.problems[0].path == "$.type"


def test_the_embedded_folder_is_looked_for_only_beside_a_resolver_file(tmp_path: Path, monkeypatch) -> None:
    embed(tmp_path, CART_ACTION, {"type": "object"})
    monkeypatch.chdir(tmp_path)  # an inline config takes relative paths from here: it must not pick the folder up
    inline = json.loads(resolver_file(tmp_path / "elsewhere").read_text())
    assert all(r.kind == "http" for r in read_resolver_config(inline)[0])
    assert all(r.kind == "http" for r in read_resolver_config(json.dumps(inline))[0])
    assert all(r.kind == "http" for r in read_resolver_config(tmp_path / "elsewhere" / "iglu.json")[0])
