"""Fixtures: an app on a temporary database, its test client, a live server, Chromium, local HTTP servers."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from dashboards import Dashboards, LiveServer, base_settings
from flask import Flask
from support import (
    GITLAB_DEFINITIONS_DATA,
    IGLU_CENTRAL_DATA,
    IGLU_GITLAB_DATA,
    TEST_DATA,
    QuietServer,
    TestData,
    free_port,
    require,
)

CHROMIUM = os.environ.get("MICRO_DASHBOARD_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Debian's Chromium from reaching for Google's services on a machine with no internet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


# A test that asks for one of these fixtures needs that external test data (tests/support.py says where it is
# looked for); a test that uses the data otherwise carries the marker itself, e.g. `pytest.mark.needs_iglu_central`.
DATA_FIXTURES: dict[str, TestData] = {
    "iglu_central": IGLU_CENTRAL_DATA, "central": IGLU_CENTRAL_DATA,
    "iglu_gitlab": IGLU_GITLAB_DATA, "gitlab": IGLU_GITLAB_DATA,
    "gitlab_definitions": GITLAB_DEFINITIONS_DATA, "shared_dir": GITLAB_DEFINITIONS_DATA,
}


def pytest_configure(config: pytest.Config) -> None:
    """Register one marker per folder of external test data."""
    for data in TEST_DATA:
        config.addinivalue_line("markers", f"{data.marker}: needs {data.what} ({data.folder}/ in the test data)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that ask for a data fixture with the marker of its data."""
    for item in items:
        for name in item.fixturenames:
            if name in DATA_FIXTURES:
                item.add_marker(DATA_FIXTURES[name].marker)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test whose external test data is missing (and nothing else)."""
    for data in TEST_DATA:
        if item.get_closest_marker(data.marker):
            require(data)


@pytest.fixture
def iglu_central() -> Path:
    """Return Iglu Central's static repository (test data)."""
    return IGLU_CENTRAL_DATA.path


@pytest.fixture
def iglu_gitlab() -> Path:
    """Return GitLab's static Iglu repository (test data)."""
    return IGLU_GITLAB_DATA.path


@pytest.fixture
def gitlab_definitions() -> Path:
    """Return the folder of GitLab's event and metric definitions (test data)."""
    return GITLAB_DEFINITIONS_DATA.path


@pytest.fixture
def shared_dir() -> Path:
    """Return the test-data folder that holds gitlab-definitions/ (shared/ beside the checkout in CI)."""
    return GITLAB_DEFINITIONS_DATA.path.parent


@pytest.fixture
def serve() -> Iterator[Callable[..., QuietServer]]:
    """Start local HTTP servers (a directory as a static Iglu repository, or a handler); stop them after the test."""
    servers: list[QuietServer] = []

    def start(directory: Path | None = None, handler: type[BaseHTTPRequestHandler] = SimpleHTTPRequestHandler,
              port: int = 0) -> QuietServer:
        servers.append(QuietServer(directory, handler, port))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def central(serve: Callable[..., QuietServer], iglu_central: Path) -> QuietServer:
    """Serve Iglu Central's static repository over HTTP."""
    return serve(iglu_central)


@pytest.fixture
def gitlab(serve: Callable[..., QuietServer], iglu_gitlab: Path) -> QuietServer:
    """Serve GitLab's static repository over HTTP."""
    return serve(iglu_gitlab)


@pytest.fixture
def refused_url() -> str:
    """Return the URL of a port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """Return the URL of a server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # the kernel completes connections into the backlog; nobody ever reads them
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def app_config(tmp_path: Path) -> dict:
    """Return the settings of a test app: a temporary database and no internet registries."""
    return base_settings(tmp_path)


@pytest.fixture
def dashboards(app_config: dict) -> Iterator[Dashboards]:
    """Return what makes the test's apps and servers (over app_config); stop and close them after the test."""
    with Dashboards(app_config) as made:
        yield made


@pytest.fixture
def make_app(dashboards: Dashboards) -> Callable[..., Flask]:
    """Return `make_app(**settings)`: an app with settings over app_config, on the test's database unless `db=`."""
    return dashboards.app


@pytest.fixture
def make_live_server(dashboards: Dashboards) -> Callable[..., LiveServer]:
    """Return `make_live_server(**settings)`: an app made as make_app does, served on a free port."""
    return dashboards.live_server


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """Create an app on a temporary database."""
    return make_app()


@pytest.fixture
def client(app: Flask):
    """Return Flask's test client for the app."""
    return app.test_client()


@pytest.fixture
def live_server(app: Flask, dashboards: Dashboards) -> LiveServer:
    """Serve the app with the production server on 127.0.0.1 and a free port."""
    return dashboards.serve(app)


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's Chromium through Playwright (Playwright's own browser download does not work here)."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """Open a fresh browser context and page; close them after the test."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
