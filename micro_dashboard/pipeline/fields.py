"""The 131 canonical event fields, and their JSON and TSV forms."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from ..snowplow import CONTEXTS_1_0_1_SCHEMA, CONTEXTS_SCHEMA, UNSTRUCT_SCHEMA

FIELDS: tuple[str, ...] = tuple(
    """
app_id platform etl_tstamp collector_tstamp dvce_created_tstamp event event_id txn_id name_tracker v_tracker
v_collector v_etl user_id user_ipaddress user_fingerprint domain_userid domain_sessionidx network_userid
geo_country geo_region geo_city geo_zipcode geo_latitude geo_longitude geo_region_name ip_isp ip_organization
ip_domain ip_netspeed page_url page_title page_referrer page_urlscheme page_urlhost page_urlport page_urlpath
page_urlquery page_urlfragment refr_urlscheme refr_urlhost refr_urlport refr_urlpath refr_urlquery
refr_urlfragment refr_medium refr_source refr_term mkt_medium mkt_source mkt_term mkt_content mkt_campaign
contexts se_category se_action se_label se_property se_value unstruct_event tr_orderid tr_affiliation tr_total
tr_tax tr_shipping tr_city tr_state tr_country ti_orderid ti_sku ti_name ti_category ti_price ti_quantity
pp_xoffset_min pp_xoffset_max pp_yoffset_min pp_yoffset_max useragent br_name br_family br_version br_type
br_renderengine br_lang br_features_pdf br_features_flash br_features_java br_features_director
br_features_quicktime br_features_realplayer br_features_windowsmedia br_features_gears br_features_silverlight
br_cookies br_colordepth br_viewwidth br_viewheight os_name os_family os_manufacturer os_timezone dvce_type
dvce_ismobile dvce_screenwidth dvce_screenheight doc_charset doc_width doc_height tr_currency tr_total_base
tr_tax_base tr_shipping_base ti_currency ti_price_base base_currency geo_timezone mkt_clickid mkt_network etl_tags
dvce_sent_tstamp refr_domain_userid refr_dvce_tstamp derived_contexts domain_sessionid derived_tstamp event_vendor
event_name event_format event_version event_fingerprint true_tstamp
""".split()
)
assert len(FIELDS) == 131

TIMESTAMPS = frozenset(
    """etl_tstamp collector_tstamp dvce_created_tstamp dvce_sent_tstamp refr_dvce_tstamp derived_tstamp
    true_tstamp""".split()
)
BOOLEANS = frozenset(
    [f for f in FIELDS if f.startswith("br_features_")] + ["br_cookies", "dvce_ismobile"]
)

# Maximum lengths of string fields, from the atomic schema (snowplow.ATOMIC_SCHEMA), except
# page_url, which Enrich allows up to 10000 characters.
MAX_LENGTHS: dict[str, int] = {
    "app_id": 255, "platform": 255, "event": 128, "event_id": 36, "name_tracker": 128, "v_tracker": 100,
    "v_collector": 100, "v_etl": 100, "user_id": 255, "user_ipaddress": 128, "user_fingerprint": 128,
    "domain_userid": 128, "network_userid": 128, "page_url": 10000, "page_title": 2000, "page_referrer": 4096,
    "page_urlscheme": 16, "page_urlhost": 255, "page_urlpath": 3000, "page_urlquery": 6000,
    "page_urlfragment": 3000, "refr_urlscheme": 16, "refr_urlhost": 255, "refr_urlpath": 6000,
    "refr_urlquery": 6000, "refr_urlfragment": 3000, "se_category": 1000, "se_action": 1000, "se_label": 4096,
    "se_property": 1000, "tr_orderid": 255, "tr_affiliation": 255, "tr_city": 255, "tr_state": 255,
    "tr_country": 255, "ti_orderid": 255, "ti_sku": 255, "ti_name": 255, "ti_category": 255, "useragent": 1000,
    "br_lang": 255, "br_colordepth": 12, "os_timezone": 255, "doc_charset": 128, "tr_currency": 3,
    "ti_currency": 3, "refr_domain_userid": 128, "domain_sessionid": 128, "event_vendor": 1000,
    "event_name": 1000, "event_format": 128, "event_version": 128,
}


def iso_timestamp(ms: int | None) -> str | None:
    """Format epoch milliseconds as ISO-8601 UTC, with milliseconds only when non-zero."""
    if ms is None:
        return None
    base = _iso_second(ms // 1000)
    return f"{base}.{ms % 1000:03d}Z" if ms % 1000 else f"{base}Z"


@lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    # An event's timestamps fall within a few seconds of each other and of other events': strftime once a second.
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def tsv_timestamp(ms: int | None) -> str:
    """Format epoch milliseconds as the enriched TSV's `yyyy-MM-dd HH:mm:ss.SSS`."""
    if ms is None:
        return ""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return f"{dt.strftime('%Y-%m-%d %H:%M:%S')}.{ms % 1000:03d}"


