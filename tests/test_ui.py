"""The live UI in real Chromium: events appear as they land, detail, search, columns, pause, clear, safety."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from dashboards import Dashboards, LiveServer
from playwright.sync_api import Page, expect
from snowplow_tracker import Emitter, PageView, SelfDescribingJson, StructuredEvent, Subject, Tracker
from support import CONTEXTS, IGLU_CENTRAL, IGLU_GITLAB, LINK_CLICK, PAYLOAD_DATA, UNSTRUCT, WEB_PAGE, free_port

from micro_dashboard.demo import send_demo_burst
from micro_dashboard.tracking import EventContext, InternalEventsClient, event_context

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
IGLU_DIRS = [str(IGLU_CENTRAL), str(IGLU_GITLAB)]
TP2 = "/com.snowplowanalytics.snowplow/tp2"
WAIT_MS = 8000
XSS = ["<script>window.__xss=1</script>", '<img src=x onerror="window.__xss=1">', '"><svg onload=window.__xss=1>']


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Validate against the Iglu Central and GitLab schemas kept beside the repository."""
    return {"db": str(tmp_path / "events.db"), "iglu_defaults": False, "iglu_dirs": IGLU_DIRS}


def tracker(url: str, app_id: str = "ui-test", namespace: str = "ui-tracker") -> Tracker:
    """Return a real Python tracker that sends each event at once."""
    emitter = Emitter(url, method="post", batch_size=1, request_timeout=10)
    return Tracker(namespace, emitters=emitter, app_id=app_id, subject=Subject().set_user_id("ui-user"))


def send_struct(url: str, label: str, app_id: str = "ui-test", **kwargs: Any) -> None:
    """Send one structured event with the real tracker."""
    t = tracker(url, app_id)
    t.track(StructuredEvent(category=kwargs.pop("category", "ui"), action=kwargs.pop("action", "click"),
                            label=label, **kwargs))
    t.flush()


def post_tp2(url: str, events: list[dict[str, str]], **kwargs: Any) -> requests.Response:
    """POST a tp2 batch as a browser tracker would."""
    batch = [{"tv": "js-3.0.0", "p": "web", "eid": str(uuid.uuid4()), **e} for e in events]
    return requests.post(url + TP2, json={"schema": PAYLOAD_DATA, "data": batch}, timeout=10, **kwargs)


def open_dashboard(page: Page, url: str, query: str = "") -> Page:
    """Open the dashboard and wait until its live feed is connected."""
    page.goto(f"{url}/{query}")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    return page


def rows(page: Page, text: str | None = None):
    """Return the list's event rows, optionally only those containing `text`."""
    locator = page.locator("#list .row[data-id]:not([hidden])")
    return locator.filter(has_text=text) if text else locator


@pytest.fixture
def dashboard(live_server: Any, page: Page) -> Iterator[Page]:
    """A page showing the live dashboard of a fresh server."""
    yield open_dashboard(page, live_server.url)


def test_event_from_the_python_tracker_appears_without_reload(live_server: Any, dashboard: Page) -> None:
    label = f"live-{uuid.uuid4().hex[:8]}"
    send_struct(live_server.url, label, action="add_to_basket", category="shop")
    row = rows(dashboard, label)
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator(".ev-name")).to_have_text("add_to_basket")  # the action leads, the category follows
    expect(row.locator(".ev-cat")).to_have_text("shop")
    expect(row).to_contain_text("ui-tracker")
    expect(row).to_contain_text("valid")
    expect(dashboard).to_have_title("1 ✓ 0 ✗ · micro-dashboard")


