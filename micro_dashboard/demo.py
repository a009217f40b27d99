"""`micro-dashboard demo`: send a realistic burst of good and bad events to a running dashboard."""

from __future__ import annotations

import logging
import uuid
import warnings
from collections import Counter
from typing import Any

import click
import requests
from snowplow_tracker import (
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

from micro_dashboard.snowplow import LINK_CLICK_SCHEMA, PAYLOAD_DATA_SCHEMA, SNOWPLOW_VENDOR
from micro_dashboard.tracking import EventContext, InternalEventsClient, event_context

DEFAULT_URL = "http://127.0.0.1:9091"
UNKNOWN_SCHEMA = "iglu:com.acme/does_not_exist/jsonschema/1-0-0"
TP2_PATH = f"/{SNOWPLOW_VENDOR}/tp2"
SHOP = "https://shop.example.com"


def _collector_base(collector_url: str) -> str:
    """Return the collector URL with a scheme (snowplow-tracker's Emitter would assume https)."""
    url = collector_url.strip().rstrip("/")
    return url if "://" in url else "http://" + url


def _web_subject() -> Subject:
    return (
        Subject()
        .set_platform("web")
        .set_user_id("demo-user-1")
        .set_lang("en-GB")
        .set_timezone("Europe/London")
        .set_screen_resolution(1920, 1080)
        .set_viewport(1280, 800)
        .set_domain_user_id(str(uuid.uuid4()))
        .set_domain_session_id(str(uuid.uuid4()))
        .set_domain_session_index(1)
    )


def _send_web_events(tracker: Tracker, counts: Counter[str]) -> None:
    pages = [(f"{SHOP}/", "Home"), (f"{SHOP}/products/42", "Blue mug"), (f"{SHOP}/checkout", "Checkout")]
    referrer = "https://www.example.org/search?q=mugs"
    for url, title in pages:
        tracker.track(PageView(page_url=url, page_title=title, referrer=referrer))
        counts["page_view"] += 1
        referrer = url
    for offset in (0, 120, 480):
        tracker.track(
            PagePing(
                page_url=pages[1][0],
                page_title=pages[1][1],
                min_x=0,
                max_x=1280,
                min_y=offset,
                max_y=offset + 800,
            )
        )
        counts["page_ping"] += 1
    for target, element in (
        (f"{SHOP}/products/42", "product-42"),
        ("https://docs.example.com/returns", "returns"),
    ):
        link = {
            "targetUrl": target,
            "elementId": element,
            "elementClasses": ["link"],
            "elementContent": element,
        }
        tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK_SCHEMA, link)))
        counts["link_click"] += 1
    tracker.track(StructuredEvent(category="shop", action="add_to_basket", label="SKU-42", property_="mug", value=2))
    tracker.track(StructuredEvent(category="shop", action="apply_coupon", label="WELCOME10"))
    counts["struct"] += 2
    # The tracker marks its ecommerce methods deprecated; they still send the classic tr/ti events.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tracker.track_ecommerce_transaction(
            order_id="order-1001",
            total_value=27.5,
            affiliation="demo-shop",
            tax_value=4.58,
            shipping=3.5,
            city="London",
            country="GB",
            currency="GBP",
            items=[
                {"sku": "SKU-42", "price": 12.0, "quantity": 2, "name": "Blue mug", "category": "kitchen"},
            ],
        )
    counts["transaction"] += 1
    counts["transaction_item"] += 1


def _send_get_events(tracker: Tracker, mobile: Tracker, counts: Counter[str]) -> None:
    tracker.track(PageView(page_url=f"{SHOP}/about", page_title="About us"))
    counts["page_view"] += 1
    tracker.track(StructuredEvent(category="newsletter", action="subscribe", label="footer", value=1))
    counts["struct"] += 1
    mobile.track(ScreenView(id_=str(uuid.uuid4()), name="Home", type="feed"))
    counts["screen_view"] += 1


def _send_invalid_events(tracker: Tracker, counts: Counter[str]) -> None:
    tracker.track(SelfDescribing(SelfDescribingJson(UNKNOWN_SCHEMA, {"anything": "goes"})))
    counts["invalid_unknown_schema"] += 1
    # link_click requires targetUrl: this one fails validation with a readable reason.
    tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK_SCHEMA, {"elementId": "link-without-target"})))
    counts["invalid_schema_violation"] += 1


def _send_broken_payload(base: str, counts: Counter[str]) -> None:
    response = requests.post(
        base + TP2_PATH,
        data=f'{{"schema": "{PAYLOAD_DATA_SCHEMA}", "data": ['.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=10,
    )
    counts["broken_payload"] += 1
    if response.status_code >= 500:
        counts["failed_requests"] += 1


def _send_internal_events(base: str, counts: Counter[str]) -> None:
    client = InternalEventsClient(enabled=True, endpoint=base, app_id="gitlab_ai_gateway", batch_size=1)
    context = EventContext(
        environment="development",
        source="micro-dashboard-demo",
        realm="saas",
        deployment_type=".com",
        instance_id="demo-instance",
        host_name="gitlab.example.com",
        instance_version="17.7.0",
        global_user_id="demo-global-user-1",
        project_id=7,
        namespace_id=42,
        plan="ultimate",
        feature_enabled_by_namespace_ids=[42],
        client_name="vscode",
        client_type="ide",
        client_version="5.2.0",
        interface="duo_chat",
    )
    events: list[tuple[str, dict[str, Any], str]] = [
        ("project_created", {"label": "web"}, "Projects::CreateService"),
        (
            "click_button",
            {"label": "save", "property": "top_bar", "value": 1, "theme": "dark"},
            "ProjectsController",
        ),
        ("request_duo_chat_response", {"label": "claude", "value": 850, "tokens": 1200}, "DuoChat"),
        ("view_merge_request_diff", {}, "MergeRequests::DiffsController"),
    ]
    with event_context(context):
        for name, properties, category in events:
            client.track_event(name, properties, category=category)
            counts["internal_event"] += 1
        # Overrides change the standard context for one event, as a caller with a different user would.
        client.track_event("project_created", {"label": "api"}, category="API::Projects", user_id=1001)
        counts["internal_event"] += 1
    if not client.close(timeout=15):
        counts["failed_requests"] += 1


