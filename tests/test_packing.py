"""Packed columns (store/packing.py) give back exactly what was stored: every API answer that shows raw or decoded
data is byte-identical whether the columns are deflated or kept plain, for real trackers' requests and garbage."""

from __future__ import annotations

import base64
import importlib.util
import json
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from dashboards import LiveServer
from sending import contexts, gitlab_event, pixel, tp2, unstruct_b64
from snowplow_checks import IGLU_DIRS
from snowplow_tracker import Emitter, PageView, SelfDescribing, SelfDescribingJson, StructuredEvent, Subject, Tracker
from support import LINK_CLICK, WEB_PAGE, wait_for

from micro_dashboard.store import packing

SEED = Path(__file__).resolve().parent.parent / "benchmarks" / "seed.py"


@pytest.mark.parametrize("value", [
    "", b"", "e=pv&page=Caf%C3%A9", "naïve ☃ text", b"\x00\xffnot json at all", b"\x01\x00", bytes(range(256)) * 8,
    packing.DICTIONARY_1, packing.DICTIONARY_1.decode() * 3, random.Random(1).randbytes(5000),
    "".join(f'{{"id":{i},"page":"https://shop.example/{i % 97}"}}' for i in range(4000))])  # past the window
@pytest.mark.parametrize("packed_format", [packing.FORMAT_DEFLATE, packing.FORMAT_DEFLATE_EVENT])
def test_packing_gives_back_the_same_bytes_or_text(value: str | bytes, packed_format: int) -> None:
    packed = packing.pack(value, packed_format)
    assert isinstance(packed, bytes) and packed[0] in (packing.FORMAT_PLAIN, packed_format)
    if isinstance(value, str):
        assert packing.unpack_text(packed) == value
    else:
        assert packing.unpack_bytes(packed) == value
    assert len(packed) <= len(value.encode() if isinstance(value, str) else value) + 1


def test_null_stays_null_and_text_written_before_packing_is_read_as_it_is() -> None:
    assert packing.pack(None) is None and packing.unpack_bytes(None) is None and packing.unpack_text(None) is None
    assert packing.unpack_text("e=pv") == "e=pv" and packing.unpack_json('{"e":"pv"}') == {"e": "pv"}
    assert packing.unpack_headers('[["Host","h"]]', "ua", None) == ([("Host", "h")], "ua", None)
    assert packing.unpack_headers(packing.pack_headers([("Host", "h")], "ua", None), None, None) == (
        [("Host", "h")], "ua", None)


def test_snowplow_requests_pack_to_a_fraction_of_their_size() -> None:
    query = ("e=pv&url=https%3A%2F%2Fshop.example%2Fproducts%2F140%3Fref%3Dhome&page=Product+140&tv=js-4.8.4&tna=sp"
             "&aid=shop&p=web&cookie=1&cs=UTF-8&lang=en-GB&res=1920x1080&cd=24&tz=Europe%2FLondon&vid=3&co=%7B%22"
             "schema%22%3A+%22iglu%3Acom.snowplowanalytics.snowplow%2Fcontexts%2Fjsonschema%2F1-0-0%22%2C+%22data"
             "%22%3A+%5B%7B%22schema%22%3A+%22iglu%3Acom.snowplowanalytics.snowplow%2Fweb_page%2Fjsonschema%2F1-0-0"
             "%22%2C+%22data%22%3A+%7B%22id%22%3A+%2298b842e8-3df8-460c-9a17-30aa2801d632%22%7D%7D%5D%7D")
    assert len(packing.pack(query)) < len(query) / 2


