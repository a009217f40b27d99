"""The schema commands run as a person runs them, as subprocesses: `schema check`, `schemas pull`, `validate FILE`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from support import (
    BAD_ROW_SCHEMA,
    GITLAB_STANDARD,
    IGLU_CENTRAL,
    IGLU_GITLAB,
    LINK_CLICK,
    SP,
    QuietServer,
)

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.needs_iglu_central, pytest.mark.needs_iglu_gitlab]

UNKNOWN = "iglu:com.acme/nothing_here/jsonschema/1-0-0"
APIKEY = "0f6e9a8c-secret"


# --- running the command --------------------------------------------------------------------------------

def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m micro_dashboard ARGS` with no MICRO_DASHBOARD_* settings from the outside environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_DASHBOARD_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "micro_dashboard", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


class IgluServer(BaseHTTPRequestHandler):
    """Answer like an Iglu Server: GET /api/schemas lists GitLab's schemas, each served below it; apikey required."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.headers.get("apikey") != APIKEY:
            return self.answer(401, {"message": "Not authorized"})
        root = IGLU_GITLAB / "schemas"
        if self.path == "/api/schemas":
            keys = sorted("iglu:" + "/".join(f.relative_to(root).parts) for f in root.glob("*/*/*/*"))
            return self.answer(200, keys)
        file = root / self.path.removeprefix("/api/schemas/")
        if self.path.startswith("/api/schemas/") and file.is_file():
            return self.answer(200, json.loads(file.read_text(encoding="utf-8")))
        return self.answer(404, {"message": "The schema is not found"})

    def answer(self, status: int, body: Any) -> None:
        """Send a JSON answer."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


# --- captured requests ----------------------------------------------------------------------------------

def link_click_pr(data: dict) -> str:
    """Return a ue_pr parameter holding a link_click 1-0-1 event."""
    return json.dumps({"schema": f"{SP}/unstruct_event/jsonschema/1-0-0",
                       "data": {"schema": LINK_CLICK, "data": data}})


GOOD_CLICK = {"e": "ue", "p": "web", "tv": "py-1.1.0", "eid": "33333333-3333-4333-8333-333333333333",
              "ue_pr": link_click_pr({"targetUrl": "https://example.com/"})}
EMPTY_TARGET = {"e": "ue", "p": "web", "tv": "py-1.1.0", "eid": "44444444-4444-4444-8444-444444444444",
                "ue_pr": link_click_pr({"targetUrl": ""})}


def tp2(*events: dict) -> str:
    """Return a tp2 POST body holding `events`."""
    return json.dumps({"schema": f"{SP}/payload_data/jsonschema/1-0-4", "data": list(events)})


@pytest.fixture
def get_lines(tmp_path: Path) -> Path:
    """Write a file of captured GET requests: a page view, a link_click without targetUrl, a bad se_va."""
    page_view = {"e": "pv", "p": "web", "tv": "js-3.0.0", "eid": "11111111-1111-4111-8111-111111111111",
                 "url": "https://example.com/"}
    no_target = {"e": "ue", "p": "web", "tv": "js-3.0.0", "eid": "22222222-2222-4222-8222-222222222222",
                 "ue_pr": link_click_pr({"elementId": "buy"})}
    struct = {"e": "se", "p": "web", "tv": "js-3.0.0", "eid": "55555555-5555-4555-8555-555555555555",
              "se_ca": "shop", "se_ac": "add", "se_va": "abc"}
    file = tmp_path / "requests.txt"
    file.write_text("\n".join([
        "# captured from the browser's network tab",
        "/i?" + urlencode(page_view),
        "http://localhost:9090/i?" + urlencode(no_target),
        "",
        "/com.snowplowanalytics.snowplow/tp2?" + urlencode(struct),
    ]) + "\n", encoding="utf-8")
    return file


# --- schema check ---------------------------------------------------------------------------------------

def test_schema_check_says_which_registry_a_schema_resolves_from(
        tmp_path: Path, serve: Callable[..., QuietServer]) -> None:
    """`schema check` exits 0 and names the HTTP registry or the local folder the schema came from."""
    central = serve(IGLU_CENTRAL).url
    over_http = run("schema", "check", LINK_CLICK, "--iglu-registry", central, "--no-default-registries",
                    "--db", "cache.db", cwd=tmp_path)
    assert over_http.returncode == 0, over_http.stderr
    assert over_http.stdout.strip() == f"{LINK_CLICK} resolves from {central}"
    from_dir = run("schema", "check", GITLAB_STANDARD, "--iglu-dir", str(IGLU_CENTRAL), "--iglu-dir",
                   str(IGLU_GITLAB), "--no-default-registries", "--db", "cache.db", cwd=tmp_path)
    assert from_dir.returncode == 0, from_dir.stderr
    assert from_dir.stdout.strip() == f"{GITLAB_STANDARD} resolves from local {IGLU_GITLAB}"


def test_schema_check_of_an_unknown_schema_exits_1_with_the_lookup_history(
        tmp_path: Path, serve: Callable[..., QuietServer]) -> None:
    """`schema check` of a schema no registry has exits 1 and lists each registry asked and its answer."""
    gitlab = serve(IGLU_GITLAB).url
    result = run("schema", "check", UNKNOWN, "--iglu-dir", str(IGLU_CENTRAL), "--iglu-registry", gitlab,
                 "--no-default-registries", "--db", "cache.db", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{UNKNOWN} does not resolve (not_found):",
        f"  local {IGLU_CENTRAL}: NotFound",
        f"  {gitlab}: NotFound",
    ]


def test_schema_check_names_a_registry_that_refuses_connections(tmp_path: Path, refused_url: str) -> None:
    """`schema check` with the only registry down exits 1 saying the registry was unreachable and why."""
    result = run("schema", "check", LINK_CLICK, "--iglu-registry", refused_url, "--no-default-registries",
                 "--db", "cache.db", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{LINK_CLICK} does not resolve (unreachable):",
                                          f"  {refused_url}: connection refused"]


def test_schema_check_of_a_malformed_uri_says_what_is_wrong(tmp_path: Path) -> None:
    """`schema check` of a URI whose version is not model-revision-addition exits 1 explaining the format."""
    result = run("schema", "check", "iglu:com.acme/thing/jsonschema/1-0", "--no-default-registries",
                 "--db", "cache.db", cwd=tmp_path)
    assert result.returncode == 1
    assert "version '1-0', which is not model-revision-addition" in result.stderr
    assert "Traceback" not in result.stderr


# --- schemas pull ---------------------------------------------------------------------------------------

def test_pulled_vendor_schemas_resolve_from_the_cache_with_no_registries(tmp_path: Path) -> None:
    """`schemas pull --from DIR --vendor V` caches exactly that vendor's schemas; they then resolve offline."""
    vendor_dir = IGLU_CENTRAL / "schemas" / "com.snowplowanalytics.snowplow"
    expected = len([f for f in vendor_dir.glob("*/*/*") if f.is_file()])
    pulled = run("schemas", "pull", "--from", str(IGLU_CENTRAL), "--vendor", "com.snowplowanalytics.snowplow",
                 "--db", "tmp.db", cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == f"pulled {expected} schemas into tmp.db"

    cached = run("schema", "check", LINK_CLICK, "--no-default-registries", "--db", "tmp.db", cwd=tmp_path)
    assert cached.returncode == 0, cached.stderr
    assert cached.stdout.strip() == f"{LINK_CLICK} resolves from local {IGLU_CENTRAL} (from the schema cache)"
    other_vendor = run("schema", "check", BAD_ROW_SCHEMA, "--no-default-registries", "--db", "tmp.db", cwd=tmp_path)
    assert other_vendor.returncode == 1
    assert "registry is configured" in other_vendor.stderr


def test_schemas_pull_from_an_iglu_server_sends_the_apikey_and_fills_the_cache(
        tmp_path: Path, serve: Callable[..., QuietServer]) -> None:
    """`schemas pull --from URL/api --apikey K` copies the server's listed schemas; they resolve offline."""
    api = serve(handler=IgluServer).url + "/api"
    pulled = run("schemas", "pull", "--from", api, "--apikey", APIKEY, "--vendor", "com.gitlab",
                 "--db", "tmp.db", cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == "pulled 2 schemas into tmp.db"
    cached = run("schema", "check", GITLAB_STANDARD, "--no-default-registries", "--db", "tmp.db", cwd=tmp_path)
    assert cached.stdout.strip() == f"{GITLAB_STANDARD} resolves from {api} (from the schema cache)"


def test_schemas_pull_with_a_wrong_apikey_says_so_without_a_traceback(
        tmp_path: Path, serve: Callable[..., QuietServer]) -> None:
    """`schemas pull` from an Iglu Server that refuses the key exits 1 with a message, not a crash."""
    api = serve(handler=IgluServer).url + "/api"
    result = run("schemas", "pull", "--from", api, "--apikey", "wrong", "--db", "tmp.db", cwd=tmp_path)
    assert result.returncode == 1
    assert "did not answer a list of iglu URIs" in result.stderr
    assert "Traceback" not in result.stderr


# --- validate -------------------------------------------------------------------------------------------

def test_validate_prints_a_verdict_per_captured_get_request_and_exits_1(tmp_path: Path, get_lines: Path) -> None:
    """`validate FILE` of GET lines prints valid/invalid per event with the plain sentences, and exits 1."""
    result = run("validate", str(get_lines), "--iglu-dir", str(IGLU_CENTRAL), "--no-default-registries",
                 "--db", "cache.db", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "✓ valid  11111111-1111-4111-8111-111111111111  page_view",
        "✗ invalid  22222222-2222-4222-8222-222222222222  link_click",
        '    link_click 1-0-1: required property "targetUrl" is missing (the self-describing event)',
        "✗ invalid  55555555-5555-4555-8555-555555555555  struct shop / add",
        '    se_value "abc" is not a number (parameter se_va)',
    ]


def test_validate_a_tp2_body_with_json_output(tmp_path: Path, serve: Callable[..., QuietServer]) -> None:
    """`validate --json` of a tp2 POST body prints one JSON verdict per event, schemas fetched over HTTP."""
    body = tmp_path / "body.json"
    body.write_text(tp2(GOOD_CLICK, EMPTY_TARGET), encoding="utf-8")
    result = run("validate", "body.json", "--json", "--iglu-registry", serve(IGLU_CENTRAL).url,
                 "--no-default-registries", "--db", "cache.db", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"status": "valid", "event": f"{GOOD_CLICK['eid']}  link_click", "problems": []},
        {"status": "invalid", "event": f"{EMPTY_TARGET['eid']}  link_click",
         "problems": ["link_click 1-0-1: $.targetUrl must not be empty (at least 1 character) "
                      "(the self-describing event)"]},
    ]


def test_validate_exits_0_when_every_event_is_valid_reading_stdin(tmp_path: Path) -> None:
    """`validate -` reads a tp2 body from stdin and exits 0 when every event is valid."""
    result = run("validate", "-", "--iglu-dir", str(IGLU_CENTRAL), "--no-default-registries", "--db", "cache.db",
                 cwd=tmp_path, stdin=tp2(GOOD_CLICK))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"✓ valid  {GOOD_CLICK['eid']}  link_click"]


def test_validate_with_the_registry_down_is_unverified_and_strict_makes_it_invalid(
        tmp_path: Path, refused_url: str) -> None:
    """With the registry down `validate` says unverified (exit 0) naming it; with --strict it is invalid (exit 1)."""
    body = tmp_path / "body.json"
    body.write_text(tp2(GOOD_CLICK), encoding="utf-8")
    lenient = run("validate", "body.json", "--iglu-registry", refused_url, "--no-default-registries",
                  "--db", "cache.db", cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stderr
    assert lenient.stdout.splitlines() == [f"? unverified  {GOOD_CLICK['eid']}  link_click",
                                           f"    could not reach {refused_url}: connection refused"]
    strict = run("validate", "body.json", "--json", "--strict", "--iglu-registry", refused_url,
                 "--no-default-registries", "--db", "cache.db", cwd=tmp_path)
    assert strict.returncode == 1, strict.stderr
    [verdict] = [json.loads(line) for line in strict.stdout.splitlines()]
    assert verdict["status"] == "invalid"
    assert "could not be checked (strict mode)" in verdict["problems"][0]
