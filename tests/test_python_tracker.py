"""The real Python tracker (snowplow-tracker 1.x) against the real server: every event type, every transport."""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from dashboards import Dashboards, LiveServer, base_settings
from snowplow_checks import IGLU_DIRS, wait_for_count
from snowplow_tracker import (
    AsyncEmitter,
    Emitter,
    PagePing,
    PageView,
    ScreenView,
    SelfDescribing,
    SelfDescribingJson,
    StructuredEvent,
    Subject,
    Tracker,
)
from snowplow_tracker import __version__ as tracker_version
from support import LINK_CLICK, WEB_PAGE

from micro_dashboard.pipeline.fields import FIELDS

pytestmark = pytest.mark.needs_iglu_central

SNOWPLOW = "com.snowplowanalytics.snowplow"
SCREEN_VIEW = "iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
PAGE_ID = "6d3f0c5e-9a1b-4c2d-8e7f-0a1b2c3d4e5f"
SCREEN_ID = "1c0e7b3a-2d4f-4e6a-9b8c-7d6e5f4a3b2c"
SESSION_ID = "2f6a3b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
TRUE_TSTAMP = 1763787000123  # 2025-11-22T04:50:00.123Z
EVENTS_PER_RUN = 8  # page view, page ping, struct, link click, screen view, transaction and its two items


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve one dashboard for the module, with Iglu Central's schemas from disk."""
    with Dashboards(base_settings(tmp_path_factory.mktemp("python-tracker"))) as dashboards:
        yield dashboards.live_server(iglu_dirs=IGLU_DIRS)


@pytest.fixture
def dashboard(server: LiveServer) -> LiveServer:
    """Return the module's dashboard, emptied."""
    assert requests.post(f"{server.url}/micro/reset", timeout=5).json() == {"total": 0, "good": 0, "bad": 0}
    return server


def subject() -> Subject:
    """Return a subject with every property a server-side tracker usually sets."""
    return (Subject().set_user_id("user-42").set_ip_address("198.51.100.23")
            .set_useragent("Mozilla/5.0 (X11; Linux x86_64) PythonTrackerTest/1.0")
            .set_screen_resolution(1920, 1080).set_viewport(1280, 720).set_color_depth(24)
            .set_timezone("Europe/Berlin").set_lang("de-DE").set_domain_user_id("duid-7")
            .set_network_user_id("tnuid-9").set_domain_session_id(SESSION_ID).set_domain_session_index(3))


def track_everything(tracker: Tracker) -> None:
    """Send one event of every type the Python tracker offers, each through its public API."""
    web_page = SelfDescribingJson(WEB_PAGE, {"id": PAGE_ID})
    tracker.track(PageView(page_url="https://shop.test/cart?step=2#top", page_title="Cart",
                           referrer="https://search.test/?q=shoes", context=[web_page]))
    tracker.track(PagePing(page_url="https://shop.test/cart", min_x=0, max_x=120, min_y=10, max_y=2400))
    tracker.track(StructuredEvent(category="checkout", action="add-to-cart", label="sku-1", property_="red",
                             value=2.5, true_timestamp=TRUE_TSTAMP))
    tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK, {"targetUrl": "https://shop.test/pay",
                                                                  "elementId": "pay"}), context=[web_page]))
    tracker.track(ScreenView(id_=SCREEN_ID, name="Basket"))
    # snowplow-tracker 1.x has no transaction event class; its (deprecated) Tracker.track_ecommerce_transaction
    # sends the tr event and one ti event per item.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tracker.track_ecommerce_transaction(
            order_id="order-1", total_value=59.9, affiliation="web", tax_value=9.56, shipping=4.5, city="Berlin",
            state="BE", country="DE", currency="EUR",
            items=[{"sku": "sku-1", "price": 19.95, "quantity": 2, "name": "Red shoe", "category": "shoes"},
                   {"sku": "sku-2", "price": 15.0, "quantity": 1}])