@pytest.mark.needs_iglu_central
def test_detail_panel_shows_entities_with_schema_and_validity(live_server: Any, dashboard: Page) -> None:
    t = tracker(live_server.url)
    context = SelfDescribingJson(WEB_PAGE, {"id": str(uuid.uuid4())})
    t.track(PageView(page_url="https://shop.example.com/p/1", page_title="Mug", context=[context]))
    t.flush()
    rows(dashboard, "page_view").first.locator(".c-time").click()
    panel = dashboard.locator("#detail")
    expect(panel).to_be_visible()
    expect(panel.locator("#detail-title")).to_have_text("page_view")
    panel.get_by_role("tab", name="Entities").click()
    entity = panel.locator(".entity").filter(has=dashboard.locator(f'code.schema[title="{WEB_PAGE}"]'))
    expect(entity).to_have_count(1)
    expect(entity.locator(".badge")).to_have_text("valid")
    panel.get_by_role("tab", name="Fields").click()
    expect(panel.locator("tr[data-field=page_url]")).to_contain_text("https://shop.example.com/p/1")
    panel.get_by_role("tab", name="Raw request").click()
    expect(panel.locator(".detail-body")).to_contain_text("POST " + TP2)
    expect(panel.locator(".detail-body")).to_contain_text("python-requests")


def test_invalid_events_show_each_failure_as_a_plain_sentence(live_server: Any, dashboard: Page) -> None:
    post_tp2(live_server.url, [{"e": "pv", "eid": "not-a-uuid", "aid": "bad-eid", "url": "https://x.example"}])
    requests.post(live_server.url + TP2, data="e=pv&aid=wrong-type", timeout=10,
                  headers={"Content-Type": "text/plain"})
    expect(rows(dashboard)).to_have_count(2, timeout=WAIT_MS)
    api = requests.get(live_server.url + "/api/events", params={"valid": "false"}, timeout=10).json()
    assert len(api["events"]) == 2
    for event in api["events"]:
        detail = requests.get(f"{live_server.url}/api/events/{event['id']}", timeout=10).json()
        sentences = [p["message"] for f in detail["failures"] for p in f["problems"]]
        assert sentences, detail
        row = dashboard.locator(f'#list .row[data-id="{event["id"]}"]')
        expect(row).to_have_class(re.compile(r"\brow invalid\b"))
        row.locator(".c-time").click()
        failures = dashboard.locator("#detail-body")
        expect(failures).to_have_attribute("data-tab", "failures")  # an invalid event opens on its reasons
        for sentence in sentences:
            expect(failures.locator(".sentence").filter(has_text=sentence).first).to_be_visible()
        paths = [p["path"] for f in detail["failures"] for p in f["problems"] if p["path"]]
        for path in paths:
            expect(failures.locator(".path").filter(has_text=path).first).to_be_visible()


def labels_in_list(page: Page, prefix: str) -> list[str]:
    """Return the labels of rows whose label starts with `prefix`, top to bottom."""
    return page.evaluate(
        """(prefix) => [...document.querySelectorAll('#list .row[data-id]:not([hidden])')]
            .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
            .map((r) => [...r.querySelectorAll('.chip.c-label')].map((c) => c.textContent.replace(/^label /, ''))
              .find((t) => t.startsWith(prefix)))
            .filter(Boolean)""", prefix)