def test_an_event_json_packs_to_under_half_and_smaller_than_with_the_requests_dictionary() -> None:
    event = ('{"app_id":"shop","platform":"web","etl_tstamp":"2026-11-27T21:48:12.130Z","collector_tstamp":'
             '"2026-11-20T21:50:12.460Z","event":"page_view","event_id":"40a811e5-67f3-4400-9164-c3dabb53a147",'
             '"name_tracker":"sp","v_tracker":"js-4.8.4","v_collector":"micro-dashboard-0.1.0","page_url":'
             '"https://shop.example/products/71?ref=home","page_urlscheme":"https","page_urlhost":"shop.example",'
             '"page_urlport":443,"page_urlpath":"/products/71","br_lang":"en-GB","br_cookies":true,"os_timezone":'
             '"Europe/London","event_vendor":"com.snowplowanalytics.snowplow","event_name":"page_view",'
             '"event_format":"jsonschema","event_version":"1-0-0"}')
    event_format, requests_format = packing.pack(event, packing.FORMAT_DEFLATE_EVENT), packing.pack(event)
    assert len(event_format) < len(event) / 2 and len(event_format) < len(requests_format)


def test_an_unknown_format_is_an_error_not_garbage() -> None:
    with pytest.raises(ValueError, match="unknown packed format"):
        packing.unpack_bytes(b"\x07abc")


