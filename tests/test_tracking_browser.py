"""static/internal_events.js in real Chromium: a page on another origin sends events to the live dashboard."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from jsonschema import Draft4Validator
from snowplow_checks import good_events, wait_for_events
from support import GITLAB_STANDARD_FILE, QuietServer

pytestmark = pytest.mark.browser

STANDARD_SCHEMA = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8"
WEB_PAGE_SCHEMA = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"


class PageServer:
    """Serve test pages from their own origin, so the script and the collector are cross-origin."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = QuietServer(handler=Handler)
        self.url = self.server.url

    def add(self, html: str) -> str:
        """Publish a page and return its URL."""
        path = f"/{uuid.uuid4().hex}.html"
        self.pages[path] = html
        return self.url + path

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


class TrackedPage:
    """One browser page loading internal_events.js from the dashboard, with its console kept for failures."""

    def __init__(self, browser: Any, live_url: str, page_server: PageServer) -> None:
        self.live_url = live_url
        self.page_server = page_server
        self.app_id = f"browser-test-{uuid.uuid4().hex[:12]}"
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def open(self, body: str) -> None:
        """Load a page whose script tag configures app id, environment and standard context."""
        html = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Tracking test page</title>
<script src="{self.live_url}/static/internal_events.js" data-app-id="{self.app_id}" data-environment="test"
        data-context='{{"project_id": 7, "namespace_id": 9, "realm": "saas"}}'></script>
