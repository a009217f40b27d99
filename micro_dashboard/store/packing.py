"""How the columns read only on demand are stored: deflated with a fixed dictionary of Snowplow's vocabulary.

A packed value is one format byte, then the bytes: FORMAT_DEFLATE (raw deflate with DICTIONARY_1),
FORMAT_DEFLATE_EVENT (with DICTIONARY_EVENT, for an event's JSON) or FORMAT_PLAIN (stored as is, when deflating
would not make it smaller). A dictionary is part of the file format: never edit one; a better one gets a new format
byte, and unpacking keeps reading the old ones.

Packed: a request's query string, body and headers (with its user agent and referer, which repeat two headers),
an event's JSON (from schema step 7 on; rows written before it stay text) and parameters, a failure's bad row.
SQL reads them through the `unpack()` function (`register`), which every store connection has; Python reads them
through the functions below (store/models.py builds the rows).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Any

FORMAT_PLAIN = 0
FORMAT_DEFLATE = 1
FORMAT_DEFLATE_EVENT = 2
# Measured on the seeded mix: level 6 packs 3-8% smaller than level 1 for about the same time on values this short.
# 0 stores every value plain.
LEVEL = 6

# Snowplow's vocabulary, from the tracker protocol, the Iglu wrappers and common request headers: what short
# records share, so that deflate can refer back to it from the first byte. Deflate refers back 32 KiB at most and
# a nearer match is cheaper, so the most frequent strings come last.
DICTIONARY_1 = "".join([
    '"Accept-Encoding","gzip, deflate, br"],["Accept-Language","en-US,en;q=0.9"],["Connection","keep-alive"],',
    '["Sec-Fetch-Site","cross-site"],["Sec-Fetch-Mode","cors"],["Sec-Fetch-Dest","empty"],["Cookie","sp=',
    '["Content-Type","application/json; charset=UTF-8"],["Content-Length","',
    '["Content-Type","application/x-www-form-urlencoded"],["X-Forwarded-For","',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) ',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/ Safari/537.36 Firefox/',
    'python-requests/ snowplow-python-tracker/ ',
    '[["Host","127.0.0.1:9091"],["User-Agent","',
    '["Accept","*/*"],["Origin","https://"],["Referer","https://"]',
    '"schema":"iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-0","data":{"processor":',
    '{"artifact":"micro-dashboard","version":"0.1.0"},"failure":{"timestamp":"","messages":[{"schemaKey":"',
    '"error":{"error":"ValidationError","dataReports":[{"message":"","path":"$","keyword":"required","targets":["',
    '"payload":{"enriched":{"app_id":"","platform":"","event":"","event_id":"',
    '"payload_data/jsonschema/1-0-4","data":[{',
    'e=pp&pp_mix=&pp_max=&pp_miy=&pp_may=&e=ue&ue_pr=&ue_px=&e=se&se_ca=&se_ac=&se_la=&se_pr=&se_va=',
    '&url=https%3A%2F%2F&page=&refr=https%3A%2F%2F&tv=js-4.&tna=sp&aid=&p=web&cookie=1&cs=UTF-8&lang=en-US',
    '&res=1920x1080&cd=24&tz=Europe%2F&vp=&ds=&vid=&sid=&duid=&uid=&dtm=17&stm=17&eid=&nuid=&cx=eyJzY2hlbWEiOiJpZ2x1',
    'OmNvbS5zbm93cGxvd2FuYWx5dGljcy5zbm93cGxvdy9jb250ZXh0cy9qc29uc2NoZW1hLzEtMC0wIiwiZGF0YSI6W3sic2NoZW1hIjoiaWdsdT',
    '&co=%7B%22schema%22%3A+%22iglu%3Acom.snowplowanalytics.snowplow%2Fcontexts%2Fjsonschema%2F1-0-0%22%2C+%22',
    'data%22%3A+%5B%7B%22schema%22%3A+%22iglu%3Acom.snowplowanalytics.snowplow%2Fweb_page%2Fjsonschema%2F1-0-0',
    '%22%2C+%22data%22%3A+%7B%22id%22%3A+%22',
    '{\\"schema\\":\\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\\",\\"data\\":',
    '{\\"schema\\": \\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\\", \\"data\\": [',
    '{\\"schema\\": \\"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0\\", \\"data\\": {\\"id\\": \\"',
    '{\\"schema\\":\\"iglu:com.gitlab/gitlab_standard/jsonschema/1-1-',
    '{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[',
    '{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":',
    '{"schema":"iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1","data":{"targetUrl":"https://',
    '{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"',
    '"se_ca":"","se_ac":"","se_la":"","se_pr":"","se_va":"","ue_pr":"","ue_px":"","cx":"eyJzY2hlbWEiOiJpZ2x1',
    '{"e":"pv","url":"https://","page":"","refr":"https://","tv":"js-4.","tna":"sp","aid":"","p":"web",',
    '"cookie":"1","cs":"UTF-8","lang":"en-US","res":"1920x1080","cd":"24","tz":"Europe/","dtm":"17","vp":"',
    '","ds":"","vid":"","sid":"","duid":"","uid":"","stm":"17","eid":"","co":"',
]).encode()
# DICTIONARY_1 then the canonical event's field names: an event's JSON (measured on the seeded mix: 1,425 bytes,
# 514 packed with DICTIONARY_1, 416 with this).
DICTIONARY_EVENT = DICTIONARY_1 + "".join([
    '"app_id":,"platform":,"etl_tstamp":,"collector_tstamp":,"dvce_created_tstamp":,"event":,"event_id":,',
    '"txn_id":,"name_tracker":,"v_tracker":,"v_collector":,"v_etl":,"user_id":,"user_ipaddress":,',
    '"user_fingerprint":,"domain_userid":,"domain_sessionidx":,"network_userid":,"geo_country":,',
    '"geo_region":,"geo_city":,"geo_zipcode":,"geo_latitude":,"geo_longitude":,"geo_region_name":,',
    '"ip_isp":,"ip_organization":,"ip_domain":,"ip_netspeed":,"page_url":,"page_title":,"page_referrer":,',
    '"page_urlscheme":,"page_urlhost":,"page_urlport":,"page_urlpath":,"page_urlquery":,',
    '"page_urlfragment":,"refr_urlscheme":,"refr_urlhost":,"refr_urlport":,"refr_urlpath":,',
    '"refr_urlquery":,"refr_urlfragment":,"refr_medium":,"refr_source":,"refr_term":,"mkt_medium":,',
    '"mkt_source":,"mkt_term":,"mkt_content":,"mkt_campaign":,"contexts":,"se_category":,"se_action":,',
    '"se_label":,"se_property":,"se_value":,"unstruct_event":,"tr_orderid":,"tr_affiliation":,',
    '"tr_total":,"tr_tax":,"tr_shipping":,"tr_city":,"tr_state":,"tr_country":,"ti_orderid":,"ti_sku":,',
    '"ti_name":,"ti_category":,"ti_price":,"ti_quantity":,"pp_xoffset_min":,"pp_xoffset_max":,',
    '"pp_yoffset_min":,"pp_yoffset_max":,"useragent":,"br_name":,"br_family":,"br_version":,"br_type":,',
    '"br_renderengine":,"br_lang":,"br_features_pdf":,"br_features_flash":,"br_features_java":,',
    '"br_features_director":,"br_features_quicktime":,"br_features_realplayer":,',
    '"br_features_windowsmedia":,"br_features_gears":,"br_features_silverlight":,"br_cookies":,',
    '"br_colordepth":,"br_viewwidth":,"br_viewheight":,"os_name":,"os_family":,"os_manufacturer":,',
    '"os_timezone":,"dvce_type":,"dvce_ismobile":,"dvce_screenwidth":,"dvce_screenheight":,',
    '"doc_charset":,"doc_width":,"doc_height":,"tr_currency":,"tr_total_base":,"tr_tax_base":,',
    '"tr_shipping_base":,"ti_currency":,"ti_price_base":,"base_currency":,"geo_timezone":,"mkt_clickid":,',
    '"mkt_network":,"etl_tags":,"dvce_sent_tstamp":,"refr_domain_userid":,"refr_dvce_tstamp":,',
    '"derived_contexts":,"domain_sessionid":,"derived_tstamp":,"event_vendor":,"event_name":,',
    '"event_format":,"event_version":,"event_fingerprint":,"true_tstamp":,',
]).encode()
DICTIONARIES = {FORMAT_DEFLATE: DICTIONARY_1, FORMAT_DEFLATE_EVENT: DICTIONARY_EVENT}


def pack(value: str | bytes | None, packed_format: int = FORMAT_DEFLATE) -> bytes | None:
    """Pack a text or bytes value (NULL stays NULL) with the dictionary of `packed_format`."""
    if value is None:
        return None
    data = value.encode() if isinstance(value, str) else value
    if LEVEL:
        # A 16 KiB window, not 32: the dictionaries fit in it and so do most values, and the buffers of a 32 KiB
        # one are large enough for malloc to map and unmap them on every call (measured: 98 -> 32 us an event's
        # JSON, the same size). Inflating with the 32 KiB window reads either. memLevel 8, not 9, likewise.
        deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -14, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARIES[packed_format])
        packed = deflate.compress(data) + deflate.flush()
        if len(packed) < len(data):
            return bytes([packed_format]) + packed
    return bytes([FORMAT_PLAIN]) + data


def unpack_bytes(value: bytes | str | None) -> bytes | None:
    """Return the bytes a packed value holds; a value stored before packing (text) is returned as it is."""
    if value is None or isinstance(value, str):
        return None if value is None else value.encode()
    if not value:
        raise ValueError("a packed value is never empty")
    if value[0] == FORMAT_PLAIN:
        return value[1:]
    dictionary = DICTIONARIES.get(value[0])
    if dictionary is not None:
        inflate = zlib.decompressobj(-15, dictionary)
        return inflate.decompress(value[1:]) + inflate.flush()
    raise ValueError(f"unknown packed format {value[0]}")


def unpack_text(value: bytes | str | None) -> str | None:
    """Return the text a packed value holds (text stored before packing is returned as it is)."""
    if value is None or isinstance(value, str):
        return value
    data = unpack_bytes(value)
    return None if data is None else data.decode()


def dumps(value: Any) -> str:
    """Serialise JSON compactly, as the store writes every JSON column."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pack_json(value: Any) -> bytes:
    """Pack a JSON value, serialised compactly."""
    return pack(dumps(value))  # type: ignore[return-value]


