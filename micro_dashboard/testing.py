"""Test helpers for suites that assert on received events: a client, assertions and a pytest plugin."""
