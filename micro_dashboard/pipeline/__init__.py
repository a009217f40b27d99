"""The pure pipeline: a raw request in, canonical events and failures out. No Flask, no SQL, no threads."""

from __future__ import annotations

import time

from . import failures
from .enrich import enrich
from .model import AcceptAll, Entity, Event, Failure, Outcome, Problem, RawPayload, SchemaChecker, Verdict
from .payload import extract

__all__ = ["AcceptAll", "Entity", "Event", "Failure", "Outcome", "Problem", "RawPayload", "SchemaChecker",
           "Verdict", "process"]

MAX_BODY_BYTES = 2 * 1024 * 1024


def process(
    raw: RawPayload,
    checker: SchemaChecker | None = None,
    now: int | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Outcome:
    """Decode every event in a raw request, checking self-describing data with `checker`."""
    if raw.body_size > max_body_bytes:
        return Outcome([], [failures.size_violation(raw, max_body_bytes)])
    params_list, payload_failures = extract(raw)
    checker = checker or AcceptAll()
    now = now if now is not None else int(time.time() * 1000)
    return Outcome([enrich(raw, params, checker, now) for params in params_list], payload_failures)