def serve_on(dashboards: Dashboards, app: Any, port: int) -> LiveServer:
    """Serve the app on a fixed port, retrying while the old socket is being released."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return dashboards.serve(app, port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_reconnect_after_a_server_restart_shows_missed_events_once_in_order(
        app: Any, dashboards: Dashboards, page: Page) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve_on(dashboards, app, port)
    open_dashboard(page, url)
    send_struct(url, "before-0")
    expect(rows(page, "before-0")).to_have_count(1, timeout=WAIT_MS)
    server.server.stop()
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "live", timeout=WAIT_MS)
    # Meanwhile, events reach the same database through another server.
    other = dashboards.serve(app)
    for i in range(5):
        send_struct(other.url, f"missed-{i}")
    other.server.stop()
    serve_on(dashboards, app, port)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=15000)
    expect(rows(page, "missed-")).to_have_count(5, timeout=WAIT_MS)
    send_struct(url, "missed-5")
    expect(rows(page, "missed-")).to_have_count(6, timeout=WAIT_MS)
    assert labels_in_list(page, "missed-") == [f"missed-{i}" for i in range(5, -1, -1)]
    expect(rows(page, "before-0")).to_have_count(1)


def test_a_dropped_socket_replays_what_arrived_meanwhile(live_server: Any, dashboard: Page) -> None:
    # Keep the page from reconnecting until the events are stored, as a network outage would.
    dashboard.evaluate("""() => {
        window.__RealWebSocket = window.WebSocket;
        window.WebSocket = function () { throw new Error('offline'); };
        window.microDashboard.feed.drop();
    }""")
    expect(dashboard.locator("#connection")).not_to_have_attribute("data-state", "live", timeout=WAIT_MS)
    for i in range(4):
        send_struct(live_server.url, f"gap-{i}")
    dashboard.evaluate("() => { window.WebSocket = window.__RealWebSocket; }")
    expect(rows(dashboard, "gap-")).to_have_count(4, timeout=15000)
    assert labels_in_list(dashboard, "gap-") == ["gap-3", "gap-2", "gap-1", "gap-0"]


def test_polling_takes_over_when_no_websocket_can_open(live_server: Any, page: Page) -> None:
    page.add_init_script("window.WebSocket = function () { throw new Error('upgrades are stripped'); };")
    page.goto(live_server.url + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "polling", timeout=15000)
    send_struct(live_server.url, "polled-1")
    expect(rows(page, "polled-1")).to_have_count(1, timeout=WAIT_MS)
    expect(page).to_have_title("1 ✓ 0 ✗ · micro-dashboard", timeout=WAIT_MS)


def test_the_url_names_the_view_and_an_unknown_one_shows_the_events(live_server: Any, page: Page) -> None:
    send_struct(live_server.url, "viewed")
    open_dashboard(page, live_server.url, "?view=events&search=app:ui-test")
    expect(rows(page, "viewed")).to_have_count(1, timeout=WAIT_MS)
    assert "view=events" in page.url and "search=app%3Aui-test" in page.url  # kept when the view writes the URL
    expect(page.locator("#views a")).to_have_text(["Events", "Metrics"])  # the views to switch between
    open_dashboard(page, live_server.url, "?view=no-such-view")
    expect(rows(page, "viewed")).to_have_count(1, timeout=WAIT_MS)


def test_search_box_and_url_filter_the_list(live_server: Any, dashboard: Page) -> None:
    send_struct(live_server.url, "from-alpha", app_id="alpha")
    send_struct(live_server.url, "from-beta", app_id="beta")
    expect(rows(dashboard)).to_have_count(2, timeout=WAIT_MS)
    dashboard.locator("#search").fill("app:alpha")
    dashboard.locator("#search").press("Enter")
    expect(rows(dashboard)).to_have_count(1, timeout=WAIT_MS)
    expect(rows(dashboard).first).to_contain_text("from-alpha")
    assert "search=app%3Aalpha" in dashboard.url
    # A filtered view keeps following the live feed, with only what matches.
    send_struct(live_server.url, "alpha-again", app_id="alpha")
    send_struct(live_server.url, "beta-again", app_id="beta")
    expect(rows(dashboard, "alpha-again")).to_have_count(1, timeout=WAIT_MS)
    expect(rows(dashboard, "beta-")).to_have_count(0)
    # The URL alone reproduces a view.
    dashboard.goto(live_server.url + "/?search=app:beta")
    expect(dashboard.locator("#search")).to_have_value("app:beta")
    expect(rows(dashboard)).to_have_count(2, timeout=WAIT_MS)
    expect(rows(dashboard, "alpha")).to_have_count(0)
    # A token the language does not know is named, not silently ignored.
    dashboard.locator("#search").fill("bogus:thing")
    dashboard.locator("#search").press("Enter")
    expect(dashboard.locator("#search-error")).to_be_visible(timeout=WAIT_MS)
    expect(dashboard.locator("#search-error")).to_contain_text("bogus")


def test_a_filtered_view_follows_the_feed_with_its_columns_and_asks_the_api_nothing(
        live_server: Any, dashboard: Page) -> None:
    dashboard.goto(live_server.url + "/?search=app:gitlab&cols=gitlab_standard.realm")
    expect(dashboard.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    asked: list[str] = []
    dashboard.on("request", lambda request: asked.append(request.url) if "/api/events" in request.url else None)
    send_struct(live_server.url, "not-gitlab", app_id="shop")
    send_internal_events(live_server.url)
    row = rows(dashboard, "click_button")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator(".c-extra")).to_have_text("saas")  # the extra column came with the pushed row
    expect(row.locator(".gl")).to_contain_text("p:7")
    expect(row).to_contain_text("top_bar")  # se_property, from the summary
    expect(rows(dashboard)).to_have_count(2)
    expect(rows(dashboard, "not-gitlab")).to_have_count(0)
    assert asked == []


def link_click(data: dict[str, str]) -> dict[str, str]:
    """Return a tp2 link_click event with this self-describing data."""
    return {"e": "ue", "aid": "recheck",
            "ue_pr": json.dumps({"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": data}})}


@pytest.mark.needs_iglu_central
def test_a_row_shown_unverified_turns_invalid_once_its_schema_can_be_checked(
        make_live_server: Any, serve: Any, page: Page) -> None:
    port = free_port()  # the registry's address, down for now
    live = make_live_server(iglu_dirs=[], iglu_registries=[f"http://127.0.0.1:{port}"], iglu_timeout=0.5)
    open_dashboard(page, live.url)
    post_tp2(live.url, [link_click({"elementId": "no-target"})])
    expect(rows(page, "link_click")).to_have_count(1, timeout=WAIT_MS)
    [first] = requests.get(live.url + "/api/events", timeout=10).json()["events"]
    shown = page.locator(f'#list .row[data-id="{first["id"]}"]')
    expect(shown).to_have_class(re.compile(r"\brow unverified\b"))
    expect(shown.locator(".badge")).to_have_text("unverified")
    page.evaluate("() => { window.__sameDocument = true; }")
    serve(IGLU_CENTRAL, port=port)  # the registry comes up on the same address
    live.app.config["CHECKER"].resolver.forget()  # as if the failed registry's back-off period had passed
    post_tp2(live.url, [link_click({"targetUrl": "https://example.com/"})])  # its schema is fetched now
    expect(rows(page, "link_click")).to_have_count(2, timeout=WAIT_MS)
    expect(shown).to_have_class(re.compile(r"\brow invalid\b"), timeout=WAIT_MS)
    expect(shown.locator(".badge")).to_have_text("invalid")
    expect(shown).to_contain_text('required property "targetUrl" is missing')
    expect(page).to_have_title("1 ✓ 1 ✗ · micro-dashboard")
    assert page.evaluate("() => window.__sameDocument") is True  # changed in place, not by a reload


def test_time_presets_and_a_timeline_minute_filter(live_server: Any, dashboard: Page) -> None:
    send_struct(live_server.url, "recent")
    expect(rows(dashboard)).to_have_count(1, timeout=WAIT_MS)
    dashboard.locator("#ranges").get_by_role("button", name="5m").click()
    assert "range=5m" in dashboard.url
    expect(rows(dashboard)).to_have_count(1, timeout=WAIT_MS)
    bar = dashboard.locator("#bars .bar:not(.idle)").last
    expect(bar).to_be_visible(timeout=WAIT_MS)
    bar.click()
    expect(dashboard.locator("#minute-chip")).to_be_visible()
    assert "minute=" in dashboard.url
    expect(rows(dashboard)).to_have_count(1, timeout=WAIT_MS)


def test_column_picker_adds_a_column_remembered_in_url_and_storage(live_server: Any, dashboard: Page) -> None:
    send_struct(live_server.url, "with-user")
    expect(rows(dashboard)).to_have_count(1, timeout=WAIT_MS)
    dashboard.locator("#columns").click()
    dashboard.locator("#columns-filter").fill("user_id")
    dashboard.locator(".col-option").filter(has_text="user_id").first.locator("input").check()
    dashboard.get_by_role("button", name="Done").click()
    header = dashboard.locator("#list .row.header")
    expect(header).to_contain_text("user_id")
    expect(rows(dashboard).first.locator(".c-extra")).to_have_text("ui-user")
    assert "cols=user_id" in dashboard.url
    dashboard.goto(live_server.url + "/")
    expect(dashboard.locator("#list .row.header")).to_contain_text("user_id")


def test_an_entity_field_column_shows_its_value(live_server: Any, dashboard: Page) -> None:
    send_internal_events(live_server.url)
    expect(rows(dashboard, "project_created")).to_have_count(1, timeout=WAIT_MS)
    dashboard.goto(live_server.url + "/?cols=gitlab_standard.realm")
    expect(rows(dashboard, "project_created").locator(".c-extra")).to_have_text("saas", timeout=WAIT_MS)


def test_pause_counts_arrivals_and_resume_merges_them(live_server: Any, dashboard: Page) -> None:
    send_struct(live_server.url, "first")
    expect(rows(dashboard)).to_have_count(1, timeout=WAIT_MS)
    dashboard.locator("#pause").click()
    for i in range(3):
        send_struct(live_server.url, f"held-{i}")
    expect(dashboard.locator("#pending")).to_have_text("3 new", timeout=WAIT_MS)
    expect(rows(dashboard)).to_have_count(1)
    expect(dashboard).to_have_title("4 ✓ 0 ✗ · micro-dashboard")
    dashboard.locator("#pause").click()
    expect(rows(dashboard)).to_have_count(4)
    expect(dashboard.locator("#pending")).to_be_hidden()


def test_clear_is_confirmed_and_every_open_tab_follows(live_server: Any, dashboard: Page) -> None:
    other = open_dashboard(dashboard.context.new_page(), live_server.url)
    for i in range(3):
        send_struct(live_server.url, f"doomed-{i}")
    expect(rows(dashboard)).to_have_count(3, timeout=WAIT_MS)
    expect(rows(other)).to_have_count(3, timeout=WAIT_MS)
    dashboard.locator("#clear").click()
    dialog = dashboard.locator("#clear-dialog")
    expect(dialog).to_contain_text("Delete all 3 events?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(rows(dashboard)).to_have_count(3)
    dashboard.locator("#clear").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(rows(dashboard)).to_have_count(0, timeout=WAIT_MS)
    expect(rows(other)).to_have_count(0, timeout=WAIT_MS)
    expect(other).to_have_title("0 ✓ 0 ✗ · micro-dashboard")
    send_struct(live_server.url, "after-clear")
    expect(rows(other, "after-clear")).to_have_count(1, timeout=WAIT_MS)


def test_keyboard_moves_opens_closes_and_searches(live_server: Any, dashboard: Page) -> None:
    for i in range(3):
        send_struct(live_server.url, f"key-{i}")
    expect(rows(dashboard)).to_have_count(3, timeout=WAIT_MS)
    selected = dashboard.locator("#list .row.selected")
    dashboard.keyboard.press("j")
    expect(selected).to_contain_text("key-2")
    dashboard.keyboard.press("j")
    expect(selected).to_contain_text("key-1")
    dashboard.keyboard.press("k")
    expect(selected).to_contain_text("key-2")
    dashboard.keyboard.press("Enter")
    expect(dashboard.locator("#detail")).to_be_visible()
    expect(dashboard.locator("#detail-body")).to_contain_text("key-2")
    dashboard.keyboard.press("j")  # the open panel follows the selection
    expect(dashboard.locator("#detail-body")).to_contain_text("key-1")
    dashboard.keyboard.press("Escape")
    expect(dashboard.locator("#detail")).to_be_hidden()
    dashboard.keyboard.press("/")
    expect(dashboard.locator("#search")).to_be_focused()


def send_internal_events(url: str, user_id: int | None = 99) -> None:
    """Send GitLab internal events with a gitlab_standard context, as GitLab's Rails code does."""
    client = InternalEventsClient(enabled=True, endpoint=url, app_id="gitlab", batch_size=1)
    context = EventContext(environment="development", source="gitlab-rails", realm="saas", project_id=7,
                           namespace_id=42, plan="ultimate", instance_id="ui-test", host_name="gitlab.example.com")
    with event_context(context):
        client.track_event("project_created", {"label": "web"}, category="Projects::CreateService")
        client.track_event("click_button", {"label": "save", "property": "top_bar", "value": 3, "theme": "dark"},
                           category="ProjectsController", user_id=user_id)
    assert client.close(timeout=15)


