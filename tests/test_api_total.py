"""/api/events counts its total only up to a cap unless asked for the exact one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from micro_dashboard.api import events as events_api


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """Return a test client of a dashboard holding five page views (app a: 2, app b: 3), the cap lowered to 3."""
    from micro_dashboard.app import create_app

    monkeypatch.setattr(events_api, "TOTAL_CAP", 3)
    app = create_app({"db": str(tmp_path / "events.db"), "iglu_defaults": False})
    try:
        client = app.test_client()
        for aid in ("a", "a", "b", "b", "b"):
            assert client.get(f"/i?e=pv&p=web&tv=t&aid={aid}").status_code == 200
        yield client
    finally:
        app.config["STORE"].close()


def page(client: FlaskClient, query: str) -> dict:
    """Return the JSON answer of /api/events for a query string."""
    response = client.get(f"/api/events?{query}")
    assert response.status_code == 200, response.text
    return response.get_json()


def test_beyond_the_cap_the_total_is_a_lower_bound(client: FlaskClient) -> None:
    answer = page(client, "limit=1")
    assert (answer["total"], answer["total_exact"], len(answer["events"])) == (3, False, 1)


def test_at_or_under_the_cap_the_total_is_exact(client: FlaskClient) -> None:
    assert [(p["total"], p["total_exact"]) for p in (page(client, "app_id=b"), page(client, "app_id=a"))] == [
        (3, True), (2, True)]


def test_asked_for_it_the_total_is_exact_whatever_its_size(client: FlaskClient) -> None:
    answer = page(client, "total=exact&limit=1")
    assert (answer["total"], answer["total_exact"]) == (5, True)


def test_another_total_value_is_a_400_naming_it(client: FlaskClient) -> None:
    response = client.get("/api/events?total=all")
    assert response.status_code == 400 and "total" in response.get_json()["error"]
