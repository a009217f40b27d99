"""Browser-facing safety over HTTP: the Host allow-list, cross-site destructive requests, security headers, the token.

Everything here talks to 127.0.0.1 or to an address of this machine; nothing leaves it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests
import simple_websocket

from micro_dashboard import asset_dir
from micro_dashboard.config import Settings
from micro_dashboard.policy.hosts import reachable_address
from micro_dashboard.server import Server
from micro_dashboard.testing import MicroDashboard

pytestmark = pytest.mark.security

PV = {"e": "pv", "p": "web", "tv": "t"}
TP2 = "/com.snowplowanalytics.snowplow/tp2"
UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
# What a browser sends along with a request a page on another origin makes, in each form that gives it away.
CROSS_SITE_MARKS = [
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="sec-fetch-site-cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site"}, id="sec-fetch-site-same-site"),
    pytest.param({"Origin": "http://evil.example"}, id="origin-of-another-site"),
    pytest.param({"Origin": "null"}, id="opaque-origin"),
]
DESTRUCTIVE = [("DELETE", "/api/events"), ("GET", "/micro/reset"), ("POST", "/micro/reset"), ("HEAD", "/micro/reset")]


def send_events(url: str, count: int = 2, host: str | None = None) -> None:
    """Send page views through the collector, with another Host header when given."""
    headers = {"Host": host} if host else {}
    for n in range(count):
        assert requests.get(f"{url}/i", params={**PV, "aid": f"kept-{n}"}, headers=headers, timeout=10).ok


def total(url: str) -> int:
    """Return how many events the dashboard holds."""
    return requests.get(f"{url}/micro/all", timeout=10).json()["total"]


@pytest.fixture
def seeded(live_server: Any) -> Any:
    """Serve a dashboard holding two events."""
    send_events(live_server.url)
    assert total(live_server.url) == 2
    return live_server


# --- Host allow-list (DNS rebinding) ---

REBOUND_READS = ["/api/events", "/micro/good", "/api/export.ndjson", "/api/export.tsv", "/micro/all", "/api/stats",
                 "/", "/demo", "/api/openapi.json", "/micro/iglu/com.acme/x/jsonschema/1-0-0"]


@pytest.mark.parametrize("path", REBOUND_READS)
def test_a_rebound_host_name_reads_nothing(seeded: Any, path: str) -> None:
    answer = requests.get(f"{seeded.url}{path}", headers={"Host": f"evil.example:{seeded.port}"}, timeout=10)
    assert answer.status_code == 421, answer.text[:300]
    assert "evil.example" in answer.text and "--allowed-host" in answer.text
    assert "kept-0" not in answer.text


def test_a_rebound_host_name_cannot_open_the_live_feed(seeded: Any) -> None:
    answer = requests.get(f"{seeded.url}/ws", headers={**UPGRADE, "Host": f"evil.example:{seeded.port}",
                                                       "Origin": f"http://evil.example:{seeded.port}"}, timeout=10)
    assert answer.status_code == 421 and "--allowed-host" in answer.json()["error"]


@pytest.mark.parametrize(("method", "path"), DESTRUCTIVE)
def test_a_rebound_host_name_deletes_nothing(seeded: Any, method: str, path: str) -> None:
    answer = requests.request(method, f"{seeded.url}{path}", headers={"Host": f"evil.example:{seeded.port}"},
                              timeout=10)
    assert answer.status_code == 421
    assert total(seeded.url) == 2


def test_the_collector_answers_any_host_name_as_real_collectors_do(live_server: Any) -> None:
    send_events(live_server.url, 1, host="collector.acme.test")
    body = {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": [PV]}
    posted = requests.post(f"{live_server.url}{TP2}", json=body, timeout=10, headers={"Host": "collector.acme.test"})
    assert posted.status_code == 200
    assert requests.get(f"{live_server.url}/health", headers={"Host": "collector.acme.test"}, timeout=10).ok
    assert requests.get(f"{live_server.url}/static/internal_events.js", headers={"Host": "cdn.acme.test"},
                        timeout=10).ok
    assert total(live_server.url) == 2


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]", "app.localhost"])
def test_local_names_reach_the_dashboard(seeded: Any, name: str) -> None:
    answer = requests.get(f"{seeded.url}/api/events", headers={"Host": f"{name}:{seeded.port}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["total"] == 2


def test_an_allowed_host_name_reaches_the_dashboard(make_live_server: Callable[..., Any]) -> None:
    server = make_live_server(allowed_hosts=["dash.team.test"])
    answer = requests.get(f"{server.url}/api/events", headers={"Host": f"DASH.team.test:{server.port}"}, timeout=10)
    assert answer.status_code == 200
    other = requests.get(f"{server.url}/api/events", headers={"Host": f"other.team.test:{server.port}"}, timeout=10)
    assert other.status_code == 421


def test_allowed_hosts_come_from_the_environment_too() -> None:
    settings = Settings.load(environ={"MICRO_DASHBOARD_ALLOWED_HOST": "a.test b.test", "MICRO_DASHBOARD_TOKEN": "t"})
    assert settings.allowed_hosts == ["a.test", "b.test"] and settings.token == "t"


def test_a_host_header_that_is_not_a_name_is_refused_not_an_error(live_server: Any) -> None:
    for host in ["", "evil.example:1:2", "[::1", "a b"]:
        answer = requests.get(f"{live_server.url}/api/events", headers={"Host": host}, timeout=10)
        assert answer.status_code in (400, 421), (host, answer.status_code)


# --- Destructive requests from other sites ---

@pytest.mark.parametrize("marks", CROSS_SITE_MARKS)
@pytest.mark.parametrize(("method", "path"), DESTRUCTIVE)
def test_destructive_requests_from_other_sites_are_refused(seeded: Any, method: str, path: str, marks: dict) -> None:
    answer = requests.request(method, f"{seeded.url}{path}", headers=marks, timeout=10)
    assert answer.status_code == 403
    if method != "HEAD":
        assert "another site" in answer.json()["error"]
    assert total(seeded.url) == 2


def test_every_route_that_takes_delete_refuses_other_sites(seeded: Any) -> None:
    rules = [r.rule for r in seeded.app.url_map.iter_rules() if "DELETE" in (r.methods or ())
             and "<" not in r.rule]
    assert "/api/events" in rules
    for rule in rules:
        answer = requests.delete(f"{seeded.url}{rule}", headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
        assert answer.status_code == 403, rule
    assert total(seeded.url) == 2


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/api/events"), ("GET", "/micro/reset"),
                                              ("POST", "/micro/reset")])
def test_the_dashboards_own_pages_and_scripts_still_delete(live_server: Any, method: str, path: str) -> None:
    own = {"Sec-Fetch-Site": "same-origin", "Origin": live_server.url}
    typed = {"Sec-Fetch-Site": "none"}  # the address typed into the browser's own address bar
    for headers in (own, typed, {}):
        send_events(live_server.url)
        answer = requests.request(method, f"{live_server.url}{path}", headers=headers, timeout=10)
        assert answer.status_code == 200, (headers, answer.text)
        assert total(live_server.url) == 0


def test_the_test_client_still_resets(seeded: Any) -> None:
    with MicroDashboard(seeded.url) as dashboard:
        assert dashboard.reset() == 2
    assert total(seeded.url) == 0


# --- Security headers ---

PAGES = ["/", "/demo", "/api/events", "/micro/good", "/api/openapi.json", "/api/no-such-thing", "/micro/nope"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(live_server: Any, path: str) -> None:
    headers = requests.get(f"{live_server.url}{path}", timeout=10).headers
    policy = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'" and "unsafe" not in policy
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_the_collectors_answers_are_nosniff_and_keep_their_cors(live_server: Any) -> None:
    origin = "https://shop.example"
    pixel = requests.get(f"{live_server.url}/i", params=PV, headers={"Origin": origin}, timeout=10)
    assert pixel.headers["X-Content-Type-Options"] == "nosniff"
    assert pixel.headers["Access-Control-Allow-Origin"] == origin
    assert pixel.headers["Access-Control-Allow-Credentials"] == "true"
    preflight = requests.options(f"{live_server.url}{TP2}", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.ok and preflight.headers["Access-Control-Allow-Origin"] == origin


class InlineFinder(HTMLParser):
    """Collect what a strict Content-Security-Policy would block in a template: inline script and style."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append(f"<script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        self.found += [f"{name}= on <{tag}> at line {self.getpos()[0]}" for name in names
                       if name.startswith("on") or name == "style"]