def test_gitlab_internal_events_at_a_glance(live_server: Any, dashboard: Page) -> None:
    send_internal_events(live_server.url)
    row = rows(dashboard, "click_button")
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator(".ev-name")).to_have_text("click_button")
    expect(row.locator(".ev-cat")).to_have_text("ProjectsController")
    expect(row.locator(".gl")).to_contain_text("p:7", timeout=WAIT_MS)
    expect(row.locator(".gl")).to_contain_text("ns:42")
    expect(row.locator(".gl")).to_contain_text("ultimate")
    row.locator(".c-time").click()  # a chip's click offers its filter menu instead
    body = dashboard.locator("#detail-body")
    expect(dashboard.locator("#detail-tabs .tab.active")).to_have_text("GitLab", timeout=WAIT_MS)
    for key, value in [("action", "click_button"), ("category", "ProjectsController"), ("label", "save"),
                       ("property", "top_bar"), ("value", "3"), ("project_id", "7"), ("namespace_id", "42"),
                       ("plan", "ultimate"), ("user_id", "99")]:
        expect(body.locator(".gl-cell").filter(has=dashboard.locator(".gl-key", has_text=key)).first
               .locator(".gl-val")).to_have_text(value)
    expect(body.locator("pre.json").first).to_contain_text('"theme": "dark"')