</head><body data-page="browser_test_page">{body}</body></html>"""
        self.page.goto(self.page_server.add(html))
        self.page.wait_for_function("window.InternalEvents !== undefined")

    def events(self) -> list[dict[str, Any]]:
        """Return this page's events from the dashboard's /micro/good."""
        return [item for item in good_events(self.live_url) if self.mine(item)]

    def mine(self, item: dict[str, Any]) -> bool:
        """Say whether an event of /micro/good came from this page."""
        return item["event"].get("app_id") == self.app_id

    def wait_for(
        self, count: int, predicate: Callable[[dict[str, Any]], bool] = lambda item: True, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        """Wait until count matching events of this page arrived; fail with the browser console otherwise."""
        return wait_for_events(self.live_url, lambda item: self.mine(item) and predicate(item), count, timeout,
                               context=lambda: f"; console: {self.console}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tracked_page(browser: Any, live_server: Any, page_server: PageServer) -> Iterator[TrackedPage]:
    """Open a page on its own origin that loads internal_events.js from the live dashboard."""
    page = TrackedPage(browser, live_server.url, page_server)
    yield page
    page.close()


@pytest.fixture(scope="module")
def standard_validator() -> Draft4Validator:
    """Return a draft-4 validator for gitlab_standard 1-1-8 from the shared Iglu directory."""
    return Draft4Validator(json.loads(GITLAB_STANDARD_FILE.read_text()))


def named(action: str) -> Callable[[dict[str, Any]], bool]:
    return lambda item: item["event"].get("se_action") == action


def entities(item: dict[str, Any], schema: str) -> list[dict[str, Any]]:
    return [e["data"] for e in (item["event"].get("contexts") or {}).get("data", []) if e["schema"] == schema]


@pytest.mark.needs_iglu_gitlab
def test_track_event_sends_a_structured_event_with_the_standard_context(
    tracked_page: TrackedPage, standard_validator: Draft4Validator
) -> None:
    tracked_page.open("<p>plain page</p>")
    tracked_page.page.evaluate(
        """() => {
            InternalEvents.track_event('browser_js_event',
                {label: 'js_label', property: 'js_property', value: 5, custom_key: 'custom'}, 'BrowserCategory');
            InternalEvents.trackEvent('browser_js_alias');
        }"""
    )
    (item,) = tracked_page.wait_for(1, named("browser_js_event"))
    event = item["event"]
    assert (event["se_category"], event["se_label"], event["se_property"]) == (
        "BrowserCategory",
        "js_label",
        "js_property",
    )
    assert float(event["se_value"]) == 5
    assert event["platform"] == "web"
    assert event["v_tracker"] == "js-internal-events-0.1"
    assert event["name_tracker"] == "gl"
    assert event["page_url"].startswith(tracked_page.page_server.url)
    assert event["page_title"] == "Tracking test page"

    (standard,) = entities(item, STANDARD_SCHEMA)
    assert not [e.message for e in standard_validator.iter_errors(standard)]
    assert standard["source"] == "gitlab-javascript"
    assert standard["environment"] == "test"
    assert (standard["project_id"], standard["namespace_id"], standard["realm"]) == (7, 9, "saas")
    assert standard["extra"] == {"custom_key": "custom"}
    (web_page,) = entities(item, WEB_PAGE_SCHEMA)
    assert str(uuid.UUID(web_page["id"])) == web_page["id"]

    parameters = item["rawEvent"]["parameters"]
    assert all(isinstance(value, str) for value in parameters.values())
    assert parameters["tv"] == "js-internal-events-0.1"

    (alias,) = tracked_page.wait_for(1, named("browser_js_alias"))
    # Without a category, the page's data-page names it, as GitLab's frontend does.
    assert alias["event"]["se_category"] == "browser_test_page"
    assert entities(alias, WEB_PAGE_SCHEMA) == [web_page]


def test_mixin_methods_send_events(tracked_page: TrackedPage) -> None:
    tracked_page.open("<p>component page</p>")
    tracked_page.page.evaluate(
        """() => {
            const component = Object.assign({name: 'Comp'}, InternalEvents.mixin().methods);
            component.track_event('browser_mixin_event', {label: 'snake_case'});
            component.trackEvent('browser_mixin_event', {label: 'camelCase', property: component.name});
        }"""
    )
    items = tracked_page.wait_for(2, named("browser_mixin_event"))
    assert sorted((i["event"]["se_label"], i["event"].get("se_property")) for i in items) == [
        ("camelCase", "Comp"),
        ("snake_case", None),
    ]


def test_click_on_an_element_nested_in_data_event_tracking_sends_its_event(tracked_page: TrackedPage) -> None:
    tracked_page.open(
        """<button data-event-tracking="browser_click_event" data-event-label="button_label"
                   data-event-property="button_property" data-event-value="3"
                   data-event-additional='{"theme": "dark", "count": 2}'>
             <span><b id="deep">Click</b></span>
           </button>
           <a id="zero" href="#" data-event-tracking="browser_zero_value" data-event-value="0"
              data-event-additional="{not json">zero</a>
           <p id="outside">not tracked</p>"""
    )
    tracked_page.page.click("#deep")
    tracked_page.page.click("#outside")
    tracked_page.page.click("#zero")
    (item,) = tracked_page.wait_for(1, named("browser_click_event"))
    event = item["event"]
    assert (event["se_label"], event["se_property"], float(event["se_value"])) == (
        "button_label",
        "button_property",
        3,
    )
    assert event["se_category"] == "browser_test_page"
    (standard,) = entities(item, STANDARD_SCHEMA)
    assert standard["extra"] == {"theme": "dark", "count": 2}

    (zero,) = tracked_page.wait_for(1, named("browser_zero_value"))
    # GitLab parses the value with parseInt(v, 10) || undefined, so 0 is dropped; bad JSON is ignored.
    assert zero["event"].get("se_value") is None
    assert entities(zero, STANDARD_SCHEMA)[0]["extra"] == {}
    assert any("data-event-additional is not valid JSON" in line for line in tracked_page.console)
    assert len(tracked_page.events()) == 2


def test_load_event_fires_once_when_the_page_loads(tracked_page: TrackedPage) -> None:
    tracked_page.open(
        """<div data-event-tracking="browser_load_event" data-event-tracking-load="true"
                data-event-label="loaded" data-event-value="7">shown</div>
           <div data-event-tracking="browser_not_loaded" data-event-tracking-load="false">no</div>"""
    )
    (item,) = tracked_page.wait_for(1, named("browser_load_event"))
    assert (item["event"]["se_label"], float(item["event"]["se_value"])) == ("loaded", 7)
    # A later marker event proves nothing else (a second load event, the "false" one) was on its way.
    tracked_page.page.evaluate("() => InternalEvents.track_event('browser_marker')")
    tracked_page.wait_for(1, named("browser_marker"))
    assert sorted(i["event"]["se_action"] for i in tracked_page.events()) == ["browser_load_event", "browser_marker"]


def test_an_element_added_after_load_fires_its_load_event_once(tracked_page: TrackedPage) -> None:
    tracked_page.open('<div id="root"></div><div id="other"></div>')
    tracked_page.page.evaluate(
        """() => {
            const el = document.createElement('section');
            el.id = 'late';
            el.dataset.eventTracking = 'browser_late_event';
            el.dataset.eventTrackingLoad = 'true';
            el.dataset.eventProperty = 'late_property';
            el.innerHTML = '<div data-event-tracking="browser_late_child" data-event-tracking-load="true"></div>';
            document.getElementById('root').appendChild(el);
        }"""
    )
    (item,) = tracked_page.wait_for(1, named("browser_late_event"))
    assert item["event"]["se_property"] == "late_property"
    tracked_page.wait_for(1, named("browser_late_child"))
    # Moving the element re-adds it to the DOM; it was already fired and must not fire again.
    tracked_page.page.evaluate("() => document.getElementById('other').appendChild(document.getElementById('late'))")
    tracked_page.page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    tracked_page.page.evaluate("() => InternalEvents.track_event('browser_marker')")
    tracked_page.wait_for(1, named("browser_marker"))
    assert sorted(i["event"]["se_action"] for i in tracked_page.events()) == [
        "browser_late_child",
        "browser_late_event",
        "browser_marker",
    ]


def test_configure_overrides_the_script_tag(tracked_page: TrackedPage, live_server: Any) -> None:
    tracked_page.open("<p>configured</p>")
    tracked_page.page.evaluate(
        """([url, appId]) => {
            InternalEvents.configure({collectorUrl: url + '/', appId: appId, namespace: 'custom_ns',
                                      environment: 'staging', context: {plan: 'ultimate', project_id: 11}});
            InternalEvents.track_event('browser_configured');
        }""",
        [live_server.url, tracked_page.app_id],
    )
    (item,) = tracked_page.wait_for(1, named("browser_configured"))
    assert item["event"]["name_tracker"] == "custom_ns"
    (standard,) = entities(item, STANDARD_SCHEMA)
    assert (standard["environment"], standard["plan"], standard["project_id"], standard["realm"]) == (
        "staging",
        "ultimate",
        11,
        "saas",
    )


def test_invalid_calls_throw_a_clear_error(tracked_page: TrackedPage) -> None:
    tracked_page.open("<p>errors</p>")
    errors = tracked_page.page.evaluate(
        """() => [
            () => InternalEvents.track_event('Bad Name'),
            () => InternalEvents.track_event('ok_name', {label: 5}),
            () => InternalEvents.track_event('ok_name', {value: '5'}),
        ].map((call) => { try { call(); return null; } catch (e) { return e.message; } })"""
    )
    assert "is invalid" in errors[0]
    assert "label must be a string" in errors[1]
    assert "value must be a number" in errors[2]


SERVICE_PING_SCHEMA = "iglu:com.gitlab/gitlab_service_ping/jsonschema/1-0-1"


def test_events_carry_gitlabs_service_ping_context_and_google_analytics_id(tracked_page: TrackedPage) -> None:
    """As GitLab's frontend: gitlab_service_ping 1-0-1 names the event; google_analytics_id is the _ga cookie or ""."""
    tracked_page.open("<p>plain page</p>")
    tracked_page.page.evaluate("() => InternalEvents.trackEvent('browser_without_ga')")
    (without,) = tracked_page.wait_for(1, named("browser_without_ga"))
    tracked_page.page.evaluate(
        """() => { document.cookie = '_ga=GA1.1.123.456; path=/'; InternalEvents.trackEvent('browser_with_ga'); }""")
    (with_ga,) = tracked_page.wait_for(1, named("browser_with_ga"))
    assert entities(without, SERVICE_PING_SCHEMA) == [{"event_name": "browser_without_ga", "data_source": "redis_hll"}]
    assert entities(with_ga, SERVICE_PING_SCHEMA) == [{"event_name": "browser_with_ga", "data_source": "redis_hll"}]
    assert entities(without, STANDARD_SCHEMA)[0]["google_analytics_id"] == ""
    assert entities(with_ga, STANDARD_SCHEMA)[0]["google_analytics_id"] == "GA1.1.123.456"


def test_data_event_additional_wins_over_label_property_and_value(tracked_page: TrackedPage) -> None:
    """GitLab spreads data-event-additional over data-event-label/-property/-value, so its keys win."""
    tracked_page.open(
        """<button id="both" data-event-tracking="browser_additional_wins" data-event-label="from_label"
                   data-event-property="from_property" data-event-value="3"
                   data-event-additional='{"label": "from_additional", "value": 8, "theme": "dark"}'>both</button>"""
    )
    tracked_page.page.click("#both")
    (item,) = tracked_page.wait_for(1, named("browser_additional_wins"))
    event = item["event"]
    assert (event["se_label"], event["se_property"], float(event["se_value"])) == ("from_additional",
                                                                                    "from_property", 8)
    assert entities(item, STANDARD_SCHEMA)[0]["extra"] == {"theme": "dark"}
