"""micro-dashboard: a local Snowplow collector, validator, live UI and test API in one process."""

__version__ = "0.1.0"
