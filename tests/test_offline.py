"""Honest offline: with no registry reachable, the API, the search, `demo` and the serve banner say so."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from support import IGLU_CENTRAL, LINK_CLICK, PAYLOAD_DATA, UNSTRUCT, free_port, wait_for

from micro_dashboard.api.registries import news_lines
from micro_dashboard.demo import demo_command
from micro_dashboard.filters import FilterError, Unverified, Valid, parse_search

TP2 = "/com.snowplowanalytics.snowplow/tp2"


def link_click(data: dict[str, Any], **fields: str) -> dict[str, str]:
    """Return a tp2 link_click event with this self-describing data."""
    return {"e": "ue", "ue_pr": json.dumps({"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": data}}),
            **fields}


def send(url: str, *events: dict[str, str]) -> None:
    """POST a tp2 batch as a browser tracker would."""
    batch = [{"tv": "js-3.0.0", "p": "web", "aid": "offline", "eid": str(uuid.uuid4()), **e} for e in events]
    response = requests.post(url + TP2, json={"schema": PAYLOAD_DATA, "data": batch}, timeout=10)
    assert response.status_code == 200, response.text


def registries(url: str) -> dict[str, Any]:
    """Return what /api/registries answers."""
    response = requests.get(url + "/api/registries", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_api_names_a_registry_that_refuses_connections_unreachable(make_live_server, refused_url) -> None:
    live = make_live_server(iglu_registries=[refused_url], iglu_defaults=False)
    [before] = registries(live.url)["registries"]
    assert (before["name"], before["location"], before["state"]) == (refused_url, refused_url, "not asked yet")
    send(live.url, link_click({"elementId": "no-target"}))
    answer = registries(live.url)
    [registry] = answer["registries"]
    assert registry["state"] == "unreachable"
    assert "connection refused" in registry["reason"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", registry["since"])
    assert answer["unreachable"] == [refused_url]
    assert answer["unverified"] == 1
    assert answer["strict"] is False
    for fix in ("micro-dashboard schemas pull", "--iglu-dir", "--strict"):
        assert fix in answer["fixes"]
    assert registries(live.url)["registries"][0]["since"] == registry["since"]  # since the first failure seen


def test_no_registry_configured_is_an_empty_list(make_live_server) -> None:
    live = make_live_server(iglu_registries=[], iglu_dirs=[], iglu_defaults=False)
    send(live.url, link_click({"elementId": "no-target"}))
    answer = registries(live.url)
    assert (answer["registries"], answer["unreachable"], answer["unverified"]) == ([], [], 1)


def test_is_unverified_selects_exactly_the_unverified_events(make_live_server, refused_url) -> None:
    live = make_live_server(iglu_registries=[refused_url], iglu_defaults=False)
    send(live.url,
         {"e": "pv", "url": "https://shop.example.com/", "aid": "checked"},  # no schema to check: valid
         link_click({"elementId": "no-target"}, aid="unchecked"),  # link_click's schema is out of reach
         link_click({"elementId": "with-target", "targetUrl": "https://x.example/"}, aid="unchecked-too"),
         {"e": "pv", "eid": "not-a-uuid", "aid": "invalid"},  # invalid whatever the schemas say
         link_click({"elementId": "broken"}, eid="not-a-uuid", aid="invalid-and-unchecked"))

    def apps(**params: str) -> set[str]:
        response = requests.get(live.url + "/api/events", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return {e["app_id"] for e in response.json()["events"]}

    assert apps(search="is:unverified") == {"unchecked", "unchecked-too"}
    assert apps(search="-is:unverified") == {"checked", "invalid", "invalid-and-unchecked"}
    assert apps(search="is:valid -is:unverified") == {"checked"}
    stats = requests.get(live.url + "/api/stats", timeout=10).json()
    assert stats["unverified"] == 2 == registries(live.url)["unverified"]


def test_the_search_language_reads_is_unverified() -> None:
    assert parse_search("is:unverified").clauses == [Unverified()]
    assert parse_search("is:valid").clauses == [Valid(True)]
    with pytest.raises(FilterError, match="is:unverified"):
        parse_search("is:checked")


def test_demo_exits_non_zero_when_its_invalid_examples_could_not_be_checked(make_live_server, refused_url) -> None:
    live = make_live_server(iglu_registries=[refused_url], iglu_defaults=False)
    result = CliRunner().invoke(demo_command, ["--url", live.url])
    assert result.exit_code == 1, result.output
    assert "Sent " in result.output
    assert "warning: 2 of the 2 invalid examples could not be checked" in result.output
    assert "a link_click without its required targetUrl: could not reach" in result.output
    assert f"Unreachable Iglu registries: {refused_url}." in result.output
    assert "--strict" in result.output


@pytest.mark.needs_iglu_central
def test_demo_exits_zero_when_its_invalid_examples_were_found_invalid(make_live_server) -> None:
    live = make_live_server(iglu_dirs=[str(IGLU_CENTRAL)], iglu_registries=[], iglu_defaults=False)
    result = CliRunner().invoke(demo_command, ["--url", live.url])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    invalid = requests.get(live.url + "/api/events", params={"valid": "false", "app_id": "demo-shop"},
                           timeout=10).json()["events"]
    assert len(invalid) == 2


def test_demo_exits_zero_under_strict_where_unchecked_means_invalid(make_live_server, refused_url) -> None:
    live = make_live_server(iglu_registries=[refused_url], iglu_defaults=False, strict=True)
    result = CliRunner().invoke(demo_command, ["--url", live.url])
    assert result.exit_code == 0, result.output
    assert registries(live.url)["strict"] is True


@pytest.mark.needs_iglu_central
def test_a_registry_that_answers_again_is_news_once(make_live_server, serve) -> None:
    port = free_port()  # the registry's address, down for now
    address = f"http://127.0.0.1:{port}"
    live = make_live_server(iglu_registries=[address], iglu_dirs=[], iglu_defaults=False, iglu_timeout=0.5)
    assert news_lines(live.app) == []  # not asked yet is no news
    send(live.url, link_click({"elementId": "no-target"}))
    registries(live.url)  # the read waits until the event is decoded
    [down] = news_lines(live.app)
    assert down.startswith(f"Iglu registry unreachable: {address}: connection refused")
    assert news_lines(live.app) == []
    serve(IGLU_CENTRAL, port=port)  # the registry comes up on the same address
    live.app.config["CHECKER"].resolver.forget()  # as if the failed registry's back-off period had passed
    send(live.url, link_click({"elementId": "now", "targetUrl": "https://x.example/"}))
    assert registries(live.url)["registries"][0]["state"] == "ok"
    assert news_lines(live.app) == [f"Iglu registry answers again: {address}. Unverified events with its schemas "
                                    "are checked now."]
    assert news_lines(live.app) == []


def test_the_serve_banner_names_the_registries_and_says_when_one_is_unreachable(
        tmp_path: Path, refused_url: str) -> None:
    port = free_port()
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--port", str(port), "--db",
               str(tmp_path / "events.db"), "--no-default-registries", "--iglu-registry", refused_url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL)
    printed: list[str] = []
    reader = threading.Thread(target=printed.extend, args=(process.stdout,), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        started = wait_for(lambda: process.poll() is not None or any("Press Ctrl-C" in line for line in printed),
                           seconds=60, interval=0.1)
        assert started and process.poll() is None, "".join(printed)
        [schemas] = [line for line in printed if line.lstrip().startswith("schemas")]
        assert refused_url in schemas
        assert not any("unreachable" in line for line in printed)  # not known before a registry is asked
        send(url, link_click({"elementId": "no-target"}))
        assert wait_for(lambda: any("unreachable" in line for line in printed), seconds=30, interval=0.1), \
            "".join(printed)
        [line] = [line for line in printed if "unreachable" in line]
        assert line.startswith(f"Iglu registry unreachable: {refused_url}: connection refused")
        assert "micro-dashboard schemas pull" in line and "--iglu-dir" in line and "--strict" in line
    finally:
        process.terminate()
        process.wait(timeout=15)
        reader.join(timeout=5)
        process.stdout.close()