def by_kind(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Index good events by event type, or by event name for self-describing ones."""
    out = {}
    for event in events:
        e = event["event"]
        key = e["event_name"] if e["event"] == "unstruct" else e["event"]
        key = f"{key}:{e['ti_sku']}" if e["event"] == "transaction_item" else key
        out[key] = event
    return out


MATRIX = [(method, b64, emitter) for method in ("get", "post") for b64 in (True, False)
          for emitter in (Emitter, AsyncEmitter)]


@pytest.mark.parametrize(("method", "encode_base64", "emitter_class"), MATRIX,
                         ids=[f"{m}-{'base64' if b else 'plain'}-{e.__name__}" for m, b, e in MATRIX])
def test_python_tracker_events_arrive_decoded_with_canonical_fields(dashboard, method, encode_base64, emitter_class):
    emitter = emitter_class("127.0.0.1", protocol="http", port=dashboard.port, method=method, batch_size=4,
                            request_timeout=10)
    tracker = Tracker("py-test", emitter, subject=subject(), app_id="shop-backend", encode_base64=encode_base64)
    track_everything(tracker)
    tracker.flush()
    counts = wait_for_count(dashboard.url, EVENTS_PER_RUN)
    assert counts == {"total": EVENTS_PER_RUN, "good": EVENTS_PER_RUN, "bad": 0}, \
        requests.get(f"{dashboard.url}/micro/bad", timeout=5).json()

    events = requests.get(f"{dashboard.url}/micro/good", timeout=5).json()
    kinds = by_kind(events)
    assert set(kinds) == {"page_view", "page_ping", "struct", "link_click", "screen_view", "transaction",
                          "transaction_item:sku-1", "transaction_item:sku-2"}
    api_version = "tp1" if method == "get" else "tp2"
    for event in events:
        assert_common_fields(event, api_version, encode_base64)

    pv = kinds["page_view"]
    assert pv["eventType"] == "page_view" and pv["contexts"] == [WEB_PAGE]
    e = pv["event"]
    assert e["page_url"] == "https://shop.test/cart?step=2#top" and e["page_title"] == "Cart"
    assert (e["page_urlscheme"], e["page_urlhost"], e["page_urlport"], e["page_urlpath"], e["page_urlquery"],
            e["page_urlfragment"]) == ("https", "shop.test", 443, "/cart", "step=2", "top")
    assert e["page_referrer"] == "https://search.test/?q=shoes" and e["refr_urlhost"] == "search.test"
    assert e["contexts"]["data"] == [{"schema": WEB_PAGE, "data": {"id": PAGE_ID}}]
    assert pv["rawEvent"]["parameters"][("cx" if encode_base64 else "co")]

    e = kinds["page_ping"]["event"]
    assert (e["pp_xoffset_min"], e["pp_xoffset_max"], e["pp_yoffset_min"], e["pp_yoffset_max"]) == (0, 120, 10, 2400)

    struct = kinds["struct"]
    e = struct["event"]
    assert struct["schema"] == "iglu:com.google.analytics/event/jsonschema/1-0-0"
    assert (e["se_category"], e["se_action"], e["se_label"], e["se_property"]) == (
        "checkout", "add-to-cart", "sku-1", "red")
    assert e["se_value"] == 2.5 and isinstance(e["se_value"], float)
    assert e["true_tstamp"] == "2025-11-22T04:50:00.123Z" and e["derived_tstamp"] == e["true_tstamp"]

    click = kinds["link_click"]
    assert click["eventType"] == "unstruct" and click["schema"] == LINK_CLICK and click["contexts"] == [WEB_PAGE]
    assert click["event"]["unstruct_event"]["data"] == {
        "schema": LINK_CLICK, "data": {"targetUrl": "https://shop.test/pay", "elementId": "pay"}}
    assert ("ue_px" if encode_base64 else "ue_pr") in click["rawEvent"]["parameters"]

    screen = kinds["screen_view"]
    assert screen["schema"] == SCREEN_VIEW
    assert screen["event"]["unstruct_event"]["data"]["data"] == {"id": SCREEN_ID, "name": "Basket"}

    e = kinds["transaction"]["event"]
    assert kinds["transaction"]["schema"] == f"iglu:{SNOWPLOW}/transaction/jsonschema/1-0-0"
    assert (e["tr_orderid"], e["tr_affiliation"], e["tr_city"], e["tr_state"], e["tr_country"], e["tr_currency"]) == (
        "order-1", "web", "Berlin", "BE", "DE", "EUR")
    assert (e["tr_total"], e["tr_tax"], e["tr_shipping"]) == (59.9, 9.56, 4.5)
    assert all(isinstance(e[k], float) for k in ("tr_total", "tr_tax", "tr_shipping"))

    e = kinds["transaction_item:sku-1"]["event"]
    assert (e["ti_orderid"], e["ti_name"], e["ti_category"], e["ti_currency"]) == (
        "order-1", "Red shoe", "shoes", "EUR")
    assert e["ti_price"] == 19.95 and e["ti_quantity"] == 2 and isinstance(e["ti_quantity"], int)
    e = kinds["transaction_item:sku-2"]["event"]
    assert e["ti_price"] == 15.0 and e["ti_quantity"] == 1 and e["ti_name"] is None


def assert_common_fields(event: dict[str, Any], api_version: str, encode_base64: bool) -> None:
    """Check what every event of the run carries: tracker, subject, timestamps and the raw event."""
    e = event["event"]
    assert list(e) == list(FIELDS)
    assert event["incomplete"] is False
    assert e["app_id"] == "shop-backend" and e["platform"] == "pc" and e["name_tracker"] == "py-test"
    assert e["v_tracker"] == f"py-{tracker_version}"
    assert e["user_id"] == "user-42" and e["user_ipaddress"] == "198.51.100.23"
    assert e["useragent"] == "Mozilla/5.0 (X11; Linux x86_64) PythonTrackerTest/1.0"
    assert (e["dvce_screenwidth"], e["dvce_screenheight"]) == (1920, 1080)
    assert isinstance(e["dvce_screenwidth"], int) and isinstance(e["br_viewwidth"], int)
    assert (e["br_viewwidth"], e["br_viewheight"]) == (1280, 720)
    assert e["br_colordepth"] == "24" and e["os_timezone"] == "Europe/Berlin" and e["br_lang"] == "de-DE"
    assert e["domain_userid"] == "duid-7" and e["network_userid"] == "tnuid-9"
    assert e["domain_sessionid"] == SESSION_ID and e["domain_sessionidx"] == 3
    assert str(uuid.UUID(e["event_id"])) == e["event_id"]
    for name in ("collector_tstamp", "etl_tstamp", "dvce_created_tstamp", "dvce_sent_tstamp", "derived_tstamp"):
        assert ISO.match(e[name]), (name, e[name])
    assert re.search(r"T\d\d:\d\d:\d\dZ$", e["dvce_sent_tstamp"])  # the Python tracker sends whole seconds
    raw = event["rawEvent"]
    assert raw["api"] == {"vendor": SNOWPLOW, "version": api_version}
    assert raw["parameters"]["eid"] == e["event_id"] and raw["parameters"]["tv"] == f"py-{tracker_version}"
    assert all(isinstance(v, str) for v in raw["parameters"].values())
    assert raw["contentType"] == (None if api_version == "tp1" else "application/json; charset=utf-8")
    assert raw["parameters"]["res"] == "1920x1080" and raw["parameters"]["tnuid"] == "tnuid-9"
    for plain, encoded in (("co", "cx"), ("ue_pr", "ue_px")):
        assert (plain if encode_base64 else encoded) not in raw["parameters"]


def test_python_tracker_padded_base64_decodes_whatever_the_padding(dashboard):
    emitter = Emitter("127.0.0.1", protocol="http", port=dashboard.port, method="get", request_timeout=10)
    tracker = Tracker("py-test", emitter, encode_base64=True)
    # Three URL lengths in a row give the encoded event every padding: none, "=" and "==".
    for filler in ("", "a", "ab"):
        tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK, {"targetUrl": f"https://t.test/{filler}"})))
    tracker.flush()
    assert wait_for_count(dashboard.url, 3) == {"total": 3, "good": 3, "bad": 0}
    events = requests.get(f"{dashboard.url}/micro/good", timeout=5).json()
    paddings = {len(e["rawEvent"]["parameters"]["ue_px"]) - len(e["rawEvent"]["parameters"]["ue_px"].rstrip("="))
                for e in events}
    assert paddings == {0, 1, 2}
    assert sorted(e["event"]["unstruct_event"]["data"]["data"]["targetUrl"] for e in events) == [
        "https://t.test/", "https://t.test/a", "https://t.test/ab"]


def test_python_tracker_gets_a_200_for_every_request(dashboard):
    sent, failed = [], []
    emitter = Emitter("127.0.0.1", protocol="http", port=dashboard.port, method="post", batch_size=3,
                      on_success=sent.extend, on_failure=lambda count, events: failed.extend(events),
                      request_timeout=10)
    tracker = Tracker("py-test", emitter)
    for i in range(7):
        tracker.track(StructuredEvent(category="c", action=f"a{i}"))
    tracker.flush()
    assert len(sent) == 7 and failed == []
    assert wait_for_count(dashboard.url, 7)["good"] == 7
