"""Snowplow's and Iglu's fixed names, defined once: vendors, the schema URIs we read and write, and the URI and UUID
patterns. It imports nothing from this package, so every part (the tracking client included) may import it.

Patterns are used with fullmatch and ASCII digits only: `$` would let a trailing newline through, and `\\d` would
accept other scripts' digits, which Snowplow rejects.
"""

from __future__ import annotations

import re

SNOWPLOW_VENDOR = "com.snowplowanalytics.snowplow"
IGLU_VENDOR = "com.snowplowanalytics.iglu"  # the Iglu webhook's vendor in collector paths

# An Iglu URI, `iglu:vendor/name/format/model-revision-addition`: the exact pattern Snowplow's pipeline accepts
# (protocol.md section 7); the groups are the four parts.
IGLU_URI = re.compile(
    r"iglu:([a-zA-Z0-9-_.]+)/([a-zA-Z0-9-_]+)/([a-zA-Z0-9-_]+)/([1-9][0-9]*(?:-(?:0|[1-9][0-9]*)){2})"
)
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# The tp2 POST body's schema: any 1-0-x is accepted; 1-0-4 is the one we send.
PAYLOAD_DATA = re.compile(r"iglu:com\.snowplowanalytics\.snowplow/payload_data/jsonschema/1-0-[0-9]+")
PAYLOAD_DATA_SCHEMA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
# The wrappers of the contexts (co/cx) and of the self-describing event (ue_pr/ue_px).
CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"
# Contexts 1-0-1: accepted as well, and the wrapper the enriched TSV writes.
CONTEXTS_1_0_1_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
# The canonical event's own schema, named by bad rows about its fields.
ATOMIC_SCHEMA = "iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0"
# The vendor prefix of every bad row's schema, and the failure entity Micro 4 attaches to failed events.
BADROWS = "iglu:com.snowplowanalytics.snowplow.badrows"
FAILURE_SCHEMA = "iglu:com.snowplowanalytics.snowplow/failure/jsonschema/1-0-0"
LINK_CLICK_SCHEMA = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
