"""The real browser tracker (@snowplow/browser-tracker from npm) in headless Chromium, on a page of another origin."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from snowplow_checks import IGLU_DIRS, wait_for_count
from support import LINK_CLICK, UNSTRUCT, WEB_PAGE, QuietServer

pytestmark = [pytest.mark.browser, pytest.mark.needs_iglu_central]

REPO = Path(__file__).resolve().parents[1]
UMD = REPO / ".node" / "node_modules" / "@snowplow" / "browser-tracker" / "dist" / "index.umd.min.js"
SNOWPLOW = "com.snowplowanalytics.snowplow"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Browser tracker test</title><script src="/sp.js"></script></head>
<body><a id="pay" href="#">Pay</a></body></html>
"""

TRACK = """([endpoint, method, encodeBase64, linkClick]) => {
  const sp = window.snowplowBrowserTracking;
  sp.newTracker('bt', endpoint, {appId: 'browser-test', eventMethod: method, encodeBase64: encodeBase64,
                                 bufferSize: 1, contexts: {webPage: true}});
  sp.trackPageView({title: 'Checkout page'});
  sp.trackSelfDescribingEvent({event: {schema: linkClick,
                                       data: {targetUrl: 'https://shop.test/pay', elementId: 'pay'}}});
  sp.trackStructEvent({category: 'checkout', action: 'click', label: 'pay', property: 'button', value: 3.5});
}"""


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Return test settings: a temporary database and Iglu schemas from disk only."""
    return {"db": str(tmp_path / "events.db"), "iglu_defaults": False, "iglu_dirs": IGLU_DIRS}


@pytest.fixture
def page_origin(tmp_path: Path) -> Iterator[str]:
    """Serve the test page and the tracker's UMD bundle from a second origin (another port)."""
    if not UMD.exists():
        pytest.fail(f"{UMD} is missing: install the browser tracker with tests/browser/install.sh")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    shutil.copy(UMD, site / "sp.js")
    server = QuietServer(site)
    yield server.url
    server.close()


def run_tracker(page, page_origin: str, collector: str, method: str, encode_base64: bool) -> list[str]:
    """Load the page, track three events, and return the console errors and failed requests seen."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("requestfailed", lambda req: problems.append(f"{req.method} {req.url} failed: {req.failure}"))
    page.goto(f"{page_origin}/index.html")
    assert page.evaluate("typeof window.snowplowBrowserTracking.newTracker") == "function"
    page.evaluate(TRACK, [collector, method, encode_base64, LINK_CLICK])
    return problems


def good_by_type(url: str) -> dict[str, dict[str, Any]]:
    """Return the good events keyed by event type."""
    return {e["eventType"]: e for e in requests.get(f"{url}/micro/good", timeout=5).json()}


def assert_browser_events(events: dict[str, dict[str, Any]], page_origin: str) -> None:
    """Check the decoded page view, link click and struct event from the browser."""
    assert set(events) == {"page_view", "unstruct", "struct"}
    for event in events.values():
        e = event["event"]
        assert event["contexts"] == [WEB_PAGE]
        [entity] = e["contexts"]["data"]
        assert entity["schema"] == WEB_PAGE and len(entity["data"]["id"]) == 36
        assert e["app_id"] == "browser-test" and e["platform"] == "web" and e["name_tracker"] == "bt"
        assert e["v_tracker"].startswith("js-4.")
        assert e["page_url"] == f"{page_origin}/index.html" and e["page_urlpath"] == "/index.html"
        assert e["page_urlport"] == int(page_origin.rsplit(":", 1)[1])
        assert e["useragent"] and "Chrome" in e["useragent"]
        assert e["domain_userid"] and e["domain_sessionid"] and e["domain_sessionidx"] == 1
        assert isinstance(e["br_viewwidth"], int) and isinstance(e["dvce_screenwidth"], int)
        assert e["br_cookies"] is True and e["br_lang"]
        assert event["rawEvent"]["context"]["headers"]
    assert events["page_view"]["event"]["page_title"] == "Checkout page"
    click = events["unstruct"]
    assert click["schema"] == LINK_CLICK
    assert click["event"]["unstruct_event"] == {"schema": UNSTRUCT, "data": {
        "schema": LINK_CLICK, "data": {"targetUrl": "https://shop.test/pay", "elementId": "pay"}}}
    struct = events["struct"]["event"]
    assert (struct["se_category"], struct["se_action"], struct["se_label"], struct["se_property"]) == (
        "checkout", "click", "pay", "button")
    assert struct["se_value"] == 3.5


def assert_cookie_accepted(page, collector_url: str) -> str:
    """Check the browser kept the collector's sp cookie and the events carry it; return its value."""
    cookies = [c for c in page.context.cookies(collector_url) if c["name"] == "sp"]
    assert len(cookies) == 1, page.context.cookies()
    [cookie] = cookies
    assert cookie["sameSite"] == "Lax" and cookie["secure"] is False and cookie["path"] == "/"
    return cookie["value"]


def test_browser_post_batches_with_plain_json_arrive_decoded_with_cors_and_cookie(page, page_origin, live_server):
    problems = run_tracker(page, page_origin, live_server.url, "post", False)
    counts = wait_for_count(live_server.url, 3)
    assert counts == {"total": 3, "good": 3, "bad": 0}, requests.get(f"{live_server.url}/micro/bad", timeout=5).text
    events = good_by_type(live_server.url)
    assert_browser_events(events, page_origin)
    for event in events.values():
        raw = event["rawEvent"]
        assert raw["api"] == {"vendor": SNOWPLOW, "version": "tp2"}
        assert raw["contentType"].lower().startswith("application/json")
        assert "co" in raw["parameters"] and "cx" not in raw["parameters"]
        assert any(h.lower() == f"origin: {page_origin}" for h in raw["context"]["headers"])
    assert "ue_pr" in events["unstruct"]["rawEvent"]["parameters"]
    assert not [p for p in problems if "CORS" in p or "failed" in p], problems
    # The first request had no cookie: the browser accepted the one it was given and sent it back.
    value = assert_cookie_accepted(page, live_server.url)
    assert value in {e["event"]["network_userid"] for e in events.values()}


def test_browser_get_with_unpadded_base64_arrives_decoded_with_cors_and_cookie(page, page_origin, live_server):
    problems = run_tracker(page, page_origin, live_server.url, "get", True)
    counts = wait_for_count(live_server.url, 3)
    assert counts == {"total": 3, "good": 3, "bad": 0}, requests.get(f"{live_server.url}/micro/bad", timeout=5).text
    events = good_by_type(live_server.url)
    assert_browser_events(events, page_origin)
    encoded = []
    for event in events.values():
        raw = event["rawEvent"]
        assert raw["api"] == {"vendor": SNOWPLOW, "version": "tp1"} and raw["contentType"] is None
        assert "cx" in raw["parameters"] and "co" not in raw["parameters"]
        encoded.append(raw["parameters"]["cx"])
    encoded.append(events["unstruct"]["rawEvent"]["parameters"]["ue_px"])
    assert not any(value.endswith("=") for value in encoded)
    assert any(len(value) % 4 for value in encoded), "no value needed padding, so none shows it was stripped"
    assert not [p for p in problems if "CORS" in p or "failed" in p], problems
    value = assert_cookie_accepted(page, live_server.url)
    assert value in {e["event"]["network_userid"] for e in events.values()}
