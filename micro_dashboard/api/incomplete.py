"""Snowplow Micro 3.0's GET /micro/events: good events, and failed ones as Enrich's "incomplete" events (the
invalid parts removed, one `failure` entity per failure in derived_contexts), in the lossy (flattened) JSON form."""

from __future__ import annotations

import copy
from typing import Any

from ..pipeline.failures import PROCESSOR
from ..pipeline.fields import expand_json_form, to_flat_form
from ..snowplow import ATOMIC_SCHEMA, CONTEXTS_SCHEMA, FAILURE_SCHEMA
from ..store import StoredEntity, StoredEvent, StoredFailure

# Enrich's `source` of a failure: the part of the event the failing data came from.
SOURCES = {"unstruct": "unstruct", "context": "contexts"}
ATOMIC_SOURCE = "atomic_field"


def lossy_event(event: StoredEvent) -> dict[str, Any]:
    """Return one element of GET /micro/events: the event as Enrich emits it, flattened as Micro's UI reads it."""
    fields = copy.deepcopy(event.fields or {})
    if not event.summary.valid:
        _drop_invalid_entities(fields, event.entities)
        failures = failure_entities(event)
        if failures:
            derived = fields.get("derived_contexts") or {"schema": CONTEXTS_SCHEMA, "data": []}
            derived["data"] = [*derived.get("data", []), *failures]
            fields["derived_contexts"] = derived
    return to_flat_form(expand_json_form(fields))


def _drop_invalid_entities(fields: dict[str, Any], entities: list[StoredEntity]) -> None:
    """Remove the self-describing event and the entities that failed validation, as Enrich does."""
    if any(e.kind == "unstruct" and e.status == "invalid" for e in entities):
        fields.pop("unstruct_event", None)
    invalid = {e.position for e in entities if e.kind == "context" and e.status == "invalid"}
    contexts = fields.get("contexts")
    if invalid and isinstance(contexts, dict):
        kept = [c for i, c in enumerate(contexts.get("data", [])) if i not in invalid]
        if kept:
            contexts["data"] = kept
        else:
            fields.pop("contexts")


def failure_entities(event: StoredEvent) -> list[dict[str, Any]]:
    """Return the `failure` entities (1-0-0) Enrich attaches to an incomplete event, one per failure."""
    invalid = [e for e in event.entities if e.status == "invalid"]
    entities = []
    for failure in event.failures:
        data = failure.bad_row.get("data", {})
        processor = data.get("processor") or PROCESSOR
        timestamp = (data.get("failure") or {}).get("timestamp") or (event.fields or {}).get("etl_tstamp")
        for failure_type, errors, schema, offending in _failures(failure, invalid, event.parameters or {}):
            entities.append({"schema": FAILURE_SCHEMA, "data": {
                "failureType": failure_type, "errors": errors, "schema": schema, "data": offending,
                "timestamp": timestamp, "componentName": processor.get("artifact"),
                "componentVersion": processor.get("version")}})
    return entities


def _failures(failure: StoredFailure, invalid: list[StoredEntity], parameters: dict[str, str]) -> list[tuple]:
    """Return (failureType, errors, schema, data) for each failure a bad row describes."""
    detail = failure.bad_row.get("data", {}).get("failure") or {}
    messages = detail.get("messages") if isinstance(detail.get("messages"), list) else []
    if failure.type == "schema_violations":
        return [_schema_violation(m, invalid, parameters) for m in messages]
    if failure.type == "enrichment_failures":
        return [_enrichment_failure(m) for m in messages]
    return [(failure.type, [{"message": p.get("message", "")} for p in failure.problems] or [{"message": ""}],
             None, None)]


def _enrichment_failure(message: dict[str, Any]) -> tuple:
    """Turn one enrichment_failures message into Enrich's failure entity parts."""
    failure_type = f"EnrichmentError: {(message.get('enrichment') or {}).get('identifier') or ''}"
    detail = message.get("message") or {}
    if "field" in detail:  # Enrich's InputData: a field whose value the enrichment cannot take
        field = str(detail["field"])
        errors = [{"message": f"{field} - {detail.get('expectation')}", "source": field}]
        return failure_type, errors, None, {field: detail.get("value")}
    return failure_type, [{"message": str(detail.get("error", detail))}], None, None


def _schema_violation(message: dict[str, Any], invalid: list[StoredEntity], parameters: dict[str, str]) -> tuple:
    """Turn one schema_violations message into Enrich's failure entity parts, finding the data that failed."""
    schema = message.get("schemaKey")
    if "field" in message and schema is None:  # NotJSON: the field whose value is not JSON
        field = str(message["field"])
        return "NotJSON", [{"message": message.get("error"), "source": field}], None, {field: message.get("value")}
    if "json" in message and schema is None:  # NotIglu: JSON that is not self-describing
        return "NotIglu", [{"message": str(message.get("error")), "source": "unstruct"}], None, message.get("json")
    if schema == ATOMIC_SCHEMA:
        reports = (message.get("error") or {}).get("dataReports") or []
        errors = [_error(r, ATOMIC_SOURCE) for r in reports]
        return "ValidationError", errors, schema, {r.get("path"): parameters.get(r.get("path")) for r in reports}
    entity = next((e for e in invalid if e.schema == schema), None)
    if entity is not None:
        invalid.remove(entity)  # the next message about the same schema is about the next such entity
    source = SOURCES.get(entity.kind, entity.kind) if entity is not None else "contexts"
    offending = entity.data if entity is not None else None
    error = message.get("error") or {}
    if "schemaCriterion" in message:
        text = f"Unexpected schema: {schema} does not match the criterion"
        return "CriterionMismatch", [{"message": text, "source": source,
                                      "criterion": message["schemaCriterion"]}], schema, offending
    if error.get("error") == "ResolutionError":
        text = f"Resolution error: schema {schema} not found"
        return "ResolutionError", [{"message": text, "source": source,
                                    "lookupHistory": error.get("lookupHistory", [])}], schema, offending
    if "schemaIssues" in error:
        errors = [{"message": f"Invalid schema: {schema} - {i.get('message')}", "source": source,
                   "path": i.get("path")} for i in error["schemaIssues"]]
        return "ValidationError", errors, schema, offending
    errors = [_error(r, source) for r in error.get("dataReports") or []]
    return str(error.get("error") or "ValidationError"), errors, schema, offending


def _error(report: dict[str, Any], source: str) -> dict[str, Any]:
    """Return one error of a ValidationError failure entity: a dataReport and where the data came from."""
    return {"message": report.get("message"), "source": source, "path": report.get("path"),
            "keyword": report.get("keyword"), "targets": report.get("targets") or []}
