"""Free text through the FTS5 trigram indexes: the plan uses them, they follow every write, the semantics stay."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support import CONTEXTS, WEB_PAGE, sql

from micro_dashboard.filters import Filter, Text, parse_args
from micro_dashboard.pipeline import RawPayload, ingest
from micro_dashboard.store import Store, reads
from micro_dashboard.store.filter_sql import compile_filter

SNOWPLOW = "com.snowplowanalytics.snowplow"


def page_view(page_id: str, **params: str) -> RawPayload:
    """Return a page view GET whose web_page context carries `page_id`."""
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": WEB_PAGE, "data": {"id": page_id}}]})
    query = urlencode({"e": "pv", "p": "web", "tv": "t", "aid": "shop", "co": co, **params})
    return RawPayload(method="GET", path=f"/{SNOWPLOW}/tp2", vendor=SNOWPLOW, version="tp2", querystring=query,
                      body=None, content_type=None, headers=[("Host", "localhost")], ip="127.0.0.1",
                      useragent="fts-test", referer=None, hostname="localhost", network_userid=None,
                      timestamp=int(time.time() * 1000), body_size=0)


def save(store: Store, payload: RawPayload, index: bool = True) -> list[int]:
    """Store a request as the collector does, then what the pipeline decodes from it, then (`index`) index the free
    text as the pipeline does when it has nothing to decode; return the new row ids."""
    request_id = store.save_request(payload)
    request = store.requests([request_id])[request_id]
    saved = [s.id for s in store.save_decoded([(request, ingest(payload))])]
    while index and store.index_free_text():
        pass
    return saved


def found(store: Store, text: str) -> set[int]:
    """Return the rows free text `text` matches."""
    return {s.id for s in reads.summaries(store, Filter([Text(text)]), 1000)}


def indexed(store: Store, text: str) -> set[int]:
    """Return the rows the event index alone lists for `text` (its trigrams), with no substring check."""
    from micro_dashboard.store.filter_sql import fts_trigrams
    return {r[0] for r in sql(store, "SELECT rowid FROM event_text WHERE event_text MATCH ?", [fts_trigrams(text)])}


@pytest.fixture
def store(tmp_path: Path):
    """Return a store on a temporary file."""
    store = Store(str(tmp_path / "events.db"))
    yield store
    store.close()


def plan(store: Store, args: list[tuple[str, str]]) -> str:
    """Return the query plan of the list query for these API arguments, one line per step."""
    where, params = compile_filter(parse_args(args))
    return "\n".join(r[3] for r in sql(store, f"EXPLAIN QUERY PLAN SELECT id FROM events WHERE {where} "
                                              "ORDER BY id DESC LIMIT 51", params))


def test_free_text_of_three_characters_or_more_is_looked_up_in_the_indexes(store):
    found_plan = plan(store, [("q", "checkout")])
    assert "SCAN event_text VIRTUAL TABLE" in found_plan and "SCAN request_text VIRTUAL TABLE" in found_plan
    assert "SCAN events" not in found_plan
    assert "event_text" in plan(store, [("search", "checkout app:shop")])


def test_one_or_two_characters_and_nul_fall_back_to_the_scan(store):
    for text in ("ab", "x", "abc\x00"):
        assert "event_text" not in plan(store, [("q", text)])
    [row] = save(store, page_view("zq-page"))
    assert found(store, "zq") == {row}


def test_matches_parameters_entities_and_the_raw_request(store):
    [page] = save(store, page_view("landing-7f3", url="http://shop.example/checkout"))
    [other] = save(store, page_view("home"))
    assert found(store, "landing-7f3") == {page}  # in the web_page context
    assert found(store, "shop.example/check") == {page}  # a parameter, and the raw querystring
    assert found(store, "fts-test") == set()  # the user agent is a header, not searched
    assert found(store, "HOME") == {other}
    assert found(store, "e=pv") == {page, other}  # only in the raw querystring, as sent


def test_case_folding_stays_ascii_only(store):
    [row] = save(store, page_view("Café-Crème"))
    assert found(store, "CAFé-CRèME") == {row}
    assert indexed(store, "CAFÉ-CRÈME") == {row}  # the index folds all of Unicode ...
    assert found(store, "CAFÉ-CRÈME") == set()  # ... the substring check does not, as SQLite's lower()


def test_trigrams_apart_are_not_a_match(store):
    [row] = save(store, page_view("qabcd-xcdeq"))
    assert indexed(store, "abcdx") == set() and found(store, "abcdx") == set()
    assert indexed(store, "abcde") == {row}  # abc, bcd and cde are all there, but not as one substring
    assert found(store, "abcde") == set()
    assert found(store, "ABCD-XCDE") == {row}


def test_the_indexes_follow_redecodes_deletes_and_retention(tmp_path: Path):
    store = Store(str(tmp_path / "events.db"), max_events=2)
    try:
        payload = page_view("first-page")
        [row] = save(store, payload)
        request = store.requests([sql(store, "SELECT request_id FROM events WHERE id = ?", [row])[0][0]])
        [stored] = request.values()
        store.redecode(stored, ingest(page_view("second-page")))
        assert indexed(store, "first-page") == set() and found(store, "second-page") == {row}
        later = [save(store, page_view(f"later-{n}"))[0] for n in range(150)]
        assert indexed(store, "second-page") == set() and found(store, "second-page") == set()  # retention
        kept = found(store, "later-")
        assert kept and kept <= set(later[-5:])
        store.delete(Filter([Text("later-149")]))
        assert indexed(store, "later-149") == set()
        store.delete()
        assert indexed(store, "later-") == set()
        assert sql(store, "SELECT count(*) FROM request_text WHERE request_text MATCH '\"e=p\"'")[0][0] == 0
        [again] = save(store, page_view("after-reset"))
        assert found(store, "after-reset") == {again}
    finally:
        store.close()


def test_opening_a_database_without_the_indexes_fills_them_from_the_stored_rows(tmp_path: Path):
    path = str(tmp_path / "events.db")
    store = Store(path)
    [row] = save(store, page_view("stored-before"))
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE event_text; DROP TABLE request_text; UPDATE schema_version SET version = 2;")
    conn.close()
    store = Store(path)
    try:
        assert found(store, "stored-before") == {row}
        assert found(store, "e=pv") == {row}  # the request too
    finally:
        store.close()


# Equality and __in are looked up in the index of entity values instead (tests/test_query_plans.py).
@pytest.mark.parametrize("args", [[("search", "has:web_page")], [("web_page.id__contains", "p")]])
def test_entity_filters_are_driven_from_the_entities_name_index(store, args):
    found_plan = plan(store, args)
    assert "idx_entities_name_event_row (name=?)" in found_plan and "SCAN events" not in found_plan
    assert "CORRELATED" not in found_plan


def tp2_batch(page_ids: list[str]) -> RawPayload:
    """Return a POST tp2 request of one page view per page id, each with a web_page context."""
    events = [{"e": "pv", "p": "web", "tv": "t", "aid": "shop", "url": f"https://shop.example/{page_id}",
               "co": json.dumps({"schema": CONTEXTS, "data": [{"schema": WEB_PAGE, "data": {"id": page_id}}]})}
              for page_id in page_ids]
    body = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                       "data": events}).encode()
    return RawPayload(method="POST", path=f"/{SNOWPLOW}/tp2", vendor=SNOWPLOW, version="tp2", querystring="",
                      body=body, content_type="application/json", headers=[("Host", "localhost")], ip="127.0.0.1",
                      useragent="fts-test", referer=None, hostname="localhost", network_userid=None,
                      timestamp=int(time.time() * 1000), body_size=len(body))


def test_rows_not_indexed_yet_are_found_as_when_they_are(store):

    [indexed_row] = save(store, page_view("alpha-one", url="http://shop.example/checkout"))
    waiting = save(store, tp2_batch(["alpha-two", "beta-three"]), index=False)
    assert sql(store, "SELECT indexed_through FROM pipeline")[0][0] == indexed_row
    assert indexed(store, "alpha-two") == set()
    # The raw body holds both events of the batch: free text finds both rows for either.
    searches = {"alpha-": {indexed_row, *waiting}, "beta-three": set(waiting), "e=pv": {indexed_row},
                "shop.example/": {indexed_row, *waiting}, "payload_data": set(waiting)}
    entity = {text: {s.id for s in reads.summaries(store, parse_args([("web_page.id__contains", text)]), 100)}
              for text in ("alpha-", "beta-three")}
    assert entity == {"alpha-": {indexed_row, waiting[0]}, "beta-three": {waiting[1]}}
    assert {text: found(store, text) for text in searches} == searches
    assert "SCAN events" not in plan(store, [("q", "alpha-")])  # the rows after the cursor, by id
    while store.index_free_text():
        pass
    assert indexed(store, "alpha-two") == {waiting[0]}
    assert {text: found(store, text) for text in searches} == searches
    assert {text: {s.id for s in reads.summaries(store, parse_args([("web_page.id__contains", text)]), 100)}
            for text in ("alpha-", "beta-three")} == entity


def assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store: Store, probes: list[str]) -> None:
    """Compare both contentless indexes with indexes built afresh (with content) from the rows up to the cursor."""
    from micro_dashboard.store import free_text, packing
    from micro_dashboard.store.filter_sql import fts_trigrams

    conn = sqlite3.connect(store.path)
    packing.register(conn)
    try:
        cursor = conn.execute("SELECT indexed_through FROM pipeline").fetchone()[0]
        for ref in ("ref_events", "ref_requests"):
            conn.execute(f"CREATE VIRTUAL TABLE temp.{ref} USING fts5(text, detail='none', tokenize='trigram')")
        conn.execute(f"INSERT INTO ref_events (rowid, text) SELECT id, {free_text.EVENT_TEXT} FROM events "
                     "WHERE id <= ?", [cursor])
        conn.execute(f"INSERT INTO ref_requests (rowid, text) SELECT id, {free_text.REQUEST_TEXT} FROM requests "
                     "WHERE EXISTS (SELECT 1 FROM events e WHERE e.request_id = requests.id AND e.id <= ?)", [cursor])
        for probe in probes:
            query = fts_trigrams(probe)
            for index, ref in (("event_text", "ref_events"), ("request_text", "ref_requests")):
                kept = {r[0] for r in conn.execute(f"SELECT rowid FROM {index} WHERE {index} MATCH ?", [query])}
                fresh = {r[0] for r in conn.execute(f"SELECT rowid FROM {ref} WHERE {ref} MATCH ?", [query])}
                assert kept == fresh, (probe, index, cursor)
    finally:
        conn.close()


def test_the_cursor_keeps_the_indexes_exact_through_partial_batches_redecodes_and_deletes(tmp_path: Path,
                                                                                          monkeypatch):
    from micro_dashboard.store import free_text

    monkeypatch.setattr(free_text, "BATCH", 4)  # batches that end in the middle of a request's rows
    store = Store(str(tmp_path / "events.db"))
    probes = ["e=pv", "payload_data", "shop.example", *(f"pg-{n}-" for n in range(12)), "renamed-"]
    try:
        for n in range(4):
            save(store, tp2_batch([f"pg-{n * 3 + k}-" for k in range(3)]), index=False)
        assert store.index_free_text() and sql(store, "SELECT indexed_through FROM pipeline")[0][0] == 4
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
        # A redecode of a request half indexed: its indexed row is re-indexed, the other left for the cursor.
        [request] = store.requests([2]).values()
        store.redecode(request, ingest(tp2_batch(["renamed-a", "renamed-b", "renamed-c", "renamed-d"])))
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
        # Deleting the indexed rows of a request whose other rows wait takes the request out of request_text.
        store.delete(Filter([Text("renamed-a")]))
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
        store.delete(Filter([Text("pg-1-")]))
        assert store.index_free_text()
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
        while store.index_free_text():
            pass
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
        # Only the decoded rows of request 2 hold "renamed-" (its raw body holds the pg- pages): those left.
        left = {r[0] for r in sql(store, "SELECT id FROM events WHERE request_id = 2")}
        assert left and found(store, "renamed-") == left
        store.delete()
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
        [again] = save(store, page_view("pg-0-"))
        assert found(store, "pg-0-") == {again}
        assert_the_indexes_hold_exactly_the_rows_up_to_the_cursor(store, probes)
    finally:
        store.close()


def test_the_pipeline_indexes_behind_a_live_stream_and_catches_up_when_it_pauses(make_live_server, monkeypatch):
    import requests
    from sending import tp2
    from support import wait_for

    from micro_dashboard.store import free_text

    # Small batches and backlog: a stream of 3-event requests keeps the worker past MAX_UNINDEXED.
    monkeypatch.setattr(free_text, "BATCH", 4)
    monkeypatch.setattr(free_text, "MAX_UNINDEXED", 6)
    server = make_live_server()
    for n in range(20):
        tp2(server.url, *({"e": "pv", "url": f"https://shop.example/stream-{n}-{k}"} for k in range(3)))
    requests.get(f"{server.url}/micro/all", timeout=30)  # every request decoded: the rows are visible
    assert len(requests.get(f"{server.url}/api/events", params={"q": "stream-1"}, timeout=30).json()["events"]) == 33
    last = sql(server.store, "SELECT max(id) FROM events")[0][0]
    assert wait_for(lambda: sql(server.store, "SELECT indexed_through FROM pipeline")[0][0] == last, seconds=30)
    assert indexed(server.store, "stream-19-2") == {last}
    assert len(requests.get(f"{server.url}/api/events", params={"q": "stream-1"}, timeout=30).json()["events"]) == 33
