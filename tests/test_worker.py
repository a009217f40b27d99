"""The pipeline worker's memory of unverified schemas stays bounded, however many made-up schema URIs arrive."""

from __future__ import annotations

from typing import Any

from micro_dashboard.pipeline import Verdict
from micro_dashboard.worker import MAX_REMEMBERED, ResolutionTracker


class Offline:
    """A checker for when no registry answers: every schema is unverified, except those it is told resolve."""

    resolver = None

    def __init__(self) -> None:
        self.resolving: set[str] = set()

    def check(self, schema: str, data: Any) -> Verdict:
        return Verdict("valid") if schema in self.resolving else Verdict("unverified", note="registry down")


def test_unverified_schemas_are_remembered_up_to_a_bound_and_resolutions_are_reported() -> None:
    checker = Offline()
    tracker = ResolutionTracker(checker, [])  # type: ignore[arg-type]
    for i in range(MAX_REMEMBERED + 500):
        tracker.check(f"iglu:com.example/made_up_{i}/jsonschema/1-0-0", {})
    assert len(tracker._unverified) == MAX_REMEMBERED
    newest = f"iglu:com.example/made_up_{MAX_REMEMBERED + 499}/jsonschema/1-0-0"
    checker.resolving.add(newest)
    assert tracker.check(newest, {}).status == "valid"
    assert tracker.take_resolved() == {newest} and tracker.take_resolved() == set()
