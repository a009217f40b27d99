"""Acknowledged means stored; reads see every request acknowledged before they began, or say how far behind they are."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import requests
from support import LINK_CLICK, SP, wait_for

from micro_dashboard.policy import consistency


def test_a_read_sees_every_request_acknowledged_before_it(live_server) -> None:
    def send(i: int) -> int:
        return requests.get(f"{live_server.url}/i?e=pv&p=web&tv=t&aid=burst&uid=u{i}", timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(send, range(80))) == {200}
    # No waiting: the read itself waits until the pipeline has decoded all 80.
    assert requests.get(f"{live_server.url}/micro/all", timeout=30).json() == {"total": 80, "good": 80, "bad": 0}
    assert requests.get(f"{live_server.url}/api/events?app_id=burst", timeout=30).json()["total"] == 80


def test_a_hanging_registry_never_holds_the_collector_and_reads_say_how_far_behind(
        make_live_server, hanging_url, monkeypatch) -> None:
    monkeypatch.setattr(consistency, "SETTLE_SECONDS", 0.2)
    live = make_live_server(iglu_registries=[hanging_url], iglu_timeout=3)
    ue = json.dumps({"schema": f"{SP}/unstruct_event/jsonschema/1-0-0",
                     "data": {"schema": LINK_CLICK, "data": {"targetUrl": "https://example.com"}}})
    # The schema lookup hangs in the pipeline, not here: the tracker has its answer long before the registry's.
    answer = requests.get(f"{live.url}/i?" + urlencode({"e": "ue", "p": "web", "tv": "t", "ue_pr": ue}), timeout=2)
    assert answer.status_code == 200
    early = requests.get(f"{live.url}/micro/all", timeout=10)
    assert early.headers["X-Micro-Dashboard-Behind"] == "1" and early.json()["total"] == 0
    assert wait_for(lambda: requests.get(f"{live.url}/micro/all", timeout=10).json()["total"] == 1, seconds=15)
    [event] = requests.get(f"{live.url}/api/events", timeout=10).json()["events"]
    assert event["valid"] and event["unverified"]  # the registry never answered: not checked, and said so