def send_hostile_events(url: str) -> None:
    """Send the XSS corpus in every field the UI shows."""
    for i, payload in enumerate(XSS):
        t = tracker(url, app_id=payload, namespace=payload)
        t.track(StructuredEvent(category=payload, action=payload, label=payload, property_=payload, value=i))
        t.track(PageView(page_url=f"https://x.example/?q={payload}", page_title=payload, referrer=payload,
                         context=[SelfDescribingJson(WEB_PAGE, {"id": payload}),
                                  SelfDescribingJson("iglu:com.acme/hostile/jsonschema/1-0-0",
                                                     {payload: payload, "nested": [payload]})]))
        t.flush()
        headers = {"User-Agent": payload, "Referer": payload, "X-Evil": payload}
        requests.get(url + "/i", params={"e": "se", "se_ca": "hdr", "se_ac": payload, "eid": str(uuid.uuid4()),
                                         "tv": "js-3", "p": "web", "url": payload}, headers=headers, timeout=10)
        contexts = {"schema": CONTEXTS, "data": [{"schema": f"iglu:com.acme/x{payload}/jsonschema/1-0-0",
                                                  "data": {"v": payload}}]}
        post_tp2(url, [{"e": "ue", "aid": "hostile-schema", "co": json.dumps(contexts),
                        "ue_pr": json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/"
                                                       "jsonschema/1-0-0",
                                             "data": {"schema": f"iglu:com.acme/{payload}/jsonschema/1-0-0",
                                                      "data": {payload: payload}}})}],
                 headers={"User-Agent": payload})


