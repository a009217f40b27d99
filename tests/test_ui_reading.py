"""Issue 13 in real Chromium, 1024x768 and dark: readable rows, the search in the users' words, the keyboard,
click to filter, narrow widths, the best tab, exact Clear, the setup panel, following the stream, small defects."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from support import IGLU_CENTRAL, IGLU_GITLAB, LINK_CLICK, UNSTRUCT
from test_ui import post_tp2, rows, send_internal_events, send_struct

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
WAIT_MS = 10000


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Validate against the Iglu Central and GitLab schemas kept beside the repository."""
    return {"db": str(tmp_path / "events.db"), "iglu_defaults": False,
            "iglu_dirs": [str(IGLU_CENTRAL), str(IGLU_GITLAB)]}


@pytest.fixture
def narrow(browser: Any) -> Iterator[Page]:
    """A 1024x768 page in dark mode that may use the clipboard."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, color_scheme="dark",
                                  permissions=["clipboard-read", "clipboard-write"])
    yield context.new_page()
    context.close()


def open_live(page: Page, url: str, query: str = "") -> Page:
    """Open the dashboard and wait until its live feed is connected."""
    page.goto(f"{url}/{query}")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    return page


def link_click(data: dict[str, Any], app_id: str = "links") -> dict[str, str]:
    """Return a tp2 link_click event with this self-describing data."""
    return {"e": "ue", "aid": app_id,
            "ue_pr": json.dumps({"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": data}})}


def search(page: Page, text: str) -> None:
    """Type a search with the keyboard and apply it."""
    page.locator("#search").fill(text)
    page.locator("#search").press("Enter")


def inside_list(page: Page, selector: str) -> bool:
    """Whether an element of the first row is wholly inside the list's visible box."""
    return page.evaluate("""(selector) => {
        const list = document.getElementById('list').getBoundingClientRect();
        const rows = [...document.querySelectorAll('#list .row[data-id]:not([hidden])')]
          .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        const box = rows[0].querySelector(selector).getBoundingClientRect();
        return box.width > 0 && box.left >= list.left && box.right <= list.right + 1;
    }""", selector)


# -- 1. GitLab rows readable at any width ----------------------------------------------------------------------------

def test_gitlab_rows_lead_with_the_action_and_label_their_chips(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    send_internal_events(live_server.url)
    row = rows(narrow, "click_button")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator(".ev-name")).to_have_text("click_button")
    expect(row.locator(".ev-cat")).to_have_text("ProjectsController")
    assert row.locator(".ev-name").evaluate("(el) => getComputedStyle(el).fontWeight") in ("600", "700")
    expect(row.locator(".chip.c-label")).to_have_text("label save")
    expect(row.locator(".chip.c-prop")).to_have_text("property top_bar")
    expect(row.locator(".chip.c-val")).to_have_text("value 3")
    expect(row.locator(".c-schema")).to_have_text("struct")
    # The ids chip is neutral: the chips' own tone, not GitLab's orange-red next to real failures.
    tones = row.evaluate("""(r) => [r.querySelector('.gl'), r.querySelector('.chip.c-label')]
        .map((el) => getComputedStyle(el).backgroundColor)""")
    assert tones[0] == tones[1]
    assert inside_list(narrow, ".ev-name") and inside_list(narrow, ".c-mark .mark")


# -- 2. Their words in the search ------------------------------------------------------------------------------------

def test_search_aliases_key_equals_value_hints_and_no_wrong_total(live_server: Any, narrow: Page) -> None:
    logged: list[str] = []
    narrow.on("console", lambda m: logged.append(m.text) if m.type == "error" else None)
    open_live(narrow, live_server.url)
    send_internal_events(live_server.url)
    send_struct(live_server.url, "plain", app_id="shop")
    expect(rows(narrow)).to_have_count(3, timeout=WAIT_MS)
    for text, expected in [("action:click_button", 1), ("category:Projects::CreateService", 1),
                           ("label:save value:3", 1), ("property:top_bar", 1), ("project_id:7", 2),
                           ("namespace_id=42", 2), ("plan:ultimate -action:project_created", 1), ("user_id:99", 1),
                           ("has:com.gitlab/gitlab_standard", 2), ("-project_id:7", 1)]:
        search(narrow, text)
        expect(rows(narrow)).to_have_count(expected, timeout=WAIT_MS)
        expect(narrow.locator("#search-error")).to_be_hidden()
    narrow.locator("#search").fill("acton:click_button")  # typed, never submitted: the pause applies it
    expect(narrow.locator("#search-error")).to_contain_text("did you mean action:", timeout=WAIT_MS)
    expect(narrow.locator("#shown")).to_have_text("Search not applied: fix it to see events")
    expect(narrow.locator("#shown")).not_to_contain_text("matching")
    narrow.locator("#search").fill("is:invlid")
    expect(narrow.locator("#search-error")).to_contain_text("did you mean is:invalid", timeout=WAIT_MS)
    assert not [m for m in logged if "400" in m], logged  # a refused search is asked about, never fetched


