"""Events stored unverified are decoded again once their schema resolves, and every live client hears of it."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlencode

import requests
import simple_websocket
from support import LINK_CLICK, SP, QuietServer, free_port, wait_for


def link_click_url(base: str, data: dict, app_id: str) -> str:
    """Return a GET link_click event as a browser tracker sends it."""
    ue = json.dumps({"schema": f"{SP}/unstruct_event/jsonschema/1-0-0", "data": {"schema": LINK_CLICK, "data": data}})
    return f"{base}/i?" + urlencode({"e": "ue", "p": "web", "tv": "t", "aid": app_id, "ue_pr": ue})


def test_a_late_verdict_reaches_the_websocket_the_waiters_and_the_api(make_live_server, iglu_central) -> None:
    port = free_port()  # the registry is down when the first event arrives
    live = make_live_server(iglu_registries=[f"http://127.0.0.1:{port}"])
    assert requests.get(link_click_url(live.url, {"elementId": "no-target"}, "first"), timeout=10).ok
    [first] = requests.get(f"{live.url}/api/events", timeout=10).json()["events"]
    assert first["valid"] and first["unverified"]

    ws = simple_websocket.Client.connect(f"ws://127.0.0.1:{live.port}/ws?since={first['id']}&app_id=first")
    assert json.loads(ws.receive(timeout=10))["type"] == "hello"
    waited: dict = {}
    waiter = threading.Thread(target=lambda: waited.update(requests.get(
        f"{live.url}/api/wait", params={"valid": "false", "timeout": 20}, timeout=30).json()))
    waiter.start()
    registry = QuietServer(iglu_central, port=port)
    try:
        live.app.config["CHECKER"].resolver.forget()  # as if the failed registry's back-off had passed
        # A second event of the same schema is checked against the registry that now answers...
        assert requests.get(link_click_url(live.url, {"targetUrl": "https://example.com"}, "second"), timeout=10).ok
        # ...so the first one is decoded again: it is invalid, and the open socket is told so about the same row.
        envelopes = [json.loads(ws.receive(timeout=10)) for _ in range(3)]
        # The second event does not match the feed's filter: only the totals say it arrived.
        assert [e["type"] for e in envelopes] == ["counts", "update", "counts"]
        assert envelopes[0]["data"] == {"total": 2, "good": 2, "bad": 0, "unverified": 1}
        assert envelopes[2]["data"] == {"total": 2, "good": 1, "bad": 1, "unverified": 0}
        envelope = envelopes[1]
        assert envelope["data"]["id"] == first["id"]
        assert envelope["data"]["valid"] is False and envelope["data"]["unverified"] is False
        assert "targetUrl" in envelope["data"]["problems"][0]["message"]
        waiter.join(timeout=30)
        assert [e["row"]["id"] for e in waited["events"]] == [first["id"]]
        detail = requests.get(f"{live.url}/api/events/{first['id']}", timeout=10).json()
        assert detail["entities"][0]["status"] == "invalid" and detail["failures"][0]["type"] == "schema_violations"
        assert detail["row"]["event_id"] == first["event_id"]  # the same event, decoded again in place
    finally:
        ws.close()
        registry.close()


def test_events_acknowledged_before_a_stop_are_decoded_at_the_next_start(make_app, tmp_path) -> None:
    from micro_dashboard.store import Store

    db = str(tmp_path / "crash.db")
    store = Store(db)  # no pipeline: as if the process died after acknowledging, before decoding
    from micro_dashboard.pipeline import RawPayload

    store.save_request(RawPayload("GET", "/i", "com.snowplowanalytics.snowplow", "tp1", "e=pv&p=web&tv=t&aid=kept",
                                  None, None, [], "127.0.0.1", None, None, "localhost", None, 1_700_000_000_000))
    store.close()
    app = make_app(db=db)
    assert wait_for(lambda: app.config["STORE"].counts()["total"] == 1)
    [event] = app.test_client().get("/api/events").get_json()["events"]
    assert event["app_id"] == "kept" and event["collector_tstamp"] == 1_700_000_000_000
