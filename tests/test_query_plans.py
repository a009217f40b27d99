"""Every filter the UI and the API offer is read through an index: the query plans of the real reads (list page,
capped total, stats) never walk the whole events or entities table. Asserted on the plan, not on time: SQLite plans
the same at test size as at a million rows (the store never runs ANALYZE, so no statistics change its choice)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from support import CONTEXTS

from micro_dashboard.filters import Filter, parse_args
from micro_dashboard.pipeline import RawPayload, ingest
from micro_dashboard.store import Store, micro_reads, reads

# The search box's forms (filters.SEARCH_SYNTAX) and the API's parameters, one per kind of condition.
INDEXED_FILTERS = [
    [("search", "app:shop")],
    [("search", "event:click_button")],
    [("search", "schema:link_click")],
    [("search", "is:valid")],
    [("search", "is:invalid")],
    [("search", "is:unverified")],
    [("search", "has:gitlab_standard")],
    [("search", "has:com.gitlab/gitlab_standard")],
    [("search", "gitlab_standard.project_id:7")],
    [("search", "project_id:7")],
    [("search", "plan:free")],
    [("search", "user_id:5")],
    [("search", "app=shop")],
    [("search", "Product 421")],
    [("q", "checkout")],
    [("gitlab_standard.project_id", "7")],
    [("gitlab_standard.project_id__in", "7,8,9")],
    [("gitlab_standard.extra.theme", "dark")],
    [("web_page.id", "p1")],
    [("unstruct.targetUrl", "https://docs.example/1")],
    [("link_click.targetUrl__in", "https://docs.example/1,https://docs.example/2")],
    [("link_click.targetUrl__contains", "docs")],
    [("link_click.targetUrl__isnull", "false")],
    [("gitlab_standard.project_id__gt", "7")],
    [("schema__contains", "link_click")],
    [("schema__startswith", "iglu:com.gitlab")],
    [("app_id__contains", "sho")],
    [("app_id__gt", "m")],
    [("from", "2026-01-01T00:00:00Z"), ("to", "2026-12-31T00:00:00Z")],
    [("valid", "true")],
    *([(column, "x")] for column in ("app_id", "platform", "event", "event_name", "event_vendor", "name_tracker",
                                     "user_id", "domain_userid", "network_userid", "se_category", "se_action",
                                     "se_label", "se_property", "event_id", "schema")),
    [("search", "app:shop is:invalid event:click_button")],
]
# What is read in row-id order instead, and why no index serves it: the list stops at its page and the total at
# its cap (10,001 rows), so these cost at most that many rows.
SCANNED_FILTERS = {
    "-app:shop": "a negation matches most rows: an index would list nearly all of them",
    "param.aid:shop": "raw tracker parameters (~24 per event) are not indexed: the index would outweigh the event",
    "se_value__gt:3": "se_value compares numerically with numeric text, which no index orders",
    "user_id__contains:12": "a substring of a column with many distinct values has no index",
}


class PlannedStore(Store):
    """A store that records the query plan of every read it runs (then runs it)."""

    plans: list[tuple[str, str]]

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        params = tuple(params)
        found = self.reader.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        self.plans.append((sql, "\n".join(r[3] for r in found)))
        return super()._query(sql, params)


@pytest.fixture
def store(tmp_path: Path):
    """Return a recording store on a temporary file."""
    store = PlannedStore(str(tmp_path / "events.db"))
    store.plans = []
    yield store
    store.close()


def full_scans(plan: str) -> list[str]:
    """Return the plan's steps that walk all of events or entities (by table or by a whole index)."""
    return [line for line in plan.splitlines() if line.startswith(("SCAN events", "SCAN entities", "SCAN n",
                                                                      "SCAN e "))]


def read_everything(store: PlannedStore, flt: Filter) -> None:
    """Run the reads the UI makes with a filter: a list page, its capped total and the stats."""
    now = int(time.time() * 1000)
    reads.summaries(store, flt, 51)
    reads.count(store, flt, up_to=10_001)
    reads.stats(store, flt, now - 3_600_000, now)


@pytest.mark.parametrize("args", INDEXED_FILTERS, ids=lambda args: "&".join(f"{k}={v}" for k, v in args))
def test_every_filter_the_ui_offers_reads_through_an_index(store, args):
    read_everything(store, parse_args(args))
    assert store.plans
    for sql, plan in store.plans:
        assert not full_scans(plan), f"{sql}\n{plan}"


@pytest.mark.parametrize("search", sorted(SCANNED_FILTERS))
def test_the_filters_read_in_row_order_are_the_listed_ones(store, search):
    reads.summaries(store, parse_args([("search", search)]), 51)
    [(_, plan)] = store.plans
    assert full_scans(plan), "now indexed: move it to INDEXED_FILTERS"


