"""An entity field's `__contains` / `__startswith` narrowed through the free-text index finds exactly the rows the
scan of every entity of that name finds (the index holds each entity's JSON as stored, the check reads the field)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from support import CONTEXTS, sql

from micro_dashboard.filters import EntityField
from micro_dashboard.pipeline import RawPayload, ingest
from micro_dashboard.store import Store, filter_sql

SNOWPLOW = "com.snowplowanalytics.snowplow"
THING = "iglu:com.acme/thing/jsonschema/1-0-0"
# Values whose field text differs from their stored JSON: escapes, numbers SQLite writes its own way, booleans,
# objects and arrays (rendered without the stored whitespace), non-ASCII text, and plain URLs.
VALUES = [
    "https://docs.example/42", "https://DOCS.example/421", "say \"hi\" there", "back\\slash path", "tab\there",
    "héllo wörld", "Ünïcode ÄBC", 1e16, 0.12345678901234567, 1234567, True, False, None, float(2**70),
    {"k": [1, 2], "s": "docs example"}, ["a, b", {"x": "y:z"}], "null", "nullable", "", "ab",
]
NEEDLES = [
    "docs.example/42", "DOCS", "docs", "xample/4", "\"hi\"", "hi\" t", "k\\s", "\ther", "héllo", "ÉLLO", "llo w",
    "0e+", "1.0e", "e+16", "2346", "123", "234567", "rue", "true", "1,2", "\"k\":", "[1,2]", "a, b", "y:z", "ull",
    "null", "nullab", "ÄBC", "äbc", "abc", "xyz", "ab", "s\"", "docs example", "{\"k\"", "180591",
]


def payload(data: object) -> RawPayload:
    """Return a page view GET whose `thing` context carries `data` as its field `v`."""
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": THING, "data": {"v": data}}]}, ensure_ascii=False)
    query = urlencode({"e": "pv", "p": "web", "tv": "t", "aid": "shop", "co": co})
    return RawPayload(method="GET", path=f"/{SNOWPLOW}/tp2", vendor=SNOWPLOW, version="tp2", querystring=query,
                      body=None, content_type=None, headers=[("Host", "localhost")], ip="127.0.0.1",
                      useragent="substring-test", referer=None, hostname="localhost", network_userid=None,
                      timestamp=int(time.time() * 1000), body_size=0)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """Return a store holding one event per value (and one whose context has no `v`)."""
    store = Store(str(tmp_path_factory.mktemp("substring") / "events.db"))
    for data in [*VALUES, "unused"]:
        request_id = store.save_request(payload(data))
        request = store.requests([request_id])[request_id]
        store.save_decoded([(request, ingest(payload(data)))])
    yield store
    store.close()


def rows(store: Store, where: tuple[str, list]) -> set[int]:
    """Return the event rows matching an SQL condition."""
    return {r[0] for r in sql(store, f"SELECT id FROM events WHERE {where[0]}", where[1])}


def scanned(text: str, prefix: bool) -> tuple[str, list]:
    """Return the condition as it was before the index narrowed it: every `thing` entity's field checked."""
    field = filter_sql._EntityField("thing", ("v",))
    return field._any(field.value.substring(text, prefix))


@pytest.mark.parametrize("prefix", [False, True])
@pytest.mark.parametrize("text", NEEDLES)
def test_narrowed_through_the_index_the_same_rows_as_the_scan(store, text, prefix):
    field = filter_sql._EntityField("thing", ("v",))
    assert rows(store, field.substring(text, prefix)) == rows(store, scanned(text, prefix))


def test_the_corpus_exercises_the_index_and_the_scan(store):
    narrowed = [t for t in NEEDLES if filter_sql._verbatim_in_entity_data(t) and len(t) >= 3]
    assert {"docs.example/42", "DOCS", "abc", "llo w", "rue", "docs example", "nullab"} <= set(narrowed)
    assert not {"0e+", "2346", "\"hi\"", "1,2", "ull", "héllo", "y:z"} & set(narrowed)
    # Matches of the narrowed needles exist, so the equality above compares something.
    assert len(rows(store, scanned("docs", False))) == 3 and len(rows(store, scanned("0e+", False))) == 1
    assert len(rows(store, scanned("2346", False))) == 1 and len(rows(store, scanned("1,2", False))) == 1


def test_the_narrowed_form_reads_the_index_and_falls_back_when_every_trigram_is_common(store, monkeypatch):
    where = filter_sql._EntityField("thing", ("v",)).substring("docs.example", False)
    plan = "\n".join(r[3] for r in sql(store, f"EXPLAIN QUERY PLAN SELECT id FROM events WHERE {where[0]}", where[1]))
    assert "SCAN f VIRTUAL TABLE" in plan
    monkeypatch.setattr(filter_sql, "PROBE_CAP", 1)  # every trigram counts as common: the scan branch answers
    common = filter_sql._EntityField("thing", ("v",)).substring("docs.example", False)
    assert rows(store, common) == rows(store, where) == rows(store, scanned("docs.example", False))
    assert len(rows(store, where)) == 2  # the two docs.example URLs


def test_an_unstruct_field_is_narrowed_to_the_unstruct_entities(store):
    field = filter_sql._EntityField("unstruct", ("v",))
    assert rows(store, field.substring("docs", False)) == set()
    assert EntityField("unstruct", ("v",)).entity == "unstruct"