def test_autocomplete_offers_keys_then_the_top_values_by_keyboard(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    send_internal_events(live_server.url)
    send_struct(live_server.url, "other", app_id="shop")
    expect(rows(narrow)).to_have_count(3, timeout=WAIT_MS)
    narrow.keyboard.press("/")
    narrow.keyboard.type("proj")
    suggestions = narrow.locator("#suggestions .suggestion")
    expect(suggestions.first).to_contain_text("project_id:", timeout=WAIT_MS)
    narrow.keyboard.press("ArrowDown")
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#search")).to_have_value("project_id:")
    expect(suggestions.first).to_contain_text("project_id:7", timeout=WAIT_MS)
    expect(suggestions.first).to_contain_text("2×")
    narrow.keyboard.press("ArrowDown")
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#search")).to_have_value("project_id:7 ")
    expect(rows(narrow)).to_have_count(2, timeout=WAIT_MS)
    narrow.keyboard.press("Escape")
    narrow.keyboard.press("?")  # the help: the syntax as the server describes it
    help_dialog = narrow.locator("#help-dialog")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.locator("#help-aliases")).to_contain_text("action: se_action")
    expect(help_dialog.locator("#help-syntax")).to_contain_text("has:gitlab_standard")
    narrow.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()


def test_values_and_search_help_endpoints(live_server: Any) -> None:
    send_internal_events(live_server.url)
    send_struct(live_server.url, "x", app_id="shop")
    api = live_server.url + "/api"
    requests.get(api + "/events", timeout=10)  # reads wait for the pipeline
    values = requests.get(api + "/values", params={"key": "app"}, timeout=10).json()["values"]
    assert values == [{"value": "gitlab", "count": 2}, {"value": "shop", "count": 1}]
    assert requests.get(api + "/values", params={"key": "app", "prefix": "sh"}, timeout=10).json()["values"] == [
        {"value": "shop", "count": 1}]
    assert requests.get(api + "/values", params={"key": "project_id"}, timeout=10).json()["values"] == [
        {"value": 7, "count": 2}]
    assert requests.get(api + "/values", params={"key": "action"}, timeout=10).json()["values"][0]["count"] == 1
    refused = requests.get(api + "/values", params={"key": "acton"}, timeout=10)
    assert refused.status_code == 400 and "did you mean action" in refused.json()["error"]
    assert requests.get(api + "/values", timeout=10).status_code == 400
    help_ = requests.get(api + "/search-help", params={"search": "plan:free app=x"}, timeout=10).json()
    assert help_["check"] == {"ok": True, "error": None} and help_["aliases"]["action"] == ["se_action"]
    bad = requests.get(api + "/search-help", params={"search": "bogus:1"}, timeout=10)
    assert bad.status_code == 200 and not bad.json()["check"]["ok"]


# -- 3. Keyboard -----------------------------------------------------------------------------------------------------

def focused(page: Page) -> str:
    """Return the focused element's id, or its role and text."""
    return page.evaluate("() => { const el = document.activeElement; return el.id || "
                         "`${el.getAttribute('role')}:${el.textContent.trim()}`; }")