def test_stats_of_everything_are_read_from_the_kept_counts(store):
    now = int(time.time() * 1000)
    reads.stats(store, Filter([]), now - 3_600_000, now)
    for sql, plan in store.plans:
        assert not full_scans(plan), f"{sql}\n{plan}"
    assert all("GROUP BY" not in sql for sql, _ in store.plans)


def test_entity_equality_is_a_lookup_in_the_value_index(store):
    co = json.dumps({"schema": CONTEXTS, "data": [{"schema": "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8",
                                                   "data": {"project_id": 7}}]})
    payload = RawPayload(method="GET", path="/i", vendor="com.snowplowanalytics.snowplow", version="tp1",
                         querystring=urlencode({"e": "pv", "p": "web", "tv": "t", "co": co}), body=None,
                         content_type=None, headers=[], ip="127.0.0.1", useragent=None, referer=None,
                         hostname="localhost", network_userid=None, timestamp=int(time.time() * 1000), body_size=0)
    request_id = store.save_request(payload)
    store.save_decoded([(store.requests([request_id])[request_id], ingest(payload))])
    store.plans.clear()
    reads.summaries(store, parse_args([("gitlab_standard.project_id__in", "7,8")]), 51)
    [(_, page)] = store.plans
    assert "SEARCH v USING PRIMARY KEY (path_id=? AND kind=? AND value=?)" in page and "entities" not in page
    # The capped total: each lookup (2 values x 3 kinds) read in the index's order and merged up to the cap, never
    # a sort of every match.
    reads.count(store, parse_args([("gitlab_standard.project_id__in", "7,8")]), up_to=1000)
    (_, paths), (_, count) = store.plans[1:]
    assert "entity_paths" in paths
    assert count.count("SEARCH entity_values USING PRIMARY KEY (path_id=? AND kind=? AND value=?)") == 6, count
    assert "MERGE (UNION)" in count and "TEMP B-TREE" not in count and "entities" not in count, count


@pytest.mark.parametrize("body", [{"event_type": "pv"}, {"schema": "iglu:com.acme/x/jsonschema/1-0-0"},
                                  {"contexts": ["iglu:com.acme/x/jsonschema/1-0-0"]}, {}])
def test_micro_good_reads_through_an_index(store, body):
    list(micro_reads.good_events(store, **body, limit=10))
    for sql, plan in store.plans:
        assert not full_scans(plan), f"{sql}\n{plan}"
        assert "USE TEMP B-TREE" not in plan, f"{sql}\n{plan}"  # newest first in index order: no sort of all


@pytest.mark.parametrize("body", [{"vendor": "com.acme"}, {}])
def test_micro_bad_lists_newest_first_in_index_order(store, body):
    list(micro_reads.bad_events(store, **body, limit=10))
    for sql, plan in store.plans:
        assert "USE TEMP B-TREE" not in plan and not full_scans(plan), f"{sql}\n{plan}"


def test_unverified_rows_are_listed_from_their_own_index(store):
    reads.summaries(store, parse_args([("search", "is:unverified")]), 51)
    [(_, plan)] = store.plans
    assert "idx_events_unverified" in plan and "USE TEMP B-TREE" not in plan


def test_has_reads_only_the_entities_name_index(store):
    reads.summaries(store, parse_args([("search", "has:gitlab_standard")]), 51)
    [(_, plan)] = store.plans
    assert "SEARCH n USING COVERING INDEX idx_entities_name_event_row (name=?)" in plan


def test_an_apps_invalid_events_are_a_lookup_in_the_valid_and_app_index(store):
    flt = parse_args([("search", "app:shop is:invalid")])
    reads.summaries(store, flt, 51)
    reads.count(store, flt, up_to=10_001)
    for _, plan in store.plans:
        assert "idx_events_valid_app_id (valid=? AND app_id=?)" in plan and "USE TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("search", ["app:shop", "is:invalid", "is:valid"])
def test_one_column_filters_keep_their_own_index_in_row_order(store, search):
    reads.summaries(store, parse_args([("search", search)]), 51)
    [(_, plan)] = store.plans
    assert "idx_events_valid_app_id" not in plan and "USE TEMP B-TREE" not in plan, plan


def test_an_entity_substring_reads_the_free_text_index_for_its_candidates(store):
    flt = parse_args([("link_click.targetUrl__contains", "docs.example/42")])
    reads.summaries(store, flt, 51)
    reads.count(store, flt, up_to=10_001)
    for _, plan in store.plans:
        assert "SCAN f VIRTUAL TABLE" in plan, plan  # event_text
        assert "SEARCH n USING INDEX idx_entities_name_event_row (name=? AND event_row=?)" in plan, plan
