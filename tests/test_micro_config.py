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


PRODUCT = "iglu:test.example.iglu/product_entity/jsonschema/1-0-0"
PURCHASE = "iglu:test.example.iglu/purchase_event/jsonschema/1-0-0"
WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
# The shop in snowplow-incubator/snowplow-micro-examples: its schemas live in micro/iglu-client-embedded/.
SHOP_SCHEMAS = {
    CART_ACTION: {"type": "object", "properties": {"type": {"type": "string", "enum": ["add", "remove"]}},
                  "required": ["type"], "additionalProperties": False},
    PRODUCT: {"type": "object", "properties": {
        "sku": {"type": "string", "maxLength": 64}, "name": {"type": "string", "maxLength": 255},
        "price": {"type": "number", "minimum": 0, "maximum": 100000, "multipleOf": 0.01},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 10000}},
        "required": ["sku", "name", "price", "quantity"], "additionalProperties": False},
    PURCHASE: {"type": "object", "properties": {
        "total": {"type": "number", "minimum": 0, "maximum": 100000, "multipleOf": 0.01}},
        "required": ["total"], "additionalProperties": False},
}


def shop_event(schema: str, data: dict, *products: dict) -> dict[str, str]:
    """Return the tp2 parameters of a self-describing event the shop's JavaScript tracker sends."""
    entities = [{"schema": WEB_PAGE, "data": {"id": "0b8e4c7e-2f1c-4a52-9a4e-1f0d0e6b2c3a"}},
                *({"schema": PRODUCT, "data": p} for p in products)]
    return {"e": "ue", "p": "web", "tv": "js-3.1.0", "aid": "shop",
            "ue_pr": json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                                 "data": {"schema": schema, "data": data}}),
            "co": json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
                              "data": entities})}


def test_the_micro_examples_shop_validates_with_its_own_resolver_config(central: QuietServer, tmp_path: Path) -> None:
    from micro_dashboard.app import create_app

    micro = tmp_path / "micro"
    config = resolver_file(micro, central.url)  # its Iglu Central entry, served from the local copy
    for uri, schema in SHOP_SCHEMAS.items():
        embed(micro, uri, schema)
    hat = {"sku": "hh123", "name": "One-size summer hat", "price": 15.5, "quantity": 1}
    bucket = {"sku": "hh456", "name": "One-size bucket hat", "price": 24.49, "quantity": 1}
    good = [shop_event(CART_ACTION, {"type": "add"}, hat), shop_event(CART_ACTION, {"type": "add"}, bucket),
            shop_event(CART_ACTION, {"type": "remove"}, hat), shop_event(PURCHASE, {"total": 39.99}, bucket, hat),
            {"e": "pv", "p": "web", "tv": "js-3.1.0", "aid": "shop", "url": "http://localhost:8000/shop"}]
    app = create_app({"db": str(tmp_path / "events.db"), "iglu_resolver": str(config), "iglu_defaults": False})
    client = app.test_client()
    payload = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
    for event in [*good, shop_event(CART_ACTION, {"type": "keep"}, hat)]:
        response = client.post("/com.snowplowanalytics.snowplow/tp2", json={"schema": payload, "data": [event]})
        assert response.status_code == 200
    assert client.get("/micro/all").get_json() == {"total": 6, "good": 5, "bad": 1}
    summaries = client.get("/api/events?valid=true").get_json()["events"]
    assert len(summaries) == 5 and not any(s["unverified"] for s in summaries)
    [bad] = client.get("/micro/bad").get_json()
    messages = json.loads(bad["errors"][1])["data"]["failure"]["messages"]
    assert [(m["schemaKey"], m["error"]["dataReports"][0]["keyword"]) for m in messages] == [(CART_ACTION, "enum")]
