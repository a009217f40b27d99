"""Snowplow's names and patterns, defined once in a module any part may import without loading the rest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from micro_dashboard.snowplow import IGLU_URI, PAYLOAD_DATA, PAYLOAD_DATA_SCHEMA, UUID


@pytest.mark.parametrize(("module", "loaded"), [
    ("micro_dashboard.snowplow", ["micro_dashboard", "micro_dashboard.snowplow"]),
    ("micro_dashboard.operators", ["micro_dashboard", "micro_dashboard.operators", "micro_dashboard.paths"]),
])
def test_light_modules_load_nothing_else_of_the_package_nor_a_server(module: str, loaded: list[str]) -> None:
    code = (f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('micro_dashboard'))); "
            "print(sorted(m for m in ('sqlite3', 'flask', 'werkzeug') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [repr(loaded), "[]"]


def test_patterns_match_whole_values_only() -> None:
    uuid = "6f3d5c2e-1f0a-4b8e-9c1d-2a3b4c5d6e7f"
    assert UUID.fullmatch(uuid) and not UUID.fullmatch(uuid + "\n") and not UUID.fullmatch(uuid[:-1])
    uri = "iglu:com.acme/thing/jsonschema/1-0-0"
    assert IGLU_URI.fullmatch(uri).groups() == ("com.acme", "thing", "jsonschema", "1-0-0")
    assert not IGLU_URI.fullmatch(uri + "\n") and not IGLU_URI.fullmatch("iglu:com.acme/thing/jsonschema/01-0-0")
    arabic_indic_four = PAYLOAD_DATA_SCHEMA[:-1] + "\u0664"
    assert PAYLOAD_DATA.fullmatch(PAYLOAD_DATA_SCHEMA) and not PAYLOAD_DATA.fullmatch(arabic_indic_four)
