"""Adapters: turn one raw request into tracker parameter maps, or a failure saying why none could be read."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from ..snowplow import IGLU_VENDOR, PAYLOAD_DATA, SNOWPLOW_VENDOR, UNSTRUCT_SCHEMA
from . import failures
from .model import Failure, Problem, RawPayload

JSON_CONTENT_TYPE = re.compile(r"^application/json\s*(;\s*charset\s*=\s*utf-8\s*)?$", re.IGNORECASE)
PAYLOAD_KEYS = frozenset(
    """tna aid p dtm tz e tid eid tv duid nuid uid vid ip res url page refr fp ctype cookie lang f_pdf f_qt f_realp
    f_wma f_dir f_fla f_java f_gears f_ag cd ds cs vp mac pp_mix pp_max pp_miy pp_may ad_ba ad_ca ad_ad ad_uid
    tr_id tr_af tr_tt tr_tx tr_sh tr_ci tr_st tr_co tr_cu ti_id ti_sk ti_nm ti_na ti_ca ti_pr ti_qu ti_cu sa sn st
    sp se_ca se_ac se_la se_pr se_va ue_na ue_pr ue_px co cx ua tnuid stm sid ttm""".split()
)
REQUIRED_KEYS = ("tv", "p", "e")

Extraction = tuple[list[dict[str, str]], list[Failure]]


class QueryStringError(ValueError):
    """The query string is not valid percent-encoded UTF-8."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every call: json.loads with options would build a new one each time, on the hot path.
STRICT_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def loads_strict(text: str) -> Any:
    """Parse JSON as Snowplow does: NaN and Infinity are not JSON, and nesting too deep to read is an error."""
    try:
        return STRICT_JSON.decode(text)
    except RecursionError:
        raise ValueError("it is nested too deeply to read") from None