def unpack_json(value: bytes | str | None, default: Any = None) -> Any:
    """Return the JSON value a packed (or older plain-text) column holds, `default` when it is NULL or empty."""
    text = unpack_text(value)
    return json.loads(text) if text else default


def pack_headers(headers: list[tuple[str, str]], useragent: str | None, referer: str | None) -> bytes:
    """Pack a request's headers with its user agent and referer: one value, in which deflate stores the two
    headers they repeat only once."""
    return pack_json([headers, useragent, referer])


def unpack_headers(headers: bytes | str | None, useragent: str | None,
                   referer: str | None) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """Return (headers, user agent, referer) from a requests row, packed or written before packing."""
    if isinstance(headers, bytes):
        listed, useragent, referer = unpack_json(headers)
    else:
        listed = json.loads(headers) if headers else []
    return [tuple(h) for h in listed], useragent, referer  # type: ignore[misc]


def _sql_unpack(value: Any) -> Any:
    """The SQL function: a packed value's bytes as a BLOB (CAST it AS TEXT), anything else as it is."""
    return unpack_bytes(value) if isinstance(value, bytes) else value


def unpacked(column: str) -> str:
    """Return the SQL of a packed column's text, as it was before it was packed."""
    return f"CAST(unpack({column}) AS TEXT)"


def register(conn: sqlite3.Connection) -> None:
    """Give a connection the `unpack(column)` SQL function."""
    conn.create_function("unpack", 1, _sql_unpack, deterministic=True)
