"""Attacks a real browser can make on the dashboard, in Chromium: cross-site wipes, DNS rebinding, inline script.

Every origin here is this machine: a second origin is another port (and `localhost` for another site), and
evil.example is mapped to 127.0.0.1 by Chromium's --host-resolver-rules, so nothing leaves the machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import CHROMIUM, CHROMIUM_ARGS
from snowplow_checks import IGLU_DIRS, wait_for_count
from support import QuietServer, free_port
from test_browser_tracker import PAGE, UMD, run_tracker

from micro_dashboard.testing import MicroDashboard

pytestmark = [pytest.mark.security, pytest.mark.browser]

PV = {"e": "pv", "p": "web", "tv": "t"}
REBOUND = "evil.example"
# What a page on another origin can do to a URL without any help from the dashboard: each one wiped every event.
WIPES = {
    # The browser blocks the JSON answer from reaching the page (ORB), so the page learns only that it is done.
    "img": """(url) => new Promise((done) => {
        const img = new Image(); img.onload = img.onerror = () => done(); img.src = url + '/micro/reset'; })""",
    "text/plain form": """(url) => {
        const form = document.createElement('form');
        form.method = 'POST'; form.enctype = 'text/plain'; form.action = url + '/micro/reset';
        const field = document.createElement('input');
        field.name = '{"limit": 1, "x": "'; field.value = '"}';
        form.append(field); document.body.append(form); form.submit(); }""",
    "urlencoded form": """(url) => {
        const form = document.createElement('form');
        form.method = 'POST'; form.action = url + '/micro/reset';
        const field = document.createElement('input');
        field.name = 'all'; field.value = '1';
        form.append(field); document.body.append(form); form.submit(); }""",
    "fetch no-cors": "(url) => { fetch(url + '/micro/reset', {method: 'POST', mode: 'no-cors'}).catch(() => {}); }",
    "sendBeacon": "(url) => { navigator.sendBeacon(url + '/micro/reset', 'wipe'); }",
    "fetch DELETE with CORS": "(url) => { fetch(url + '/api/events', {method: 'DELETE'}).catch(() => {}); }",
}
ATTACKER_PAGE = "<!doctype html><html><head><meta charset='utf-8'><title>A page on another site</title></head>" \
                "<body><p>Nothing to see here.</p></body></html>"


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Return test settings: a temporary database and Iglu schemas from disk only."""
    return {"db": str(tmp_path / "events.db"), "iglu_defaults": False, "iglu_dirs": IGLU_DIRS}


@pytest.fixture
def attacker_site(tmp_path: Path) -> Iterator[QuietServer]:
    """Serve a harmless-looking page, and the browser tracker, from a second local origin."""
    site = tmp_path / "attacker"
    site.mkdir()
    (site / "index.html").write_text(ATTACKER_PAGE)
    (site / "tracker").mkdir()
    (site / "tracker" / "index.html").write_text(PAGE)
    if UMD.exists():
        (site / "sp.js").write_bytes(UMD.read_bytes())
    server = QuietServer(site)
    yield server
    server.close()


def send_events(url: str, count: int = 3) -> None:
    """Send page views to the dashboard as a server-side tracker would."""
    for n in range(count):
        assert requests.get(f"{url}/i", params={**PV, "aid": f"precious-{n}"}, timeout=10).ok
    assert wait_for_count(url, count)["total"] == count


def wipe_attempt_reached_the_dashboard(page: Any, attack: str, target: str) -> int | None:
    """Run one wipe from the page and return the status the dashboard answered the browser (None: not visible)."""
    if attack == "img":
        page.evaluate(WIPES[attack], target)  # resolves once the answer has arrived
        return None
    path = "/api/events" if "DELETE" in attack else "/micro/reset"
    with page.expect_response(lambda r: r.url.startswith(target + path) and r.request.method != "OPTIONS",
                              timeout=10_000) as answered:
        page.evaluate(WIPES[attack], target)
    return answered.value.status