def assert_nothing_injected(page: Page) -> None:
    """No script ran and no element from the corpus exists in the list or the panel."""
    assert page.evaluate("() => window.__xss") is None
    injected = page.evaluate(
        "() => document.querySelectorAll('#list img, #list svg, #list script, #detail img, #detail svg, "
        "#detail script, #list [onerror], #detail [onerror], #detail [onload]').length")
    assert injected == 0


def test_hostile_event_data_is_shown_as_text_never_as_html(live_server: Any, dashboard: Page) -> None:
    send_hostile_events(live_server.url)
    expect(rows(dashboard)).to_have_count(4 * len(XSS), timeout=WAIT_MS)
    expect(rows(dashboard, XSS[1]).first).to_be_visible()  # the markup is there, as text
    assert_nothing_injected(dashboard)
    count = rows(dashboard).count()
    for index in range(count):
        dashboard.locator("#list .row[data-id]:not([hidden])").nth(index).locator(".c-time").click()
        expect(dashboard.locator("#detail")).not_to_have_class("detail loading", timeout=WAIT_MS)
        for tab in dashboard.locator("#detail-tabs .tab").all():
            tab.click()
            assert_nothing_injected(dashboard)
    dashboard.locator("#search").fill(XSS[2])
    dashboard.locator("#search").press("Enter")
    dashboard.locator("#columns").click()
    expect(dashboard.locator(".col-option").first).to_be_visible(timeout=WAIT_MS)
    assert dashboard.evaluate("() => document.querySelectorAll('#columns-dialog img, #columns-dialog svg').length") == 0
    assert dashboard.evaluate("() => window.__xss") is None