def parse_query(querystring: str) -> dict[str, str]:
    """Parse a form-encoded query string split on `&` and `;`; for a repeated key the last value wins."""
    try:
        pairs = parse_qsl(querystring.replace(";", "&"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise QueryStringError(f"the query string is not valid UTF-8 after percent-decoding: {exc.reason}") from exc
    return dict(pairs)


def describe(value: Any) -> str:
    """Describe a JSON value briefly for a sentence: its type and, when short, itself."""
    kind = {bool: "boolean", int: "number", float: "number", type(None): "null", list: "array", dict: "object"}
    text = json.dumps(value)
    shown = f" {text}" if len(text) <= 40 else ""
    return f"{kind.get(type(value), 'string')}{shown}"


def extract(raw: RawPayload) -> Extraction:
    """Return the parameter maps of every event in the request, or the failure that stopped extraction."""
    try:
        query = parse_query(raw.querystring)
    except QueryStringError as exc:
        return [], [failures.format_violation(raw, str(exc))]
    if raw.vendor == SNOWPLOW_VENDOR and raw.version in ("tp1", "tp2") and raw.method in ("GET", "HEAD"):
        if not query:
            return [], [failures.adapter_failure(raw, [("querystring", None, "empty querystring: no event")])]
        return [query], []
    if raw.vendor == SNOWPLOW_VENDOR and raw.version == "tp2" and raw.method == "POST":
        return extract_tp2_post(raw, query)
    if raw.vendor == IGLU_VENDOR and raw.version == "v1":
        return extract_iglu_webhook(raw, query)
    expectation = f"vendor/version {raw.vendor}/{raw.version} is not supported by this collector"
    return [], [failures.adapter_failure(raw, [("vendor/version", f"{raw.vendor}/{raw.version}", expectation)])]


def check_payload_data(body: Any) -> list[Problem]:
    """Check a tp2 body against payload_data as a whole, naming each offending item and field."""
    if not isinstance(body, dict):
        return [Problem("$", f"the body must be a JSON object with schema and data, got {describe(body)}")]
    problems = []
    schema = body.get("schema")
    if not isinstance(schema, str) or not PAYLOAD_DATA.fullmatch(schema):
        problems.append(Problem("$.schema", f"schema must be iglu:{SNOWPLOW_VENDOR}/payload_data/jsonschema/1-0-*, "
                                            f"got {describe(schema)}"))
    data = body.get("data")
    if not isinstance(data, list) or not data:
        problems.append(Problem("$.data", f"data must be a non-empty array of events, got {describe(data)}"))
        return problems
    for index, item in enumerate(data):
        where = f"$.data[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, f"event {index} must be an object of strings, got {describe(item)}"))
            continue
        for key in REQUIRED_KEYS:
            if key not in item:
                problems.append(Problem(f"{where}.{key}", f"event {index} is missing the required field {key!r}"))
        for key, value in item.items():
            if key not in PAYLOAD_KEYS:
                problems.append(Problem(f"{where}.{key}", f"event {index} has the unknown field {key!r} "
                                                          "(not a tracker protocol parameter)"))
            elif not isinstance(value, str):
                problems.append(Problem(f"{where}.{key}", f"event {index} field {key!r} must be a string, "
                                                          f"got {describe(value)}"))
    return problems


def _decode_json_body(raw: RawPayload) -> tuple[Any, Problem | None]:
    if not raw.body:
        return None, Problem("body", "the request body is empty")
    try:
        text = raw.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Problem("body", f"the body is not UTF-8 (byte {exc.start} is invalid)")
    try:
        return loads_strict(text), None
    except json.JSONDecodeError as exc:
        return None, Problem("body", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except ValueError as exc:
        return None, Problem("body", f"the body is not JSON: {exc}")


def extract_tp2_post(raw: RawPayload, query: dict[str, str]) -> Extraction:
    """Extract a tp2 POST batch; any violation of payload_data rejects the whole batch, as Snowplow does."""
    content_type = (raw.content_type or "").strip()
    if not JSON_CONTENT_TYPE.match(content_type):
        shown = content_type or "none"
        problem = Problem("contentType", f"Content-Type must be application/json (optionally with charset=utf-8), "
                                         f"got {shown}")
        return [], [failures.protocol_violation(raw, [problem])]
    body, problem = _decode_json_body(raw)
    if problem:
        return [], [failures.protocol_violation(raw, [problem])]
    problems = check_payload_data(body)
    if problems:
        return [], [failures.protocol_violation(raw, problems)]
    # Query-string parameters of a POST apply to every event of the batch and win on a clash.
    return [{**item, **query} for item in body["data"]], []


def extract_iglu_webhook(raw: RawPayload, query: dict[str, str]) -> Extraction:
    """Extract one self-describing event sent to the Iglu webhook, from the query string or the body."""
    params = dict(query)
    schema = params.pop("schema", None)
    platform = params.pop("p", "app")
    data: Any = params
    if raw.method == "POST" and raw.body:
        content_type = (raw.content_type or "").lower()
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                data = parse_query(raw.body.decode("utf-8"))
            except (UnicodeDecodeError, QueryStringError) as exc:
                return [], [failures.adapter_failure(raw, [("body", None, f"the form body cannot be read: {exc}")])]
        else:
            data, problem = _decode_json_body(raw)
            if problem:
                return [], [failures.adapter_failure(raw, [("body", None, problem.message)])]
            if schema is None and isinstance(data, dict) and "schema" in data and "data" in data:
                schema, data = data["schema"], data["data"]
    if not schema:
        expectation = "the Iglu webhook needs a schema: a schema= parameter or a self-describing JSON body"
        return [], [failures.adapter_failure(raw, [("schema", None, expectation)])]
    event = {"schema": UNSTRUCT_SCHEMA,
             "data": {"schema": schema, "data": data}}
    return [{"e": "ue", "p": platform, "tv": f"{IGLU_VENDOR}-v1",
             "ue_pr": json.dumps(event, separators=(",", ":"))}], []
