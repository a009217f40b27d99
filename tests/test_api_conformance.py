"""schemathesis on /api/openapi.json: generated calls to every operation of a live dashboard with stored events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from dashboards import Dashboards, base_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from snowplow_checks import wait_for_count
from support import WEB_PAGE

pytestmark = pytest.mark.hostile

# A few events of each kind, so reads, details and exports have rows to shape.
SEEDED = [
    {"e": "pv", "p": "web", "aid": "shop", "url": "https://shop.example/a?b=c", "page": "A"},
    {"e": "se", "p": "web", "aid": "shop", "se_ca": "cart", "se_ac": "add", "se_va": "3.5"},
    {"e": "pv", "p": "web", "eid": "5b2f6c0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
     "co": '{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",'
           f'"data":[{{"schema":"{WEB_PAGE}","data":{{"id":"not-a-uuid"}}}}]}}'},
    {"e": "pv", "p": "nonsense", "dtm": "yesterday"},
]
# Deleting empties the store: these run last, after every read had rows to shape.
DESTRUCTIVE = [("DELETE", "/api/events"), ("GET", "/micro/reset"), ("POST", "/micro/reset")]
LONGEST_WAIT = 0.2  # seconds: a generated /api/wait timeout is cut to this so the run stays bounded
# Calls with documented inputs must get a documented status, type and body; calls with inputs the document rules
# out (schemathesis's negative mode: a wrong type, a path with a line break) only must not get a 5xx.
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLS: Counter[tuple[str, GenerationMode]] = Counter()  # (operation, mode) -> calls made, checked after the run
BOUNDED = settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a dashboard on a free port with the seeded events stored; return its base URL."""
    with Dashboards(base_settings(tmp_path_factory.mktemp("conformance"))) as made:
        url = made.live_server().url
        for params in SEEDED:
            assert requests.get(f"{url}/i?{urlencode(params)}", timeout=5).status_code == 200
        assert wait_for_count(url, len(SEEDED))["total"] == len(SEEDED)
        yield url


def served(dashboard: str) -> schemathesis.schemas.BaseSchema:
    """Load the document the dashboard serves."""
    return schemathesis.openapi.from_url(f"{dashboard}/api/openapi.json")


def deletes(context: Any) -> bool:
    """Return whether an operation is one of the deleting ones."""
    return (context.operation.method.upper(), context.operation.path) in DESTRUCTIVE


@pytest.fixture(scope="module")
def served_schema(dashboard: str) -> schemathesis.schemas.BaseSchema:
    """Load the document the dashboard serves."""
    return served(dashboard)


def call_and_check(case: schemathesis.Case) -> None:
    """Make the generated call; check conformance when its inputs are documented ones, and no 5xx always."""
    if case.path == "/api/wait" and isinstance(case.query, dict):
        case.query["timeout"] = LONGEST_WAIT
    mode = case.meta.generation.mode if case.meta else GenerationMode.POSITIVE
    CALLS[(f"{case.method} {case.path}", mode)] += 1
    checks = CONFORMANCE if mode == GenerationMode.POSITIVE else [not_a_server_error]
    case.call_and_validate(checks=checks, allow_redirects=False, timeout=10)


# The filters go on the lazy schema: the one a fixture returns is parametrized unfiltered.
reading = schemathesis.pytest.from_fixture("served_schema").exclude(deletes)
deleting = schemathesis.pytest.from_fixture("served_schema").include(deletes)


@reading.parametrize()
@BOUNDED
def test_every_reading_operation_answers_without_5xx_and_as_documented(case: schemathesis.Case) -> None:
    """Generated calls never get a 5xx, and each answer's status, type and body are the ones documented."""
    call_and_check(case)


def test_the_seeded_events_outlived_the_reads(dashboard: str) -> None:
    """Nothing generated so far deleted the seeded events (the deleting operations come next)."""
    assert requests.get(f"{dashboard}/micro/all", timeout=5).json()["total"] >= len(SEEDED)


@deleting.parametrize()
@BOUNDED
def test_deleting_operations_answer_without_5xx_and_as_documented(case: schemathesis.Case) -> None:
    """Generated deletes (run last) never get a 5xx and answer as documented."""
    call_and_check(case)


def test_every_operation_was_called_with_documented_inputs(dashboard: str) -> None:
    """The runs above reached each operation the document lists with documented inputs."""
    operations = {f"{op.method.upper()} {op.path}" for op in (r.ok() for r in served(dashboard).get_all_operations())}
    called = {operation for operation, mode in CALLS if mode == GenerationMode.POSITIVE}
    assert operations and operations <= called, sorted(operations - called)
    print(f"{sum(CALLS.values())} calls to {len(operations)} operations "
          f"({sum(n for (_, mode), n in CALLS.items() if mode == GenerationMode.POSITIVE)} with documented inputs)")
