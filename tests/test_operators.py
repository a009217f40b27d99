"""The operator registry: every operator is documented, parsed, compiled to SQL and tested in Python alike."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from micro_dashboard.api.openapi import document
from micro_dashboard.filters import parse_args
from micro_dashboard.operators import OPERATORS, split_operator
from micro_dashboard.paths import MISSING
from micro_dashboard.store import entity_leaves, read_indexes
from micro_dashboard.store.filter_sql import compile_filter
from micro_dashboard.testing.matching import api_filters, compare, expectations

README = Path(__file__).resolve().parent.parent / "README.md"

# Values an entity field may hold (MISSING: the entity has no such field), and values each operator is given,
# chosen to cross types: numbers and their text, booleans, null, case, lists and objects.
ACTUALS = [5, 5.0, 7, "5", "abc", "ABC", "", True, False, None, [5], {"a": 1}, MISSING]
EXPECTED = {
    "exact": [5, 5.5, "5", "abc", True, False],
    "contains": ["b", "B", "5"],
    "startswith": ["a", "A", "5"],
    "in": [[5, "abc"], [True], ["x", 7]],
    "gt": [4, 5, "abb", True],
    "gte": [5, "abc", False],
    "lt": [6, "abd", True],
    "lte": [5, "ABC"],
    "isnull": [True, False],
    "not": [5, "abc"],
}


def readme_filters_paragraph() -> str:
    """Return the README's paragraph on filters: its bold heading and the list that follows it."""
    text = README.read_text(encoding="utf-8")
    heading, *blocks = text[text.index("**Filters**"):].split("\n\n")
    return "\n\n".join([heading, *(block for block in blocks[:1] if block.startswith("- "))])


def test_every_operator_is_in_the_readme_and_the_openapi_document() -> None:
    paragraph = readme_filters_paragraph()
    description = document()["info"]["description"]
    for op in OPERATORS.values():
        assert f"`{op.suffix}`" in paragraph, f"README's Filters paragraph does not list {op.suffix}"
        assert f"`{op.suffix}` ({op.description})" in description, f"the OpenAPI document does not list {op.suffix}"
    assert set(re.findall(r"`__(\w+)`", paragraph)) == set(OPERATORS), "README lists an operator that does not exist"


def test_every_operator_has_sample_values_here() -> None:
    assert set(EXPECTED) == set(OPERATORS)


def test_an_operator_suffix_is_split_off_only_when_it_is_known() -> None:
    assert [split_operator(key) for key in ("se_value__gte", "a__b__in", "se_value", "x__nope", "__in")] == [
        ("se_value", "gte"), ("a__b", "in"), ("se_value", None), ("x__nope", None), ("__in", None)]


def selected(flt_pairs: list[tuple[str, str]], actuals: list[object]) -> list[bool]:
    """Return, for an entity holding each actual value as `v`, whether the compiled filter selects its event."""
    db = sqlite3.connect(":memory:")
    # The columns the compiled filter reads, as the store's tables name them.
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, parameters TEXT, request_id INTEGER)")
    db.execute("CREATE TABLE entities (event_row INTEGER, kind TEXT, name TEXT, data TEXT)")
    read_indexes.create_value_index(db)  # entity equality and `in` are looked up there
    for row, actual in enumerate(actuals, start=1):
        data = {} if actual is MISSING else {"v": actual}
        db.execute("INSERT INTO events (id, parameters) VALUES (?, '{}')", (row,))
        text = json.dumps(data, ensure_ascii=False)
        db.execute("INSERT INTO entities VALUES (?, 'context', 'gitlab_standard', ?)", (row, text))
        entity_leaves.add_values(db, row, [("gitlab_standard", "context", text, entity_leaves.leaves(data))])
    sql, params = compile_filter(parse_args(flt_pairs))
    hits = {r for (r,) in db.execute(f"SELECT id FROM events WHERE {sql}", params)}
    return [row in hits for row in range(1, len(actuals) + 1)]


@pytest.mark.parametrize("name", list(OPERATORS))
def test_what_the_test_client_matches_the_api_selects(name: str) -> None:
    """The client pre-selects with the API, then tests in Python: the API must select a superset."""
    for expected in EXPECTED[name]:
        wanted = expectations({"gitlab_standard": {f"v__{name}": expected}})
        pairs = api_filters(wanted)
        if not any(key.startswith("gitlab_standard.") for key, _ in pairs):
            continue  # the client checks this one itself (e.g. `not` on an entity)
        from_sql = selected(pairs, ACTUALS)
        for actual, by_sql in zip(ACTUALS, from_sql):
            by_python = compare(name, expected, actual)
            assert by_sql or not by_python, f"v__{name}={expected!r} on {actual!r}: Python matches, SQL does not"

