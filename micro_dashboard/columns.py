"""The events table's column vocabulary, defined once: promoted, filterable, and what a summary carries."""

from __future__ import annotations

# Canonical fields copied out of each event into a column of their own, so that filters on them are cheap.
# Adding a name here is the whole change: opening a database adds the column, fills it and indexes it.
PROMOTED = ("app_id", "platform", "event", "event_name", "event_vendor", "name_tracker", "user_id",
            "domain_userid", "network_userid", "se_category", "se_action", "se_label", "se_property")
# Every events column a filter can name directly (the rest of the canonical event is read from its JSON).
FILTERABLE = (*PROMOTED, "event_id", "collector_tstamp", "schema")
# The promoted columns a summary carries, in its field order.
SUMMARY_PROMOTED = ("app_id", "platform", "event", "event_name", "event_vendor", "name_tracker", "user_id",
                    "se_category", "se_action", "se_label", "se_property")
# What a summary (a list row, a websocket event, a waiter's match) carries, in order.
SUMMARY = ("id", "event_id", "valid", "unverified", "collector_tstamp", "schema", *SUMMARY_PROMOTED, "se_value",
           "gitlab", "problems")
# The gitlab_standard fields a summary carries under `gitlab`.
GITLAB_SUMMARY = ("user_id", "project_id", "namespace_id", "plan")
