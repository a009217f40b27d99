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


def save(store: Store, payload: RawPayload) -> list[int]:
    """Store a request as the collector does, then what the pipeline decodes from it; return the new row ids."""
    request_id = store.save_request(payload)
    request = store.requests([request_id])[request_id]
    return [s.id for s in store.save_decoded([(request, ingest(payload))])]


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
