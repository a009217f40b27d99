"""The events table's column vocabulary, defined once: promoted, filterable, and what a summary carries."""

from __future__ import annotations

# Canonical fields copied out of each event into a column of their own, so that filters on them are cheap.
PROMOTED = ("app_id", "platform", "event", "event_name", "event_vendor", "name_tracker", "user_id",
            "domain_userid", "network_userid", "se_category", "se_action", "se_label")
# Every events column a filter can name directly (the rest of the canonical event is read from its JSON).
FILTERABLE = (*PROMOTED, "event_id", "collector_tstamp", "schema")
# The promoted columns a summary carries, in its field order.
SUMMARY_PROMOTED = ("app_id", "platform", "event", "event_name", "event_vendor", "name_tracker", "user_id",
                    "se_category", "se_action", "se_label")
