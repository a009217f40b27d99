"""Checks shared by the protocol tests: bad rows against Snowplow's own schemas, and waiting for Micro's events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator
from support import IGLU_CENTRAL, IGLU_CENTRAL_DATA, require

BADROW_SCHEMAS = IGLU_CENTRAL / "schemas"
# Static Iglu repositories on disk, so that self-describing data resolves with no network: Iglu Central's copy in
# shared/ and the test schemas (com.acme/checkout) beside the tests.
IGLU_DIRS = [str(IGLU_CENTRAL), str(Path(__file__).resolve().parent / "iglu_fixtures")]


def bad_row_errors(bad_row: dict[str, Any], long_values_allowed: bool = False) -> list[str]:
    """Return why a bad row does not validate against its badrows schema from Iglu Central (none when valid)."""
    assert bad_row["schema"].startswith("iglu:com.snowplowanalytics.snowplow.badrows/"), bad_row["schema"]
    require(IGLU_CENTRAL_DATA)  # the badrows schemas are Iglu Central's
    schema = json.loads((BADROW_SCHEMAS / bad_row["schema"][len("iglu:"):]).read_text())
    errors = Draft4Validator(schema).iter_errors(bad_row["data"])
    # Snowplow caps stored parameter values at 512 characters; a test that sends a longer value on purpose says so.
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors
            if not (long_values_allowed and e.validator == "maxLength")]


def wait_for_count(base_url: str, total: int, timeout: float = 5.0) -> dict[str, int]:
    """Poll /micro/all until it reports `total` events (or the timeout passes); return the last counts."""
    deadline = time.monotonic() + timeout
    while True:
        counts = requests.get(f"{base_url}/micro/all", timeout=5).json()
        if counts["total"] >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def good_events(base_url: str) -> list[dict[str, Any]]:
    """Return every good event the dashboard holds, as Micro's /micro/good returns them."""
    response = requests.get(f"{base_url}/micro/good", timeout=10)
    response.raise_for_status()
    return response.json()


def wait_for_events(base_url: str, predicate: Callable[[dict[str, Any]], bool], count: int, timeout: float = 15.0,
                    context: Callable[[], str] = lambda: "") -> list[dict[str, Any]]:
    """Poll /micro/good until `count` events match `predicate` and return them; fail (adding `context()`) if not."""
    deadline = time.monotonic() + timeout
    matching: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        matching = [item for item in good_events(base_url) if predicate(item)]
        if len(matching) >= count:
            return matching
        time.sleep(0.1)
    pytest.fail(f"expected {count} matching events at {base_url}/micro/good, got {len(matching)}{context()}")