def test_hostile_page_url_parameters_stay_text(live_server: Any, page: Page) -> None:
    send_struct(live_server.url, "plain")
    query = urlencode({"search": XSS[1], "cols": XSS[2], "app_id": XSS[0]})
    page.goto(f"{live_server.url}/?{query}")
    expect(page.locator("#search")).to_have_value(XSS[1])
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    page.goto(f"{live_server.url}/?cols=user_id,{XSS[1]}")
    expect(page.locator("#list .row.header")).to_contain_text("user_id", timeout=WAIT_MS)
    expect(rows(page, "plain")).to_have_count(1, timeout=WAIT_MS)
    assert page.evaluate("() => window.__xss") is None
    assert page.evaluate("() => document.querySelectorAll('body img, #list svg, #detail svg').length") == 0


def test_copy_json_and_copy_as_curl(live_server: Any, browser: Any) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = open_dashboard(context.new_page(), live_server.url)
    try:
        send_struct(live_server.url, "to-copy")
        rows(page, "to-copy").locator(".c-time").click()
        expect(page.locator("#copy-curl")).to_be_enabled(timeout=WAIT_MS)
        page.locator("#copy-json").click()
        expect(page.locator("#toast")).to_have_text("Copied JSON")
        assert json.loads(page.evaluate("() => navigator.clipboard.readText()"))["se_label"] == "to-copy"
        page.locator("#copy-curl").click()
        expect(page.locator("#toast")).to_have_text("Copied curl command")
        assert page.evaluate("() => navigator.clipboard.readText()").startswith("curl ")
    finally:
        context.close()


def test_ten_thousand_rows_render_only_what_is_visible(live_server: Any, dashboard: Page) -> None:
    dashboard.evaluate("""() => {
        const rows = Array.from({length: 10000}, (_, i) => ({id: 1e6 + i, event_id: null, valid: i % 7 !== 0,
          unverified: false, collector_tstamp: Date.now(), schema: null, app_id: 'bulk', platform: 'web',
          event: 'page_view', event_name: 'page_view', event_vendor: null, name_tracker: 'bulk', user_id: null,
          se_category: null, se_action: null, se_label: null, problems: []}));
        window.microDashboard.state.rows.push(...rows);
        rows.forEach((r) => window.microDashboard.state.byId.set(r.id, r));
        document.getElementById('list').dispatchEvent(new Event('scroll'));
    }""")
    expect(dashboard.locator("#list .spacer")).to_have_attribute("style", "height: 280000px;")
    dashboard.locator("#list").evaluate("(el) => { el.scrollTop = 140000; }")
    expect(rows(dashboard).filter(has_text="bulk").first).to_be_visible()
    assert dashboard.locator("#list .row").count() < 120


def test_screenshot_of_a_populated_dashboard(live_server: Any, browser: Any) -> None:
    send_demo_burst(live_server.url)
    send_internal_events(live_server.url)
    post_tp2(live_server.url, [{"e": "pv", "eid": "not-a-uuid", "aid": "shop-web", "url": "https://shop.example"}])
    context = browser.new_context(viewport={"width": 1440, "height": 860}, device_scale_factor=1)
    page = open_dashboard(context.new_page(), live_server.url)
    try:
        expect(rows(page, "click_button").first.locator(".gl")).to_contain_text("p:7", timeout=WAIT_MS)
        rows(page, "click_button").first.locator(".c-time").click()
        expect(page.locator("#detail-tabs .tab.active")).to_have_text("GitLab", timeout=WAIT_MS)
        page.mouse.move(0, 0)
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "dashboard.png"))
        # The README's screenshot is refreshed on request only, so that a test run leaves the checkout clean.
        if os.environ.get("MICRO_DASHBOARD_UPDATE_SCREENSHOT"):
            shutil.copyfile(artifacts / "dashboard.png", REPO / "docs" / "screenshot.png")
    finally:
        context.close()