def _seed_module() -> Any:
    spec = importlib.util.spec_from_file_location("seed", SEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def send_corpus(server: LiveServer) -> None:
    """Send real trackers' requests, the seed generator's mix and garbage to a running dashboard."""
    base = server.url
    for method in ("get", "post"):
        for encode_base64 in (True, False):
            tracker = Tracker("py", Emitter("127.0.0.1", protocol="http", port=server.port, method=method,
                                            batch_size=2, request_timeout=10),
                              subject=Subject().set_user_id("user-ü").set_useragent("PackingTest/1.0 (ü)"),
                              app_id="packing", encode_base64=encode_base64)
            page = SelfDescribingJson(WEB_PAGE, {"id": "6d3f0c5e-9a1b-4c2d-8e7f-0a1b2c3d4e5f"})
            tracker.track(PageView(page_url="https://shop.test/cart?step=2#top", page_title="Caf\u00e9 \u2603",
                                   referrer="https://search.test/?q=shoes", context=[page]))
            tracker.track(StructuredEvent(category="checkout", action="add-to-cart", label="sku-1", value=2.5))
            tracker.track(SelfDescribing(SelfDescribingJson(LINK_CLICK, {"elementId": "no-target"})))
            tracker.flush()
    standard = {"environment": "development", "source": "gitlab-rails", "plan": "free", "project_id": 7,
                "namespace_id": 10, "user_id": 3, "extra": {"theme": "dark"}}
    pixel(base, **gitlab_event("click_button", standard, se_la="save"))
    pixel(base, e="ue", ue_px=unstruct_b64(LINK_CLICK, {"targetUrl": "https://docs.test/"}),
          co=contexts((WEB_PAGE, {"id": "x"})))
    tp2(base, gitlab_event("view_project", standard), {"e": "pv", "url": "https://shop.test/", "page": "P"})
    for path, body, content_type in [
            ("/com.snowplowanalytics.snowplow/tp2", b"\x00\xffnot json at all", "application/json"),
            ("/com.snowplowanalytics.snowplow/tp2", b"", "application/json"),
            ("/com.snowplowanalytics.snowplow/tp2", b'{"schema":"iglu:x/y/jsonschema/1-0-0","data":[]}', None),
            ("/com.acme/webhook", b"a=1&b=%FF", "application/x-www-form-urlencoded")]:
        requests.post(base + path, data=body, headers={"Content-Type": content_type} if content_type else {},
                      timeout=10)
    requests.get(base + "/i?e=pv&p=web&tv=t&page=%FF%FE&url=%E2%98%83", timeout=10)
    requests.get(base + "/i?e=ue&p=web&tv=t&ue_px=!!notbase64", timeout=10)
    seed = _seed_module()
    rng = random.Random(15)
    now = int(time.time() * 1000)
    server.store.save_requests([seed.request(rng, now - i * 1000) for i in range(300)])
    store = server.store
    wait_for(lambda: store.decoded_through >= store.acknowledged_through, seconds=60)


def api_answers(get: Callable[[str], bytes], ids: list[int]) -> dict[str, bytes]:
    """Return the body of every answer that shows raw or decoded data, by path."""
    paths = [f"/api/events/{i}" for i in ids] + [
        "/api/events?limit=500", "/api/events?limit=500&columns=param.e,param.url,param.co,page_url,gitlab_standard."
        "project_id,link_click.targetUrl", "/api/events?limit=500&param.e=pv", "/api/events?limit=500&param.page=P",
        "/api/events?limit=500&q=Product", "/api/events?limit=500&q=%FF", "/api/events?limit=500&q=not%20json",
        "/api/events?limit=500&q=Caf%C3%A9", "/api/events?limit=500&q=b%3D", "/api/events?limit=500&q=PackingTest",
        "/api/values?key=param.e", "/api/values?key=param.aid&prefix=s", "/api/columns",
        "/micro/all", "/micro/good", "/micro/bad", "/micro/events?limit=500", "/api/export.ndjson", "/api/export.tsv"]
    return {path: get(path) for path in paths}


@pytest.mark.needs_iglu_central
@pytest.mark.needs_iglu_gitlab
def test_every_answer_is_byte_identical_with_the_columns_deflated_or_plain(make_live_server, make_app, iglu_gitlab,
                                                                            tmp_path: Path, monkeypatch) -> None:
    # Every schema is on disk: nothing is left unverified, so no start-up re-checks (and re-decodes) an event.
    iglu_dirs = [*IGLU_DIRS, str(iglu_gitlab)]
    monkeypatch.setattr(packing, "LEVEL", 0)  # the reference: every value stored plain, never deflated
    server = make_live_server(iglu_dirs=iglu_dirs)
    send_corpus(server)
    ids = [r[0] for r in server.store._query("SELECT id FROM events ORDER BY id")]
    assert len(ids) > 300
    plain_path = Path(server.store.path)
    server.close()
    monkeypatch.undo()
    packed_path = tmp_path / "packed.db"
    with sqlite3.connect(plain_path) as source, sqlite3.connect(packed_path) as copy:
        source.backup(copy)  # with what is still in the write-ahead log
    assert deflate_columns(packed_path) > 600  # the corpus really was deflated

    answers = []
    for path in (plain_path, packed_path):
        client = make_app(db=str(path), iglu_dirs=iglu_dirs).test_client()

        def get(url: str, client: Any = client) -> bytes:
            response = client.get(url)
            assert response.status_code == 200, (url, response.data[:300])
            return response.data

        answers.append(api_answers(get, ids))
    plain, packed = answers
    assert json.loads(packed["/micro/all"])["total"] == len(ids)
    assert len(json.loads(packed["/micro/bad"])) > 5
    garbage = base64.b64encode(b"\x00\xffnot json at all")  # a body that is not UTF-8 is shown in base64
    assert any(garbage in packed[f"/api/events/{i}"] for i in ids)
    for path in packed:
        assert packed[path] == plain[path], path


PACKED_COLUMNS = [("requests", "querystring"), ("requests", "body"), ("requests", "headers"),
                  ("events", "parameters"), ("failures", "bad_row")]


def deflate_columns(path: Path) -> int:
    """Pack again every value a database holds plain, deflating it where that is smaller; return how many were."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("repack", 1, lambda v: packing.pack(packing.unpack_bytes(v)))
    conn.execute("BEGIN")
    for table, column in PACKED_COLUMNS:
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE substr({column}, 1, 1) != x'00'").fetchone()[0] == 0
        conn.execute(f"UPDATE {table} SET {column} = repack({column})")
    conn.execute("COMMIT")
    deflated = sum(conn.execute(f"SELECT count(*) FROM {table} WHERE substr({column}, 1, 1) = x'01'").fetchone()[0]
                   for table, column in PACKED_COLUMNS)
    conn.close()
    return deflated
