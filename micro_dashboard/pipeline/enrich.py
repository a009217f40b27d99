"""Map one event's tracker parameters onto the canonical event, recording every problem found on the way."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..snowplow import CONTEXTS_1_0_1_SCHEMA, CONTEXTS_SCHEMA, IGLU_URI, SNOWPLOW_VENDOR, UNSTRUCT_SCHEMA, UUID
from . import failures
from .fields import MAX_LENGTHS
from .model import COLLECTOR_NAME, Entity, Event, Problem, RawPayload, SchemaChecker
from .payload import loads_strict

# Patterns are used with fullmatch and ASCII digits only: `$` would let a trailing newline through, and `\d`
# would accept other scripts' digits, which Enrich rejects.
INT_RE = re.compile(r"[+-]?[0-9]+")
DECIMAL_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
DIMENSIONS_RE = re.compile(r"([0-9]+)x([0-9]+)")
INT32 = (-(2**31), 2**31 - 1)  # Enrich parses integer fields as Java ints
PLATFORMS = frozenset("web mob pc srv app tv cnsl iot headset".split())
ANONYMOUS_NUID = "00000000-0000-0000-0000-000000000000"
MAX_TIMESTAMP = 253402300799999  # 9999-12-31T23:59:59.999Z, as Enrich bounds it

SNOWPLOW = SNOWPLOW_VENDOR  # the vendor of the schemas below, short for the table
CONTEXTS_URIS = (CONTEXTS_SCHEMA, CONTEXTS_1_0_1_SCHEMA)

EVENT_TYPES: dict[str, tuple[str, tuple[str, str, str, str] | None]] = {
    "pv": ("page_view", (SNOWPLOW, "page_view", "jsonschema", "1-0-0")),
    "pp": ("page_ping", (SNOWPLOW, "page_ping", "jsonschema", "1-0-0")),
    "se": ("struct", ("com.google.analytics", "event", "jsonschema", "1-0-0")),
    "ev": ("struct", ("com.google.analytics", "event", "jsonschema", "1-0-0")),
    "ue": ("unstruct", None),
    "tr": ("transaction", (SNOWPLOW, "transaction", "jsonschema", "1-0-0")),
    "ti": ("transaction_item", (SNOWPLOW, "transaction_item", "jsonschema", "1-0-0")),
}


def _string(value: str) -> str:
    return value


def _integer(value: str) -> int:
    if not INT_RE.fullmatch(value):
        raise ValueError("is not an integer")
    if not INT32[0] <= int(value) <= INT32[1]:
        raise ValueError(f"is out of range (an integer from {INT32[0]} to {INT32[1]})")
    return int(value)


def _decimal(value: str) -> float | None:
    if value == "null":
        return None
    if not DECIMAL_RE.fullmatch(value) or not math.isfinite(float(value)):
        raise ValueError("is not a number")
    return float(value)


def _timestamp(value: str) -> int:
    if not INT_RE.fullmatch(value) or not 0 <= int(value) <= MAX_TIMESTAMP:
        raise ValueError("is not a timestamp in milliseconds since the epoch")
    return int(value)


def _uuid(value: str) -> str:
    if not UUID.fullmatch(value):
        raise ValueError("is not a valid UUID")
    return value.lower()


def _boolean(value: str) -> bool:
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError('is not a boolean ("1" or "0")')


def _platform(value: str) -> str:
    if value not in PLATFORMS:
        raise ValueError(f"is not a valid platform (one of {', '.join(sorted(PLATFORMS))})")
    return value


# parameter -> (canonical field, parser); parameters handled elsewhere (e, url, refr, res, vp, ds, ue_*, co, cx,
# ip, ua, nuid, tnuid) are not listed.
SIMPLE_PARAMS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "aid": ("app_id", _string), "p": ("platform", _platform), "tv": ("v_tracker", _string),
    "tna": ("name_tracker", _string), "tz": ("os_timezone", _string), "lang": ("br_lang", _string),
    "cs": ("doc_charset", _string), "cd": ("br_colordepth", _string), "uid": ("user_id", _string),
    "duid": ("domain_userid", _string), "sid": ("domain_sessionid", _uuid), "vid": ("domain_sessionidx", _integer),
    "dtm": ("dvce_created_tstamp", _timestamp), "stm": ("dvce_sent_tstamp", _timestamp),
    "ttm": ("true_tstamp", _timestamp), "page": ("page_title", _string), "tid": ("txn_id", _integer),
    "fp": ("user_fingerprint", _string), "cv": ("v_collector", _string), "cookie": ("br_cookies", _boolean),
    "f_pdf": ("br_features_pdf", _boolean), "f_fla": ("br_features_flash", _boolean),
    "f_java": ("br_features_java", _boolean), "f_dir": ("br_features_director", _boolean),
    "f_qt": ("br_features_quicktime", _boolean), "f_realp": ("br_features_realplayer", _boolean),
    "f_wma": ("br_features_windowsmedia", _boolean), "f_gears": ("br_features_gears", _boolean),
    "f_ag": ("br_features_silverlight", _boolean),
    "se_ca": ("se_category", _string), "se_ac": ("se_action", _string), "se_la": ("se_label", _string),
    "se_pr": ("se_property", _string), "se_va": ("se_value", _decimal),
    "ev_ca": ("se_category", _string), "ev_ac": ("se_action", _string), "ev_la": ("se_label", _string),
    "ev_pr": ("se_property", _string), "ev_va": ("se_value", _decimal),
    "pp_mix": ("pp_xoffset_min", _integer), "pp_max": ("pp_xoffset_max", _integer),
    "pp_miy": ("pp_yoffset_min", _integer), "pp_may": ("pp_yoffset_max", _integer),
    "tr_id": ("tr_orderid", _string), "tr_af": ("tr_affiliation", _string), "tr_tt": ("tr_total", _decimal),
    "tr_tx": ("tr_tax", _decimal), "tr_sh": ("tr_shipping", _decimal), "tr_ci": ("tr_city", _string),
    "tr_st": ("tr_state", _string), "tr_co": ("tr_country", _string), "tr_cu": ("tr_currency", _string),
    "ti_id": ("ti_orderid", _string), "ti_sk": ("ti_sku", _string), "ti_nm": ("ti_name", _string),
    "ti_na": ("ti_name", _string), "ti_ca": ("ti_category", _string), "ti_pr": ("ti_price", _decimal),
    "ti_qu": ("ti_quantity", _integer), "ti_cu": ("ti_currency", _string),
}
DIMENSION_PARAMS = {"res": ("dvce_screenwidth", "dvce_screenheight"), "vp": ("br_viewwidth", "br_viewheight"),
                    "ds": ("doc_width", "doc_height")}
# The parameter a field came from, so that a too-long field is reported under the name the tracker sent.
FIELD_PARAMS = {field: param for param, (field, _) in SIMPLE_PARAMS.items() if not param.startswith(("ev_", "ti_na"))}
FIELD_PARAMS.update({"page_url": "url", "page_referrer": "refr", "useragent": "ua", "user_ipaddress": "ip",
                     "network_userid": "tnuid", "event_id": "eid"})


class EventBuilder:
    """Collects the canonical fields, entities and problems of one event while it is decoded."""

    def __init__(self, raw: RawPayload, params: dict[str, str], checker: SchemaChecker, now: int):
        self.raw, self.params, self.checker, self.now = raw, params, checker, now
        self.fields: dict[str, Any] = {}
        self.entities: list[Entity] = []
        self.atomic_reports: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # schema_violations messages other than the atomic ones
        self.enrichment_messages: list[dict[str, Any]] = []  # enrichment_failures messages
        self.problems: list[Problem] = []

    def atomic_error(self, param: str, field: str, value: str, what: str, keyword: str) -> None:
        """Record an atomic field that did not parse or is too long."""
        self.atomic_reports.append(failures.atomic_report(param, f"{field} {what}", keyword))
        shown = value if len(value) <= 60 else value[:57] + "..."
        self.problems.append(Problem(param, f'{field} "{shown}" {what} (parameter {param})', keyword=keyword))

    def not_json(self, param: str, value: str, error: str) -> None:
        """Record a parameter that should hold JSON (or base64 JSON) and does not."""
        # Snowplow's NotJSON message: {field, value, error} (badrows schema_violations 2-0-1).
        self.messages.append({"field": param, "value": value, "error": f"{param} {error}"})
        self.problems.append(Problem(param, f"{param} {error}", keyword="NotJson"))

    def not_iglu(self, param: str, value: Any, error: str, code: str = "INVALID_DATA_PAYLOAD") -> None:
        """Record JSON that is not the self-describing shape it has to be."""
        # Snowplow's NotIGLU message: {json, error} with error one of iglu-core's ParseError codes.
        self.messages.append({"json": value, "error": code})
        self.problems.append(Problem(param, f"{param} {error}", keyword="NotIglu"))

    def build(self) -> Event:
        """Decode every parameter and return the event."""
        p = self.params
        self.map_event_type(p.get("e"))
        event_id = p.get("eid")
        if event_id is None:
            self.fields["event_id"] = str(uuid.uuid4())
        else:
            self.parse("eid", "event_id", _uuid)
        for param, (field, parser) in SIMPLE_PARAMS.items():
            if param in p and param != "eid":
                self.parse(param, field, parser)
        for param, (width, height) in DIMENSION_PARAMS.items():
            if param in p:
                match = DIMENSIONS_RE.fullmatch(p[param])
                if match and max(int(match[1]), int(match[2])) <= INT32[1]:
                    self.fields[width], self.fields[height] = int(match[1]), int(match[2])
                else:
                    self.atomic_error(param, width.rsplit("width", 1)[0] + "size", p[param],
                                      "is not a size like 1920x1080", "atomic_field_parse_error")
        self.map_request_fields()
        self.map_urls()
        self.map_self_describing()
        self.map_timestamps()
        self.check_lengths()
        return self.finish()

    def parse(self, param: str, field: str, parser: Callable[[str], Any]) -> None:
        """Parse one parameter into its field, recording a parse error under the parameter's name."""
        try:
            self.fields[field] = parser(self.params[param])
        except ValueError as exc:
            self.atomic_error(param, field, self.params[param], str(exc), "atomic_field_parse_error")

    def map_event_type(self, code: str | None) -> None:
        """Set `event` and the event_vendor/name/format/version of the event type."""
        if code == "ad":
            self.enrichment_messages.append({"enrichment": None, "message": {
                "field": "e", "value": "ad", "expectation": "ad impressions (e=ad) are not supported"}})
            self.problems.append(Problem("e", 'e "ad" (legacy ad impression) is not supported by Snowplow\'s '
                                              "pipeline; send a self-describing ad_impression event instead"))
            self.fields["event"] = "ad_impression"
            return
        if code not in EVENT_TYPES:
            shown = "missing" if code is None else f'"{code}"'
            report = failures.atomic_report("e", "Not a valid event type", "atomic_field_parse_error")
            self.atomic_reports.append(report)
            self.problems.append(Problem("e", f"event type e is {shown}: not a valid event type "
                                              "(pv, pp, se, ue, tr, ti)", keyword="atomic_field_parse_error"))
            return
        name, schema = EVENT_TYPES[code]
        self.fields["event"] = name
        if schema:
            for key, value in zip(("event_vendor", "event_name", "event_format", "event_version"), schema):
                self.fields[key] = value

    def map_request_fields(self) -> None:
        """Set the fields that come from the request, letting tracker parameters override them."""
        raw, p, f = self.raw, self.params, self.fields
        f["collector_tstamp"] = raw.timestamp
        f["etl_tstamp"] = self.now
        f["v_collector"] = p.get("cv") or COLLECTOR_NAME
        f["v_etl"] = COLLECTOR_NAME
        f["user_ipaddress"] = p.get("ip") or raw.ip
        f["useragent"] = p.get("ua") or raw.useragent
        # A tracker-set tnuid overrides everything; an nuid parameter overrides the collector's id, except on an
        # SP-Anonymous request, whose id stays the anonymous zeros.
        nuid = None if raw.network_userid == ANONYMOUS_NUID else p.get("nuid")
        f["network_userid"] = p.get("tnuid") or nuid or raw.network_userid

    def map_urls(self) -> None:
        """Set page and referrer URLs and their parts; the page URL falls back to the Referer header."""
        page_url = self.params.get("url") or self.raw.referer
        for prefix, url in (("page", page_url), ("refr", self.params.get("refr"))):
            if not url:
                continue
            self.fields["page_url" if prefix == "page" else "page_referrer"] = url
            try:
                parts = urlsplit(url)
                port = parts.port
            except ValueError:
                continue  # kept as given; the parts of a URL that does not parse stay empty, as in Enrich
            if not parts.scheme or not parts.hostname:
                continue
            self.fields[f"{prefix}_urlscheme"] = parts.scheme
            self.fields[f"{prefix}_urlhost"] = parts.hostname
            self.fields[f"{prefix}_urlport"] = port if port is not None else (443 if parts.scheme == "https" else 80)
            self.fields[f"{prefix}_urlpath"] = parts.path or None
            self.fields[f"{prefix}_urlquery"] = parts.query or None
            self.fields[f"{prefix}_urlfragment"] = parts.fragment or None

    def decode_json_param(self, plain: str, encoded: str) -> tuple[str, Any] | None:
        """Return (param, JSON) from the plain or base64 form of a parameter, recording why it fails."""
        p = self.params
        if encoded in p:
            param, text = encoded, p[encoded]
            try:
                padded = text.replace("-", "+").replace("_", "/")
                text = base64.b64decode(padded + "=" * (-len(padded) % 4), validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                self.not_json(param, p[encoded], "is not valid base64 (URL-safe, padding optional)")
                return None
        elif plain in p:
            param, text = plain, p[plain]
        else:
            return None
        try:
            return param, loads_strict(text)
        except json.JSONDecodeError as exc:
            what = "is empty: an empty value is not JSON" if not text else f"is not JSON: {exc.msg}"
            self.not_json(param, text, what)
            return None
        except ValueError as exc:
            self.not_json(param, text, f"is not JSON: {exc}")
            return None

    def self_describing(self, param: str, value: Any, expected: tuple[str, ...] | None = None) -> bool:
        """Check that a value is {schema: <iglu uri>, data: ...}, and optionally which schema it names.

        Entities and the inner event may hold nothing else (the contexts and unstruct_event schemas say
        additionalProperties: false); the outer wrappers are read leniently, as Snowplow reads them.
        """
        if not isinstance(value, dict) or "schema" not in value or "data" not in value:
            self.not_iglu(param, value, "is not self-describing JSON: it needs exactly a schema and a data key")
            return False
        if expected is None and set(value) != {"schema", "data"}:
            extra = ", ".join(sorted(set(value) - {"schema", "data"}))
            self.not_iglu(param, value, f"is not self-describing JSON: it has {extra} besides schema and data")
            return False
        if not isinstance(value["schema"], str) or not IGLU_URI.fullmatch(value["schema"]):
            self.not_iglu(param, value, f"has schema {describe_short(value['schema'])}, which is not an iglu URI "
                                        "like iglu:com.acme/event/jsonschema/1-0-0", "INVALID_IGLUURI")
            return False
        if expected and value["schema"] not in expected:
            self.messages.append({"schemaKey": value["schema"],
                                  "schemaCriterion": expected[0].rsplit("-", 2)[0] + "-*-*"})
            self.problems.append(Problem(param, f"{param} must be wrapped in {' or '.join(expected)}, "
                                                f"got {value['schema']}", keyword="CriterionMismatch"))
            return False
        return True

    def map_self_describing(self) -> None:
        """Decode contexts and the self-describing event, and check each one against its schema."""
        contexts = self.decode_json_param("co", "cx")
        if contexts and self.self_describing(contexts[0], contexts[1], CONTEXTS_URIS):
            param, wrapper = contexts
            items = wrapper["data"]
            if not isinstance(items, list) or (wrapper["schema"] == CONTEXTS_URIS[0] and not items):
                self.not_iglu(param, wrapper, "must hold a non-empty array of entities in data")
            else:
                entities = []
                for index, item in enumerate(items):
                    if self.self_describing(f"{param}[{index}]", item):
                        entities.append(item)
                        self.entities.append(Entity("context", index, item["schema"], item["data"]))
                self.fields["contexts"] = entities
        if self.fields.get("event") == "unstruct":
            event = self.decode_json_param("ue_pr", "ue_px")
            if event is None and "ue_pr" not in self.params and "ue_px" not in self.params:
                self.messages.append({"field": "ue_pr", "value": None,
                                      "error": "a self-describing event needs ue_pr or ue_px"})
                self.problems.append(Problem("ue_pr", "a self-describing event (e=ue) needs ue_pr or ue_px"))
            if event and self.self_describing(event[0], event[1], (UNSTRUCT_SCHEMA,)):
                inner = event[1]["data"]
                if self.self_describing(f"{event[0]}.data", inner):
                    self.fields["unstruct_event"] = inner
                    self.entities.insert(0, Entity("unstruct", 0, inner["schema"], inner["data"]))
                    vendor, name, fmt, version = IGLU_URI.fullmatch(inner["schema"]).groups()
                    self.fields.update(event_vendor=vendor, event_name=name, event_format=fmt,
                                       event_version=version)
        for entity in self.entities:
            self.check_entity(entity)

    def check_entity(self, entity: Entity) -> None:
        """Validate one entity against its schema and record the verdict."""
        verdict = self.checker.check(entity.schema, entity.data)
        entity.status = verdict.status
        entity.note = verdict.note
        if verdict.status != "invalid":
            return
        self.messages.append({"schemaKey": entity.schema, "error": verdict.error})
        where = "the self-describing event" if entity.kind == "unstruct" else f"context {entity.position}"
        for problem in verdict.problems:
            problem.schema = problem.schema or entity.schema
            problem.message = f"{problem.message} ({where})"
            self.problems.append(problem)
        if not verdict.problems:
            self.problems.append(Problem("$", f"{entity.schema} is invalid ({where})", schema=entity.schema))

    def map_timestamps(self) -> None:
        """Set derived_tstamp as Enrich does: true time, else collector time corrected for device clock skew."""
        f = self.fields
        created, sent = f.get("dvce_created_tstamp"), f.get("dvce_sent_tstamp")
        if f.get("true_tstamp") is not None:
            f["derived_tstamp"] = f["true_tstamp"]
        elif created is not None and sent is not None and created < sent:
            # A device clock wildly off (dtm=0, stm in year 9999) must not push it before the epoch.
            f["derived_tstamp"] = max(0, f["collector_tstamp"] - (sent - created))
        else:
            f["derived_tstamp"] = f["collector_tstamp"]

    def check_lengths(self) -> None:
        """Report every string field longer than the atomic schema allows."""
        for field, value in list(self.fields.items()):  # the few fields an event has, not every limit
            limit = MAX_LENGTHS.get(field)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                param = FIELD_PARAMS.get(field, field)
                self.atomic_error(param, field, value, f"is too long ({len(value)} characters, at most {limit})",
                                  "atomic_field_length_exceeded")

    def finish(self) -> Event:
        """Return the event with its failure, if anything was wrong."""
        event = Event(self.fields, self.params, self.raw.vendor or "", self.raw.version or "", self.entities)
        messages = list(self.messages)
        if self.atomic_reports:
            messages.insert(0, {"schemaKey": failures.ATOMIC_SCHEMA,
                                "error": {"error": "ValidationError", "dataReports": self.atomic_reports}})
        if messages:
            event.failures.append(
                failures.schema_violation(self.raw, self.params, self.fields, messages, self.problems))
        elif self.enrichment_messages:
            event.failures.append(failures.schema_violation(self.raw, self.params, self.fields,
                                                            self.enrichment_messages, self.problems,
                                                            "enrichment_failures"))
        return event


def describe_short(value: Any) -> str:
    """Render a value for a sentence, cut when long."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def enrich(raw: RawPayload, params: dict[str, str], checker: SchemaChecker, now: int) -> Event:
    """Decode one event's parameters into the canonical event."""
    return EventBuilder(raw, params, checker, now).build()