def send_demo_burst(collector_url: str = DEFAULT_URL) -> dict[str, int]:
    """Send page views, pings, clicks, structured, internal, ecommerce and invalid events; return counts."""
    base = _collector_base(collector_url)
    counts: Counter[str] = Counter()
    failed: list[dict[str, Any]] = []

    def on_failure(_sent: int, unsent: list[dict[str, Any]]) -> None:
        failed.extend(unsent)

    post = Emitter(base, method="post", batch_size=50, on_failure=on_failure, request_timeout=10)
    get = Emitter(base, method="get", on_failure=on_failure, request_timeout=10)
    web = Tracker("demo-web", emitters=post, subject=_web_subject(), app_id="demo-shop", encode_base64=False)
    web_get = Tracker("demo-get", emitters=get, subject=_web_subject(), app_id="demo-shop")
    mobile = Tracker(
        "demo-mobile",
        emitters=get,
        subject=Subject().set_platform("mob").set_user_id("demo-user-2"),
        app_id="demo-app",
    )

    _send_web_events(web, counts)
    _send_get_events(web_get, mobile, counts)
    _send_invalid_events(web, counts)
    web.flush()
    _send_internal_events(base, counts)
    _send_broken_payload(base, counts)

    counts["failed_events"] = len(failed)
    counts["total_events"] = sum(
        n for kind, n in counts.items() if kind not in {"broken_payload", "failed_events", "failed_requests"}
    )
    return dict(counts)


# The invalid examples _send_invalid_events sends, and the search (the API's search= language) that finds each.
INVALID_EXAMPLES = (
    ("an event with an unknown schema", f"schema:{UNKNOWN_SCHEMA}"),
    ("a link_click without its required targetUrl", "link_click.elementId:link-without-target"),
)


def _api(base: str, path: str, **params: Any) -> Any:
    """GET one of the dashboard's API answers; None when it gives none (not a micro-dashboard, a token, ...)."""
    try:
        response = requests.get(base + path, params=params, timeout=30)
    except requests.RequestException:
        return None
    return response.json() if response.ok else None


def unchecked_invalid_examples(base: str, since: int) -> list[str] | None:
    """Say, for each invalid example sent after row `since` that could not be checked, why; None if unknown."""
    unchecked = []
    for label, search in INVALID_EXAMPLES:
        page = _api(base, "/api/events", search=search, since=since, limit=10)
        if page is None:
            return None
        for row in page["events"]:
            if row["valid"] and row["unverified"]:
                detail = _api(base, f"/api/events/{row['id']}") or {}
                notes = [e["note"] for e in detail.get("entities", []) if e.get("status") == "unverified" and e["note"]]
                unchecked.append(f"{label}: {'; '.join(notes) or 'its schema could not be checked'}")
    return unchecked


@click.command("demo")
@click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    envvar="MICRO_DASHBOARD_URL",
    help="Base URL of the running dashboard (its collector).",
)
def demo_command(url: str) -> None:
    """Send a realistic burst of good and bad events to a running dashboard."""
    base = _collector_base(url)
    try:
        requests.get(base + "/health", timeout=5)
    except requests.RequestException as exc:
        raise click.ClickException(
            f"no dashboard answers at {base} ({exc.__class__.__name__}): start one with "
            f"`micro-dashboard serve`, or pass --url"
        ) from None
    # snowplow-tracker logs every request at INFO; the summary below is what a user wants to see.
    logging.getLogger("snowplow_tracker.emitters").setLevel(logging.WARNING)
    before = _api(base, "/api/events", limit=1)
    counts = send_demo_burst(base)
    failed = counts.pop("failed_events", 0) + counts.pop("failed_requests", 0)
    total = counts.pop("total_events", 0)
    click.echo(f"Sent {total} events and 1 broken request to {base}:")
    for kind, number in sorted(counts.items()):
        click.echo(f"  {kind:<26} {number}")
    if failed:
        click.echo(f"{failed} event(s) or request(s) were not accepted by the collector.", err=True)
    click.echo(f"Open {base}/ to see them.")
    unchecked = unchecked_invalid_examples(base, before["last_id"]) if before is not None else None
    if unchecked:
        # Offline, the invalid examples would pass as unverified: a suite run like this must not look green.
        registries = _api(base, "/api/registries") or {}
        down = registries.get("unreachable") or []
        click.echo(f"warning: {len(unchecked)} of the {len(INVALID_EXAMPLES)} invalid examples could not be checked "
                   "against their schemas, so they show as unverified, not invalid:", err=True)
        for line in unchecked:
            click.echo(f"  {line}", err=True)
        if down:
            click.echo(f"Unreachable Iglu registries: {', '.join(down)}.", err=True)
        if registries.get("fixes"):
            click.echo(f"Fix: {registries['fixes']}.", err=True)
        click.get_current_context().exit(1)