@pytest.mark.parametrize("template", sorted(p.name for p in Path(asset_dir("templates")).glob("*.html")))
def test_templates_have_no_inline_script_or_style(template: str) -> None:
    finder = InlineFinder()
    finder.feed((Path(asset_dir("templates")) / template).read_text())
    assert finder.found == []


def test_scripts_do_not_write_style_attributes_or_html() -> None:
    # The CSSOM (el.style.x = ...) is allowed by style-src 'self'; a style attribute set as text is not.
    for script in Path(asset_dir("static")).rglob("*.js"):
        text = script.read_text()
        assert not re.search(r"""['"]?style['"]?\s*:\s*`|setAttribute\(\s*['"]style|innerHTML\s*=""", text), script


# --- Beyond loopback: a token ---

def machine_address() -> str | None:
    """Return a non-loopback IPv4 address of this machine (`hostname -I`), or None."""
    try:
        words = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except OSError:
        return None
    return next((w for w in words if re.fullmatch(r"[0-9.]+", w) and not w.startswith("127.")), None)


@dataclass
class Reached:
    """A dashboard served beyond loopback, and how this test reaches it without leaving the machine."""

    host: str
    port: int
    headers: dict[str, str]

    @property
    def url(self) -> str:
        """Return the base URL the test connects to."""
        return f"http://{self.host}:{self.port}"


