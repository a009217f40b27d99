"""Honest offline in the UI (real Chromium): the registry banner, three counts, is:unverified, "not checked"."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from support import LINK_CLICK, PAYLOAD_DATA, UNSTRUCT

pytestmark = pytest.mark.browser

TP2 = "/com.snowplowanalytics.snowplow/tp2"
WAIT_MS = 8000


def send(url: str, *events: dict[str, str]) -> None:
    """POST a tp2 batch as a browser tracker would."""
    batch = [{"tv": "js-3.0.0", "p": "web", "eid": str(uuid.uuid4()), **e} for e in events]
    assert requests.post(url + TP2, json={"schema": PAYLOAD_DATA, "data": batch}, timeout=10).status_code == 200


def link_click(data: dict[str, Any], app_id: str) -> dict[str, str]:
    """Return a tp2 link_click event with this self-describing data."""
    return {"e": "ue", "aid": app_id,
            "ue_pr": json.dumps({"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": data}})}


def rows(page: Page, text: str | None = None):
    """Return the list's event rows, optionally only those containing `text`."""
    locator = page.locator("#list .row[data-id]:not([hidden])")
    return locator.filter(has_text=text) if text else locator


@pytest.fixture
def offline(make_live_server: Any, refused_url: str, page: Page) -> tuple[Any, Page]:
    """A dashboard whose only registry refuses connections, shown in a page, with three kinds of event stored."""
    live = make_live_server(iglu_registries=[refused_url], iglu_dirs=[], iglu_defaults=False)
    page.goto(live.url + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(page.locator("#registry-banner")).to_be_hidden()  # nothing asked yet: nothing known to be down
    send(live.url, {"e": "pv", "aid": "checked", "url": "https://shop.example.com/"},
         link_click({"elementId": "no-target"}, "unchecked"),
         {"e": "pv", "aid": "broken", "eid": "not-a-uuid"})
    expect(rows(page)).to_have_count(3, timeout=WAIT_MS)
    return live, page


def test_the_banner_names_the_unreachable_registry_and_the_fixes(offline: tuple[Any, Page], refused_url: str) -> None:
    _live, page = offline
    banner = page.locator("#registry-banner")
    expect(banner).to_be_visible(timeout=WAIT_MS)
    expect(banner).to_contain_text("Iglu registry unreachable")
    expect(banner).to_contain_text(refused_url)
    expect(banner).to_contain_text("connection refused")
    expect(banner).to_contain_text("1 event shows as unverified")
    for fix in ("micro-dashboard schemas pull", "--iglu-dir", "--strict"):
        expect(banner).to_contain_text(fix)


def test_the_header_and_title_count_valid_unverified_and_invalid_apart(offline: tuple[Any, Page]) -> None:
    _live, page = offline
    expect(page.locator("#count-unverified")).to_have_text("1", timeout=WAIT_MS)
    expect(page.locator("#count-good")).to_have_text("1")
    expect(page.locator("#count-bad")).to_have_text("1")
    expect(page).to_have_title("1 ✓ 1 ? 1 ✗ · micro-dashboard")


def test_the_search_box_reads_is_unverified(offline: tuple[Any, Page]) -> None:
    _live, page = offline
    page.locator("#search").fill("is:unverified")
    page.locator("#search").press("Enter")
    expect(rows(page)).to_have_count(1, timeout=WAIT_MS)
    expect(rows(page).first).to_contain_text("link_click")
    expect(page.locator("#search-error")).to_be_hidden()
    page.locator("#search").fill("-is:unverified")
    page.locator("#search").press("Enter")
    expect(rows(page)).to_have_count(2, timeout=WAIT_MS)
    expect(rows(page, "link_click")).to_have_count(0)


def test_the_failures_tab_of_an_unverified_event_says_not_checked_and_why(offline: tuple[Any, Page]) -> None:
    _live, page = offline
    rows(page, "link_click").click()
    panel = page.locator("#detail")
    panel.get_by_role("tab", name="Failures").click()
    body = panel.locator("#detail-body")
    expect(body.locator(".not-checked")).to_be_visible(timeout=WAIT_MS)
    expect(body).to_contain_text("not checked")
    expect(body).to_contain_text("connection refused", timeout=WAIT_MS)  # the entity's note, once loaded
    expect(body).to_contain_text(LINK_CLICK)
    expect(body).not_to_contain_text("this event is valid")