def test_keyboard_only_reading(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    send_internal_events(live_server.url)
    expect(rows(narrow)).to_have_count(2, timeout=WAIT_MS)
    presses = 0
    while focused(narrow) != "list":  # the timeline is one stop: the list is reached quickly
        narrow.keyboard.press("Tab")
        presses += 1
        assert presses < 10, focused(narrow)
    narrow.keyboard.press("j")
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#detail")).to_be_visible()
    expect(narrow.locator("#detail-tabs .tab.active")).to_be_focused(timeout=WAIT_MS)  # focus moved in
    expect(narrow.locator("#detail-tabs .tab.active")).to_have_text("GitLab")
    narrow.keyboard.press("ArrowRight")
    expect(narrow.locator("#detail-tabs .tab.active")).to_have_text("Fields")
    expect(narrow.locator("#detail-tabs .tab.active")).to_be_focused()
    narrow.keyboard.press("5")
    expect(narrow.locator("#detail-body")).to_have_attribute("data-tab", "failures")
    narrow.keyboard.press("Escape")
    expect(narrow.locator("#detail")).to_be_hidden()
    expect(narrow.locator("#list")).to_be_focused()  # back to the row
    expect(narrow.locator("#list .row.selected")).to_have_count(1)
    narrow.locator("#pause").focus()
    narrow.keyboard.press("Enter")  # a selected row no longer swallows Enter on a button
    expect(narrow.locator("#pause")).to_have_attribute("aria-pressed", "true")
    expect(narrow.locator("#detail")).to_be_hidden()
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#pause")).to_have_attribute("aria-pressed", "false")
    narrow.locator("#columns").focus()
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#columns-filter")).to_be_focused(timeout=WAIT_MS)
    narrow.keyboard.type("user")
    narrow.keyboard.press("Escape")  # one press closes it, text or not
    expect(narrow.locator("#columns-dialog")).to_be_hidden()


def test_the_timeline_is_one_tab_stop_with_arrows_inside(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url, "?range=1h")
    send_struct(live_server.url, "bar")
    expect(narrow.locator("#bars .bar")).to_have_count(60, timeout=WAIT_MS)
    expect(narrow.locator("#bars .bar:not(.idle)")).to_have_count(1, timeout=WAIT_MS)  # the arrival is drawn
    assert narrow.locator('#bars .bar[tabindex="0"]').count() == 1
    narrow.locator('#bars .bar[tabindex="0"]').focus()
    narrow.keyboard.press("ArrowLeft")
    narrow.keyboard.press("ArrowLeft")
    assert narrow.evaluate("() => [...document.querySelectorAll('#bars .bar')].indexOf(document.activeElement)") == 57
    assert narrow.locator('#bars .bar[tabindex="0"]').count() == 1


# -- 4. Click to filter ----------------------------------------------------------------------------------------------

def choose(page: Page, item: str) -> None:
    """Pick an item of the open filter menu."""
    page.locator("#filter-menu").get_by_role("menuitem", name=re.compile(item)).click()


def test_click_a_value_to_filter_to_it_or_exclude_it(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    send_internal_events(live_server.url)
    send_struct(live_server.url, "elsewhere", app_id="shop")
    expect(rows(narrow)).to_have_count(3, timeout=WAIT_MS)
    rows(narrow, "click_button").locator(".chip.c-label").click()  # a chip in the list
    choose(narrow, "Filter to")
    expect(narrow.locator("#search")).to_have_value("label:save")
    expect(rows(narrow)).to_have_count(1, timeout=WAIT_MS)
    rows(narrow).locator(".c-time").click()
    expect(narrow.locator("#detail")).not_to_have_class(re.compile(r"\bloading\b"), timeout=WAIT_MS)
    cell = narrow.locator(".gl-cell").filter(has=narrow.locator(".gl-key", has_text="project_id"))
    cell.focus()
    narrow.keyboard.press("Enter")  # a GitLab cell, by keyboard
    narrow.keyboard.press("ArrowDown")
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#search")).to_have_value("label:save -project_id:7")
    expect(rows(narrow)).to_have_count(0, timeout=WAIT_MS)
    search(narrow, "")
    narrow.keyboard.press("Escape")  # out of the search box: digits are keys again
    expect(rows(narrow)).to_have_count(3, timeout=WAIT_MS)
    rows(narrow, "project_created").locator(".c-time").click()
    narrow.keyboard.press("4")  # Entities
    narrow.locator(".entity header").first.click()
    choose(narrow, "Events with this entity")
    expect(narrow.locator("#search")).to_have_value("has:gitlab_standard")
    expect(rows(narrow)).to_have_count(2, timeout=WAIT_MS)
    rows(narrow, "click_button").locator(".c-time").click()
    narrow.keyboard.press("2")  # Fields
    narrow.locator("tr[data-field=app_id] .value").click()
    choose(narrow, "Exclude")
    expect(narrow.locator("#search")).to_have_value("has:gitlab_standard -app_id:gitlab")
    expect(rows(narrow)).to_have_count(0, timeout=WAIT_MS)


# -- 5. Narrow widths and an open panel ------------------------------------------------------------------------------

def test_status_and_action_survive_an_open_panel_which_resizes_and_remembers(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    post_tp2(live_server.url, [{"e": "se", "aid": "a-rather-long-application-name", "se_ca": "Projects::Pipelines"
                                "Controller::Something::Long", "se_ac": "click_button", "eid": "not-a-uuid"}])
    expect(rows(narrow)).to_have_count(1, timeout=WAIT_MS)
    rows(narrow).locator(".c-time").click()
    expect(narrow.locator("#detail")).to_be_visible()
    assert inside_list(narrow, ".c-mark .mark") and inside_list(narrow, ".ev-name")
    expect(rows(narrow).locator(".mark")).to_have_text("✗")
    title = narrow.locator("#detail-title")
    assert title.evaluate("(el) => getComputedStyle(el).overflowWrap") == "break-word"  # not mid-word
    width = narrow.locator("#detail").evaluate("(el) => el.getBoundingClientRect().width")
    narrow.locator("#detail-resize").focus()
    for _ in range(3):
        narrow.keyboard.press("ArrowLeft")
    wider = narrow.locator("#detail").evaluate("(el) => el.getBoundingClientRect().width")
    assert wider == pytest.approx(width + 120, abs=2)
    narrow.reload()
    rows(narrow).locator(".c-time").click()
    expect(narrow.locator("#detail")).to_be_visible()
    assert narrow.locator("#detail").evaluate("(el) => el.getBoundingClientRect().width") == pytest.approx(wider, abs=2)
    # The tabs overflow a narrow panel: arrows scroll them, and the last one can be reached.
    for _ in range(8):
        narrow.locator("#detail-resize").press("ArrowRight")
    expect(narrow.locator("#tabs-right")).to_be_visible()
    narrow.locator("#tabs-right").click()
    narrow.locator("#tabs-right").click()
    expect(narrow.locator("#detail-tabs .tab", has_text="Raw request")).to_be_in_viewport()


# -- 6. The most useful tab, readable schemas, grouped fields ------------------------------------------------------

@pytest.mark.needs_iglu_central
def test_each_event_opens_on_its_most_useful_tab(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    post_tp2(live_server.url, [link_click({"targetUrl": "https://example.com/"}),
                               link_click({"targetUrl": 42}, app_id="broken-link")])
    send_struct(live_server.url, "with-json", property_='{"plan": "free", "seats": [1, 2]}')
    expect(rows(narrow)).to_have_count(3, timeout=WAIT_MS)
    rows(narrow, "broken-link").locator(".c-time").click()
    body = narrow.locator("#detail-body")
    expect(body).to_have_attribute("data-tab", "failures", timeout=WAIT_MS)
    expect(body.locator(".problem .offending").first).to_have_text("value: 42")  # what the sentence is about
    narrow.keyboard.press("Escape")
    expect(narrow.locator("#detail")).to_be_hidden()
    rows(narrow, "links").locator(".c-time").click()
    expect(body).to_have_attribute("data-tab", "sde", timeout=WAIT_MS)
    schema = body.locator(".entity code.schema").first
    expect(schema).to_have_text("com.snowplowanalytics.snowplow/link_click 1-0-1")
    expect(schema.locator(".schema-name")).to_have_text("link_click")
    assert schema.locator(".vendor").evaluate("(el) => getComputedStyle(el).opacity") == "0.75"
    rows(narrow, "with-json").locator(".c-time").click()
    expect(body).to_have_attribute("data-tab", "fields", timeout=WAIT_MS)
    expect(body.locator(".field-group h4")).to_contain_text(["Event", "App and tracker", "User and session"])
    expect(body.locator("tr[data-field=se_property] .json-string pre.json")).to_contain_text('"seats"')
    body.locator(".fields-filter").fill("se_")
    expect(body.locator("tr[data-field=app_id]")).to_have_count(0)
    body.locator("tr[data-field=se_label] .pin").click()
    body.locator(".fields-filter").fill("")
    expect(body.locator(".field-group").first.locator("h4")).to_have_text("Pinned")
    expect(body.locator(".field-group").first).to_contain_text("with-json")


def test_an_unverified_event_opens_on_not_checked(make_live_server: Any, refused_url: str, narrow: Page) -> None:
    live = make_live_server(iglu_registries=[refused_url], iglu_dirs=[], iglu_defaults=False)
    open_live(narrow, live.url)
    post_tp2(live.url, [link_click({"elementId": "no-target"}, app_id="unchecked")])
    expect(rows(narrow)).to_have_count(1, timeout=WAIT_MS)
    expect(rows(narrow).locator(".mark")).to_have_text("?")
    rows(narrow).locator(".c-time").click()
    expect(narrow.locator("#detail-body")).to_have_attribute("data-tab", "failures", timeout=WAIT_MS)
    expect(narrow.locator("#detail-body .not-checked")).to_contain_text("Not checked")


# -- 7. Clear says exactly what it deletes ---------------------------------------------------------------------------

def test_clear_applies_the_typed_search_and_says_what_it_deletes(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url, "?range=5m")
    send_struct(live_server.url, "keep", app_id="beta")
    send_struct(live_server.url, "doomed-1", app_id="alpha")
    expect(rows(narrow)).to_have_count(2, timeout=WAIT_MS)
    narrow.locator("#search").fill("app:alpha")
    narrow.locator("#clear").click()  # within the typing pause
    message = narrow.locator("#clear-message")
    expect(message).to_have_text("Delete 1 event matching `app:alpha` in the last 5 minutes?", timeout=WAIT_MS)
    send_struct(live_server.url, "doomed-2", app_id="alpha")
    expect(message).to_have_text("Delete 2 events matching `app:alpha` in the last 5 minutes?", timeout=WAIT_MS)
    narrow.locator("#clear-confirm").click()
    expect(rows(narrow)).to_have_count(0, timeout=WAIT_MS)
    left = requests.get(live_server.url + "/api/events", timeout=10).json()["events"]
    assert [e["app_id"] for e in left] == ["beta"]


# -- 8. A setup panel when empty -------------------------------------------------------------------------------------

def test_setup_panel_when_empty_and_send_test_event(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    setup = narrow.locator("#empty-hint")
    expect(setup).to_be_visible()
    for text in ("snowplow_tracker", "newTracker", "gdk config set snowplow_micro.enabled true",
                 "AIGW_INTERNAL_EVENT__ENABLED=true", "AIGW_INTERNAL_EVENT__BATCH_SIZE=1", "curl '",
                 "Change Destination", live_server.url):
        expect(setup).to_contain_text(text)
    expect(narrow.locator("#timeline")).to_be_hidden()
    setup.get_by_role("button", name="Copy the GitLab AI Gateway snippet").click()
    assert "AIGW_INTERNAL_EVENT__BATCH_SIZE=1" in narrow.evaluate("() => navigator.clipboard.readText()")
    narrow.locator("#send-test").click()
    expect(rows(narrow, "test_event")).to_have_count(1, timeout=WAIT_MS)
    expect(setup).to_be_hidden()
    expect(narrow.locator("#timeline")).to_be_visible(timeout=WAIT_MS)


# -- 9. Following the stream -----------------------------------------------------------------------------------------

def test_new_rows_flash_and_a_pill_counts_them_when_scrolled_down(live_server: Any, narrow: Page) -> None:
    post_tp2(live_server.url, [{"e": "se", "aid": "bulk", "se_ca": "c", "se_ac": f"a{i}"} for i in range(80)])
    open_live(narrow, live_server.url)
    expect(narrow.locator("#shown")).to_have_text("80 events", timeout=WAIT_MS)
    send_struct(live_server.url, "first-new")
    expect(rows(narrow, "first-new")).to_have_class(re.compile(r"\bfresh\b"), timeout=WAIT_MS)
    narrow.locator("#list").evaluate("(el) => { el.scrollTop = 1200; }")
    send_struct(live_server.url, "second-new")
    send_struct(live_server.url, "third-new")
    expect(narrow.locator("#new-pill")).to_have_text("2 new ↑", timeout=WAIT_MS)
    narrow.locator("#new-pill").click()
    expect(rows(narrow, "third-new")).to_be_in_viewport()
    expect(narrow.locator("#new-pill")).to_be_hidden()


def test_replay_resends_the_raw_request_and_marks_the_duplicate(live_server: Any, narrow: Page) -> None:
    open_live(narrow, live_server.url)
    send_struct(live_server.url, "replayed")
    expect(rows(narrow)).to_have_count(1, timeout=WAIT_MS)
    rows(narrow).locator(".c-time").click()
    expect(narrow.locator("#replay")).to_be_enabled(timeout=WAIT_MS)
    narrow.locator("#copy-curl").click()
    curl = narrow.evaluate("() => navigator.clipboard.readText()")
    assert curl.startswith("curl -X POST") and " \\\n  -H " in curl  # one option a line
    narrow.locator("#replay").click()
    expect(rows(narrow)).to_have_count(2, timeout=WAIT_MS)
    expect(rows(narrow).locator(".chip.c-dup")).to_have_count(1)  # marked live, in the browser
    narrow.reload()
    expect(rows(narrow).locator(".chip.c-dup")).to_have_count(1, timeout=WAIT_MS)  # and by the API
    events = requests.get(live_server.url + "/api/events", timeout=10).json()["events"]
    assert [e.get("duplicate", False) for e in events] == [True, False]
    assert events[0]["event_id"] == events[1]["event_id"]


# -- 10. Small defects -----------------------------------------------------------------------------------------------

def test_status_bar_timeline_ranges_and_favicon(live_server: Any, narrow: Page) -> None:
    for start in range(0, 1200, 400):
        post_tp2(live_server.url, [{"e": "pv", "aid": "many", "url": f"https://x.example/{i}"}
                                   for i in range(start, start + 400)])
    open_live(narrow, live_server.url)
    expect(narrow.locator("#shown")).to_contain_text("of 1,200 events", timeout=WAIT_MS)
    for _ in range(6):  # scroll to the end: the older pages load, and the status bar follows
        narrow.locator("#list").evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
        if narrow.locator("#shown").text_content() == "1,200 events":
            break
        narrow.wait_for_timeout(300)
    expect(narrow.locator("#shown")).to_have_text("1,200 events", timeout=WAIT_MS)
    narrow.locator("#ranges").get_by_role("button", name="5m").click()
    expect(narrow.locator("#bars .bar")).to_have_count(5, timeout=WAIT_MS)
    narrow.locator("#ranges").get_by_role("button", name="24h").click()
    expect(narrow.locator("#bars .bar")).to_have_count(48, timeout=WAIT_MS)
    missing: list[str] = []
    narrow.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    narrow.goto(live_server.url + "/demo")
    narrow.wait_for_load_state("networkidle")
    assert missing == []


# -- Screenshots -----------------------------------------------------------------------------------------------------

def test_screenshots_of_the_empty_state_and_three_kinds_of_event(
        make_live_server: Any, refused_url: str, browser: Any) -> None:
    live = make_live_server(iglu_registries=[refused_url], iglu_dirs=[str(IGLU_GITLAB)], iglu_defaults=False)
    context = browser.new_context(viewport={"width": 1440, "height": 860}, device_scale_factor=1)
    page = open_live(context.new_page(), live.url)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shots = []
    try:
        page.mouse.move(0, 0)
        expect(page.locator("#empty-hint")).to_be_visible()
        shots.append("empty")
        page.screenshot(path=str(artifacts / "screenshot-empty.png"))
        send_internal_events(live.url)
        post_tp2(live.url, [{"e": "pv", "eid": "not-a-uuid", "aid": "shop-web", "url": "https://shop.example"},
                            link_click({"elementId": "buy"}, app_id="shop-web")])
        for text, tab, name in [("not-a-uuid", "failures", "invalid"), ("link_click", "failures", "unverified"),
                                ("click_button", "gitlab", "gitlab")]:
            row = rows(page, text) if text != "not-a-uuid" else rows(page).filter(has=page.locator(".m-invalid"))
            expect(row).to_have_count(1, timeout=WAIT_MS)
            row.locator(".c-time").click()
            expect(page.locator("#detail-body")).to_have_attribute("data-tab", tab, timeout=WAIT_MS)
            expect(page.locator("#detail")).not_to_have_class(re.compile("loading"), timeout=WAIT_MS)
            page.mouse.move(0, 0)
            shots.append(name)
            page.screenshot(path=str(artifacts / f"screenshot-{name}.png"))
    finally:
        context.close()
    if os.environ.get("MICRO_DASHBOARD_UPDATE_SCREENSHOT"):
        for name in shots:
            shutil.copyfile(artifacts / f"screenshot-{name}.png", REPO / "docs" / f"screenshot-{name}.png")
    assert shots == ["empty", "invalid", "unverified", "gitlab"]

