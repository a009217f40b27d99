"""The OpenAPI 3.1 document of every endpoint, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .. import __version__
from ..columns import FILTERABLE
from ..operators import OPERATORS
from ..snowplow import SNOWPLOW_VENDOR
from .events import TOTAL_CAP

bp = Blueprint("openapi", __name__, url_prefix="/api")

OBJECT = {"type": "object"}
ERROR = {"$ref": "#/components/schemas/Error"}
OPERATOR_TEXT = ", ".join(f"`{op.suffix}` ({op.description})" for op in OPERATORS.values())
FILTER_TEXT = (
    "Filters (AND-ed): promoted columns ({cols}), `valid=true|false`, `from=`/`to=` (ISO-8601 or epoch ms, on "
    "collector_tstamp), `<entity>.<json.path>` inside an entity or self-describing event by schema name (a "
    "number in the path indexes a list), `unstruct.<path>`, `has=<entity>`, `param.<key>` (raw tracker "
    "parameters), `q=` free text, `search=` the search-box language. Operator suffixes: {ops}. Values that parse "
    "as numbers compare numerically on entity fields and parameters. An unknown filter gets 400 naming it."
).format(cols=", ".join(FILTERABLE), ops=OPERATOR_TEXT)


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


# Flask's path converter stops at a line break, so a path holding one is answered by no route of Micro's (a 404 or
# a 405 page, like any unknown path): the rest these routes take has none.
REST = _path("rest", "The rest of the path (without line breaks).", {"type": "string", "not": {"pattern": "\\n"}})


FILTERS = [
    *(_query(c, f"Exact match on {c} (operators as suffixes, e.g. {c}__contains).") for c in FILTERABLE),
    _query("valid", "true for valid events, false for invalid ones.", {"type": "boolean"}),
    _query("from", "Earliest collector_tstamp, ISO-8601 or epoch milliseconds."),
    _query("to", "Latest collector_tstamp, ISO-8601 or epoch milliseconds."),
    _query("has", "Only events carrying this entity (schema name); repeatable."),
    _query("q", "Free text over the raw payload and the decoded event."),
    _query("search", "The search box: app:x event:x schema:x is:valid is:invalid is:unverified has:e e.f:v param.k:v "
                      "-neg \"phrase\", key=value, and aliases (action: category: label: property: value: "
                      "project_id: namespace_id: user_id: plan:); GET /api/search-help lists them."),
]
INT = {"type": "integer"}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or OBJECT}}}


def _text(description: str, mimetype: str = "text/plain") -> dict[str, Any]:
    return {"description": description, "content": {mimetype: {"schema": {"type": "string"}}}}


def _op(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, tag: str = "api") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return op


BAD = {"400": _json("A filter or parameter that cannot be understood, named in `error`.", ERROR)}
DETAIL = {"$ref": "#/components/schemas/EventDetail"}


def _api_paths() -> dict[str, Any]:
    listing = [_query("limit", "Rows per page (default 50, at most 1000).", INT),
               _query("before", "Only rows with a smaller id (the next_before of the previous page).", INT),
               _query("since", "Only rows with a greater id.", INT),
               _query("columns", "Comma-separated extra columns: canonical fields, param.<k>, <entity>.<path>."),
               _query("total", f"`exact` to count every matching row; without it `total` stops at {TOTAL_CAP:,} "
                               "(with `total_exact` false: at least that many).", {"type": "string",
                                                                                     "enum": ["exact"]})]
    wait = [_query("count", "How many matching events to wait for (default 1).", INT),
            _query("timeout", "Seconds to wait, at most 60 (default 5).", {"type": "number"}),
            _query("since", "Row-id cursor: only rows after it count (default 0).", INT)]
    detail = {"200": _json("The event in full.", DETAIL), "404": _json("No such event.", ERROR)}
    return {
        "/api/events": {
            "get": _op("List matching events, newest first, paged by row-id cursor.",
                       {"200": _json("A page of summaries.", {"$ref": "#/components/schemas/EventList"}), **BAD},
                       [*FILTERS, *listing]),
            "delete": _op("Delete matching events (all when no filter is given).",
                          {"200": _json("How many rows were deleted.", {
                              "type": "object", "properties": {"deleted": INT}}), **BAD}, FILTERS),
        },
        "/api/events/latest": {"get": _op("The newest matching event in full.", {**detail, **BAD}, FILTERS)},
        "/api/events/{key}": {"get": _op("One event in full, by event_id or row id.", detail,
                                         [_path("key", "An event_id (UUID) or a numeric row id.")])},
        "/api/wait": {"get": _op(
            "Wait until `count` matching events exist after `since`, woken by each commit.",
            {"200": _json("The events, oldest first.", {"$ref": "#/components/schemas/WaitResult"}),
             "408": _json("Timed out: what did arrive, and `error`.", {"$ref": "#/components/schemas/WaitResult"}),
             **BAD}, [*FILTERS, *wait])},
        "/api/stats": {"get": _op("Counts by validity, event, app, schema, and per minute over from..to.",
                                  {"200": _json("The counts."), **BAD}, FILTERS)},
        "/api/columns": {"get": _op("Column names a list can show.", {"200": _json("The names.")})},
        "/api/cursor": {"get": _op("Where 'from now on' starts: `{last_id, metrics}` (each GitLab metric's moving "
                                   "reading, null without definitions); cheap.", {"200": _json("The cursor.")})},
        "/api/search-help": {"get": _op(
            "The search language (the `search=` filter and the UI's search box): its forms with what each means, "
            "the keys it reads, the aliases (`action:` is se_action, `project_id:` is gitlab_standard.project_id, "
            "...), the `is:` values and the operators.",
            {"200": _json("`{syntax: [{example, means}], keys, aliases, is, operators}`; with `search=`, also "
                          "`check: {ok, error}` saying whether that search reads.")},
            [_query("search", "A search to check (answered 200 with `check.ok` false when it does not read).")])},
        "/api/values": {"get": _op(
            "The most frequent values of a search key, for autocomplete: a promoted column through its index, an "
            "entity field or parameter over the newest 5,000 rows carrying it.",
            {"200": _json("`{key, values: [{value, count}]}`, most frequent first."), **BAD},
            [_query("key", "A search key: app, event, an alias (action, project_id, ...), a column, "
                           "<entity>.<path> or param.<key>."),
             _query("prefix", "Only values starting with this text."),
             _query("limit", "How many values (default 10, at most 50).", INT)])},
        "/api/registries": {"get": _op(
            "The configured Iglu registries, in the order they are asked, each `ok`, `unreachable` (with `reason` "
            "and `since`) or `not asked yet`; `unverified` counts the stored events whose schemas could not be "
            "checked.",
            {"200": _json("`{registries: [{name, location, kind, state, reason, since}], unreachable, unverified, "
                          "strict, fixes}`.")})},
        "/api/export.ndjson": {"get": _op("Stream matching events as NDJSON (canonical JSON form), oldest first.",
                                          {"200": _text("One event per line.", "application/x-ndjson"), **BAD},
                                          FILTERS)},
        "/api/export.tsv": {"get": _op("Stream matching events as the 131-column enriched TSV, oldest first.",
                                       {"200": _text("One event per line.", "text/tab-separated-values"), **BAD},
                                       FILTERS)},
        "/api/openapi.json": {"get": _op("This document.", {"200": _json("OpenAPI 3.1.")})},
        **_gitlab_paths(),
    }


def _gitlab_paths() -> dict[str, Any]:
    now = [_query("now", "Read the metrics as at this time, ISO-8601 or epoch milliseconds (default: now).")]
    return {
        "/api/metrics": {"get": _op(
            "GitLab metrics: every key path with its moving and production readings, and the definitions' problems.",
            {"200": _json("`{now, configured, version, dirs, metrics, problems}`."), **BAD}, now, tag="gitlab")},
        "/api/definitions": {"get": _op(
            "GitLab definitions: the loaded events, metric key paths and problems.",
            {"200": _json("`{configured, version, dirs, events, metrics, problems}`.")}, tag="gitlab")},
        "/api/events/{key}/gitlab": {"get": _op(
            "One event's GitLab checks and the metric key paths it moved.",
            {"200": _json("`{id, event_id, action, checks, moved}`."), "404": _json("No such event.", ERROR), **BAD},
            [_path("key", "An event_id (UUID) or a numeric row id."), *now], tag="gitlab")},
    }


def _micro_paths() -> dict[str, Any]:
    good = {"type": "object", "properties": {"event_type": {"type": "string"}, "schema": {"type": "string"},
                                             "contexts": {"type": "array", "items": {"type": "string"}},
                                             "limit": INT}}
    bad = {"type": "object", "properties": {"vendor": {"type": "string"}, "version": {"type": "string"},
                                            "limit": INT}}
    counts = _json("`{total, good, bad}`.")
    list_ = _json("Events in Micro's shape, newest first.", {"type": "array", "items": OBJECT})
    filtered = {"200": list_, **BAD, "422": _json("A body field of the wrong type, named in `error`.", ERROR)}
    rest = [REST]
    micro_paged = {"type": "object", "properties": {
        "filters": {"type": "array", "items": OBJECT}, "validEvents": {"type": "boolean"},
        "timeRange": OBJECT, "sorting": OBJECT, "page": INT, "pageSize": INT}}
    return {
        "/micro/all": {m: _op("Micro: how many good and bad events.", {"200": counts}, tag="micro")
                       for m in ("get", "post")},
        "/micro/good": {"get": _op("Micro: all good events.", {"200": list_}, tag="micro"),
                        "post": _op("Micro: good events filtered.", filtered, body=good, tag="micro")},
        "/micro/bad": {"get": _op("Micro: all bad events.", {"200": list_}, tag="micro"),
                       "post": _op("Micro: bad events filtered.", filtered, body=bad, tag="micro")},
        "/micro/reset": {m: _op("Micro: delete everything.", {"200": counts}, tag="micro") for m in ("get", "post")},
        "/micro/ui": {"get": _op("Micro: redirect to this dashboard's UI.", {"302": {"description": "To /."}},
                                 tag="micro")},
        "/micro/ui/{rest}": {"get": _op("Micro: redirect to this dashboard's UI.", {"302": {"description": "To /."}},
                                        rest, tag="micro")},
        "/micro/iglu/{vendor}/{name}/{fmt}/{version}": {"get": _op(
            "Micro: a schema if it resolves.", {"200": _json("The schema."), "404": _text("Why not.")},
            [_path("vendor", "Schema vendor."), _path("name", "Schema name."), _path("fmt", "jsonschema."),
             _path("version", "model-revision-addition.")], tag="micro")},
        "/micro/iglu/{rest}": {"get": _op("Micro: a malformed schema lookup.", {"404": _text("The expected form.")},
                                          rest, tag="micro")},
        "/micro/events": {"get": _op("Micro 3.0: good and incomplete events, newest first, flattened.", {
            "200": _json("Events in the lossy JSON form; failed ones with `failure` entities.",
                         {"type": "array", "items": OBJECT})}, tag="micro"),
                          "post": _op("Micro 4.x: a page of flattened events.", {
            "200": _json("`{events, totalPages, totalItems}`."), **BAD}, body=micro_paged, tag="micro")},
        "/micro/columns": {"get": _op("Micro 4.x: sorted column names.", {
            "200": _json("Names.", {"type": "array", "items": {"type": "string"}})}, tag="micro")},
        "/micro/timeline": {"post": _op("Micro 4.x: valid and failed counts per bucket.", {
            "200": _json("`{points: [{validEvents, failedEvents, bucket}]}`."), **BAD},
            body={"type": "object", "properties": {"buckets": {"type": "array", "items": OBJECT}}}, tag="micro")},
        "/micro/{rest}": {m: _op("Micro: any other path, 404 with Micro's sentence.",
                                 {"404": _text("Which paths Micro serves.")}, rest, tag="micro")
                          for m in ("get", "post", "put", "patch", "delete")},
        "/micro/": {m: _op("Micro: no path, 404 with Micro's sentence.", {"404": _text("Which paths Micro serves.")},
                           tag="micro") for m in ("get", "post", "put", "patch", "delete")},
    }


def _collector_paths() -> dict[str, Any]:
    pixel = {"200": {"description": "A 1x1 GIF.", "content": {"image/gif": {"schema": {
        "type": "string", "format": "binary"}}}}}
    return {
        "/i": {"get": _op("Collect one event from tracker parameters (tp1).", pixel, tag="collector")},
        "/ice.png": {"get": _op("Collect one event from tracker parameters (tp1).", pixel, tag="collector")},
        "/r/tp2": {"get": _op("Collect a click and redirect to `u` (when enabled).",
                              {"302": {"description": "To `u`."},
                               "400": _text("`u` is missing or not an absolute http(s) URL; nothing is stored."),
                               "404": _text("Redirects are not enabled (`--enable-redirect`).")},
                              [_query("u", "Where to go.")], tag="collector")},
        "/{vendor}/{version}": {
            "get": _op("Collect tp2 (GET) or an Iglu webhook event.", pixel,
                       [_path("vendor", f"e.g. {SNOWPLOW_VENDOR}"), _path("version", "e.g. tp2")],
                       tag="collector"),
            "post": _op("Collect a tp2 payload_data batch or an Iglu webhook body.", {"200": _text("ok")},
                        [_path("vendor", f"e.g. {SNOWPLOW_VENDOR}"), _path("version", "e.g. tp2")],
                        body=OBJECT, tag="collector")},
        "/health": {"get": _op("Liveness.", {"200": _text("ok")}, tag="collector")},
    }


SCHEMAS = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string"}, "detail": {}}},
    "Summary": {"type": "object", "properties": {
        "id": INT, "event_id": {"type": ["string", "null"]}, "valid": {"type": "boolean"},
        "unverified": {"type": "boolean"}, "collector_tstamp": INT, "schema": {"type": ["string", "null"]},
        **{c: {"type": ["string", "null"]} for c in ("app_id", "platform", "event", "event_name", "event_vendor",
                                                     "name_tracker", "user_id", "se_category", "se_action",
                                                     "se_label")},
        "problems": {"type": "array", "items": OBJECT}, "columns": OBJECT,
        "duplicate": {"type": "boolean", "description": "In /api/events, present (true) when an earlier row "
                                                       "had the same event_id (a replay or a tracker's retry)."}}},
    "EventList": {"type": "object", "properties": {
        "events": {"type": "array", "items": {"$ref": "#/components/schemas/Summary"}},
        "next_before": {"type": ["integer", "null"]}, "last_id": INT,
        "total": {"type": "integer", "description": f"Matching rows; at most {TOTAL_CAP:,} unless ?total=exact."},
        "total_exact": {"type": "boolean", "description": "False when `total` is a lower bound (the count stopped)."}}},
    "EventDetail": {"type": "object", "properties": {
        "row": {"$ref": "#/components/schemas/Summary"}, "event": {"type": ["object", "null"]},
        "flat": {"type": ["object", "null"]}, "parameters": {"type": ["object", "null"]},
        "entities": {"type": "array", "items": OBJECT},
        "failures": {"type": "array", "items": OBJECT}, "request": {"type": ["object", "null"]},
        "curl": {"type": ["string", "null"]}}},
    "WaitResult": {"type": "object", "properties": {
        "events": {"type": "array", "items": {"$ref": "#/components/schemas/EventDetail"}},
        "cursor": INT, "count": INT, "error": {"type": "string"}}},
}


def document() -> dict[str, Any]:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "micro-dashboard", "version": __version__,
                 "description": "A local Snowplow collector with Snowplow Micro's API and a query API. " + FILTER_TEXT},
        "tags": [{"name": "api", "description": "The dashboard's own query API."},
                 {"name": "micro", "description": "Snowplow Micro's API (classic and 4.x)."},
                 {"name": "gitlab", "description": "GitLab's event and metric definitions, read from stored events."},
                 {"name": "collector", "description": "Where trackers send events."}],
        "paths": {**_api_paths(), **_micro_paths(), **_collector_paths()},
        "components": {"schemas": SCHEMAS},
    }


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    """Serve the OpenAPI document."""
    return jsonify(document())