@pytest.mark.parametrize("site", ["localhost", "127.0.0.1"], ids=["cross-site", "same-site-other-port"])
@pytest.mark.parametrize("attack", list(WIPES))
def test_a_page_on_another_origin_cannot_wipe_the_events(page: Any, live_server: Any, attacker_site: QuietServer,
                                                         attack: str, site: str) -> None:
    send_events(live_server.url)
    page.goto(f"http://{site}:{attacker_site.port}/index.html")
    status = wipe_attempt_reached_the_dashboard(page, attack, live_server.url)
    assert status in (403, None)
    assert requests.get(f"{live_server.url}/micro/all", timeout=10).json()["total"] == 3


@pytest.mark.needs_iglu_central
def test_the_real_browser_tracker_still_collects_from_another_origin(page: Any, live_server: Any,
                                                                     attacker_site: QuietServer) -> None:
    if not UMD.exists():
        pytest.fail(f"{UMD} is missing: install the browser tracker with tests/browser/install.sh")
    origin = f"http://localhost:{attacker_site.port}"
    problems = run_tracker(page, f"{origin}/tracker", live_server.url, "post", False)
    assert wait_for_count(live_server.url, 3)["good"] == 3
    assert not [p for p in problems if "CORS" in p or "failed" in p], problems
    # Scripts and the test client still reset, as Micro's users' scripts do.
    assert requests.get(f"{live_server.url}/micro/reset", timeout=10).json()["total"] == 0
    send_events(live_server.url)
    with MicroDashboard(live_server.url) as dashboard:
        assert dashboard.reset() == 3


@pytest.fixture(scope="module")
def rebinding_browser(browser: Any) -> Iterator[Any]:
    """Launch another Chromium that resolves evil.example to 127.0.0.1, as a rebinding DNS server would make it."""
    rebinding = browser.browser_type.launch(executable_path=CHROMIUM,
                                            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"])
    yield rebinding
    rebinding.close()


READ_AFTER_REBINDING = """async () => {
  const statuses = {};
  for (const path of ['/api/events', '/micro/good', '/api/export.ndjson', '/', '/micro/all']) {
    statuses[path] = (await fetch(path)).status;
  }
  statuses['DELETE /api/events'] = (await fetch('/api/events', {method: 'DELETE'})).status;
  statuses['POST /micro/reset'] = (await fetch('/micro/reset', {method: 'POST'})).status;
  statuses['GET /micro/reset'] = (await fetch('/micro/reset')).status;
  statuses['/ws'] = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => { ws.close(); resolve('open'); };
    ws.onerror = () => resolve('refused');
  });
  return statuses;
}"""


def test_dns_rebinding_reads_and_deletes_nothing(rebinding_browser: Any, tmp_path: Path, dashboards: Any) -> None:
    port = free_port()
    # First the attacker's own server answers for evil.example:<port> and the victim opens its page ...
    (tmp_path / "rebind").mkdir()
    (tmp_path / "rebind" / "index.html").write_text(ATTACKER_PAGE)
    attacker = QuietServer(tmp_path / "rebind", port=port)
    context = rebinding_browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://{REBOUND}:{port}/index.html")
        attacker.close()
        # ... then the name points at the dashboard on the same port: the page is same-origin with it.
        dashboard = dashboards.serve(dashboards.app(), port=port)
        send_events(dashboard.url)
        statuses = page.evaluate(READ_AFTER_REBINDING)
        assert statuses == {"/api/events": 421, "/micro/good": 421, "/api/export.ndjson": 421, "/": 421,
                            "/micro/all": 421, "DELETE /api/events": 421, "POST /micro/reset": 421,
                            "GET /micro/reset": 421, "/ws": "refused"}
        assert requests.get(f"{dashboard.url}/micro/all", timeout=10).json()["total"] == 3
        # The collector still answers the rebound name, as a collector behind any DNS name does.
        assert page.evaluate("async () => (await fetch('/i?e=pv&p=web&tv=t')).status") == 200
        assert wait_for_count(dashboard.url, 4)["total"] == 4
    finally:
        context.close()


def test_the_pages_run_under_the_policy_with_no_violation(page: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10_000)
    send_events(live_server.url, 2)
    expect(page.locator("#list .row[data-id]")).to_have_count(2, timeout=10_000)
    page.goto(f"{live_server.url}/demo")
    page.locator("#js-button").click()
    expect(page.locator("#log li")).to_have_count(2, timeout=10_000)  # the page view on load, then the click
    wait_for_count(live_server.url, 4)
    assert violations == []
    assert page.evaluate("() => window.top === window")
