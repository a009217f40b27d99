"""The pure pipeline: a raw request in, canonical events and failures out. No Flask, no SQL, no threads."""

from __future__ import annotations

import logging
import time

from . import failures
from .enrich import enrich
from .model import AcceptAll, Entity, Event, Failure, Outcome, Problem, RawPayload, SchemaChecker, Verdict
from .payload import extract

__all__ = ["AcceptAll", "Entity", "Event", "Failure", "Outcome", "Problem", "RawPayload", "SchemaChecker",
           "Verdict", "ingest"]

MAX_BODY_BYTES = 2 * 1024 * 1024
log = logging.getLogger(__name__)


def ingest(
    raw: RawPayload,
    checker: SchemaChecker | None = None,
    now: int | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Outcome:
    """Make events from one request: decode, check schemas with `checker`, keep a bug of ours as a bad row."""
    if (part := failures.oversized_head(raw)) is not None:
        return Outcome([], [failures.size_violation(raw, failures.HEAD_LIMITS[part], part)])
    if raw.body_size > max_body_bytes:
        return Outcome([], [failures.size_violation(raw, max_body_bytes)])
    try:
        params_list, payload_failures = extract(raw)
    except Exception as exc:  # a bug here must not lose the request: it is kept with the reason
        log.exception("extracting events from %s %s failed", raw.method, raw.path)
        return Outcome([], [failures.internal_error(raw, f"micro-dashboard failed to read this request: {exc!r}")])
    checker = checker or AcceptAll()
    now = now if now is not None else int(time.time() * 1000)
    events = []
    for params in params_list:
        try:
            events.append(enrich(raw, params, checker, now))
        except Exception as exc:  # one event that trips a bug must not take the rest of its batch with it
            log.exception("decoding an event of %s %s failed", raw.method, raw.path)
            message = f"micro-dashboard failed to decode this event: {exc!r}"
            payload_failures.append(failures.internal_error(raw, message, params))
    return Outcome(events, payload_failures)