def parse_iso_timestamp(text: str) -> int:
    """Parse an ISO-8601 UTC timestamp back into epoch milliseconds."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(round(dt.timestamp() * 1000))


def contexts_wrapper(entities: list[dict[str, Any]], schema: str = CONTEXTS_SCHEMA) -> dict[str, Any]:
    """Wrap self-describing entities as a contexts JSON, or `{}` when there are none."""
    return {"schema": schema, "data": entities} if entities else {}


def to_json_form(fields: dict[str, Any]) -> dict[str, Any]:
    """Return the event as Snowplow's JSON form: all 131 keys, absent ones null, timestamps ISO."""
    return expand_json_form(to_compact_json_form(fields))


def to_compact_json_form(fields: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON form without its null and empty fields: what the store keeps (a quarter of the size)."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = fields.get(name)
        if value is None or value == []:
            continue
        if name in TIMESTAMPS:
            value = iso_timestamp(value)
        elif name in ("contexts", "derived_contexts"):
            value = contexts_wrapper(value)
        elif name == "unstruct_event":
            value = {"schema": UNSTRUCT_SCHEMA, "data": value}
        out[name] = value
    return out


def expand_json_form(compact: dict[str, Any]) -> dict[str, Any]:
    """Return the full JSON form (all 131 keys in order) of a compact one."""
    return {name: compact.get(name, {} if name in ("contexts", "derived_contexts") else None) for name in FIELDS}


def _tsv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in TIMESTAMPS:
        return tsv_timestamp(parse_iso_timestamp(value)) if isinstance(value, str) else tsv_timestamp(value)
    if name in ("contexts", "derived_contexts"):
        if not value:
            return ""
        data = value["data"] if isinstance(value, dict) else value
        return json.dumps({"schema": CONTEXTS_1_0_1_SCHEMA, "data": data}, separators=(",", ":"))
    if name == "unstruct_event":
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    text = str(value)
    # A tab or newline inside a value would break the line format; Enrich replaces them with spaces too.
    return re.sub(r"[\t\n\r]", " ", text)


def to_tsv_line(event_json: dict[str, Any]) -> str:
    """Return one enriched TSV line (131 tab-separated columns) from an event's JSON form."""
    return "\t".join(_tsv_cell(name, event_json.get(name)) for name in FIELDS)


_CAMEL = re.compile(r"([^A-Z_])([A-Z])")


def flat_key(prefix: str, schema: str) -> str:
    """Return the flattened-JSON key of a schema: `contexts_com_acme_my_thing_1`."""
    vendor, name, _format, version = schema[len("iglu:"):].split("/")
    vendor = re.sub(r"[.\-]", "_", vendor).lower()
    name = _CAMEL.sub(r"\1_\2", re.sub(r"[.\-]", "_", name)).lower()
    return f"{prefix}_{vendor}_{name}_{version.split('-')[0]}"


def to_flat_form(event_json: dict[str, Any]) -> dict[str, Any]:
    """Return the flattened JSON form (Micro 4.x, Analytics SDK `toJson(lossy)`)."""
    out = {k: v for k, v in event_json.items() if k not in ("contexts", "derived_contexts", "unstruct_event")}
    ue = event_json.get("unstruct_event")
    if ue and isinstance(ue.get("data"), dict) and "schema" in ue["data"]:
        out[flat_key("unstruct_event", ue["data"]["schema"])] = ue["data"].get("data")
    for column in ("contexts", "derived_contexts"):
        for entity in (event_json.get(column) or {}).get("data", []):
            item = entity.get("data")
            item = dict(item) if isinstance(item, dict) else {"value": item}
            item["_schema_version"] = entity["schema"]
            out.setdefault(flat_key("contexts", entity["schema"]), []).append(item)
    if event_json.get("geo_latitude") is not None and event_json.get("geo_longitude") is not None:
        out["geo_location"] = f"{event_json['geo_latitude']},{event_json['geo_longitude']}"
    return out