@pytest.fixture
def beyond_loopback(dashboards: Any) -> Reached:
    """Serve a dashboard on an address of this machine; with none, on every interface, reached at 127.0.0.1."""
    address = machine_address()
    app = dashboards.app(host=address or "0.0.0.0", token="s3cret-token")
    server = Server(app, address or "0.0.0.0", 0).start()
    dashboards.servers.append(server)
    if address:
        return Reached(address, server.port, {})
    return Reached("127.0.0.1", server.port, {"Host": f"{reachable_address('0.0.0.0')}:{server.port}"})


@pytest.mark.parametrize("path", ["/", "/demo", "/api/events", "/micro/good", "/api/export.ndjson"])
def test_beyond_loopback_the_dashboard_needs_its_token(beyond_loopback: Any, path: str) -> None:
    url, headers = beyond_loopback.url, beyond_loopback.headers
    refused = requests.get(f"{url}{path}", headers=headers, timeout=10)
    assert refused.status_code == 401 and "token" in refused.text
    wrong = requests.get(f"{url}{path}", headers={**headers, "Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    bearer = requests.get(f"{url}{path}", headers={**headers, "Authorization": "Bearer s3cret-token"}, timeout=10)
    assert bearer.status_code == 200
    basic = requests.get(f"{url}{path}", headers=headers, auth=("", "s3cret-token"), timeout=10)
    assert basic.status_code == 200


def test_beyond_loopback_the_collector_needs_no_token(beyond_loopback: Any) -> None:
    url, headers = beyond_loopback.url, beyond_loopback.headers
    assert requests.get(f"{url}/i", params=PV, headers=headers, timeout=10).status_code == 200
    assert requests.get(f"{url}/health", headers=headers, timeout=10).ok
    answer = requests.get(f"{url}/micro/all", headers={**headers, "Authorization": "Bearer s3cret-token"}, timeout=10)
    assert answer.json()["total"] == 1


def test_a_browser_carries_the_token_in_a_strict_cookie_after_one_token_link(beyond_loopback: Any) -> None:
    url, headers = beyond_loopback.url, beyond_loopback.headers
    session = requests.Session()
    first = session.get(f"{url}/?token=s3cret-token&search=app:x", headers=headers, timeout=10)
    assert first.status_code == 200
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "s3cret-token" in cookie
    assert 'url=/?search=app%3Ax"' in first.text and "s3cret-token" not in first.text
    assert session.get(f"{url}/api/events", headers=headers, timeout=10).status_code == 200
    assert session.get(f"{url}/", headers=headers, timeout=10).status_code == 200


def test_beyond_loopback_the_live_feed_needs_the_token(beyond_loopback: Any) -> None:
    url, headers = beyond_loopback.url, beyond_loopback.headers
    refused = requests.get(f"{url}/ws", headers={**headers, **UPGRADE}, timeout=10)
    assert refused.status_code == 401 and "token" in refused.json()["error"]
    ws = simple_websocket.Client.connect(f"ws://{beyond_loopback.host}:{beyond_loopback.port}/ws",
                                         headers={**headers, "Authorization": "Bearer s3cret-token"})
    try:
        assert '"hello"' in ws.receive(timeout=10)
    finally:
        ws.close()


def test_a_token_is_generated_beyond_loopback_and_none_is_needed_on_loopback(make_app: Callable[..., Any]) -> None:
    generated = make_app(host="0.0.0.0").config["ACCESS_TOKEN"]
    assert generated and len(generated) >= 20
    assert make_app(host="0.0.0.0").config["ACCESS_TOKEN"] != generated
    assert make_app().config["ACCESS_TOKEN"] is None
    loopback = make_app().test_client()
    assert loopback.get("/api/events").status_code == 200


def test_serving_on_every_interface_warns_and_prints_a_reachable_address_and_the_token(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--host", "0.0.0.0", "--port", "0",
               "--db", str(tmp_path / "events.db"), "--no-default-registries"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(banner)
        assert "warning" in text.lower() and "0.0.0.0" in text, text
        assert "http://0.0.0.0" not in text
        port = re.search(r"collector\s+http://[^:\s]+:(\d+)", text)[1]
        token = re.search(r"/\?token=([\w-]+)", text)[1]
        assert f"http://{reachable_address('0.0.0.0')}:{port}/?token={token}" in text
        local = f"http://127.0.0.1:{port}"
        assert requests.get(f"{local}/api/events", timeout=10).status_code == 401
        answer = requests.get(f"{local}/api/events", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
        process.stdout.close()


def test_the_test_client_carries_the_token_in_its_url(beyond_loopback: Any) -> None:
    if beyond_loopback.headers:
        pytest.skip("this machine has no address beyond loopback; the client cannot set a Host header")
    requests.get(f"{beyond_loopback.url}/i", params=PV, timeout=10)
    with MicroDashboard(f"http://:s3cret-token@{beyond_loopback.host}:{beyond_loopback.port}") as dashboard:
        assert dashboard.reset() == 1
