"""Support shared by the tests: where the external test data lives, free ports, a quiet local HTTP server, polling."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# External test data (real registries and definitions, never copied into the repository) is looked up, folder by
# folder, in the folder named by this variable when it is set; otherwise in shared/ beside the checkout (as in CI),
# then in .test-data/ inside it, where tests/setup.sh fetches what it can.
TEST_DATA_VARIABLE = "MICRO_DASHBOARD_TEST_DATA"
SHARED = REPO.parent / "shared"
FETCHED = REPO / ".test-data"
GET_TEST_DATA = f"bash tests/setup.sh, or set {TEST_DATA_VARIABLE} to a folder holding them"


@dataclass(frozen=True)
class TestData:
    """One folder of external test data, and the pytest marker of the tests that need it."""

    folder: str  # its name in the test-data folder
    marker: str
    what: str

    @property
    def path(self) -> Path:
        """Return where it is, or where it would be looked for first when it is nowhere."""
        given = os.environ.get(TEST_DATA_VARIABLE)
        candidates = [Path(given).expanduser()] if given else [SHARED, FETCHED]
        for base in candidates:
            if (base / self.folder).is_dir():
                return (base / self.folder).resolve()
        return candidates[0] / self.folder

    @property
    def present(self) -> bool:
        """Say whether the folder is there and not empty."""
        return self.path.is_dir() and any(self.path.iterdir())

    __test__ = False  # a data class, not a test class for pytest to collect


IGLU_CENTRAL_DATA = TestData("iglu-central", "needs_iglu_central", "Iglu Central's schemas as a static repository")
IGLU_GITLAB_DATA = TestData("iglu-gitlab", "needs_iglu_gitlab", "GitLab's Iglu schemas as a static repository")
GITLAB_DEFINITIONS_DATA = TestData("gitlab-definitions", "needs_gitlab_definitions",
                                   "GitLab's event and metric definition files")
TEST_DATA = (IGLU_CENTRAL_DATA, IGLU_GITLAB_DATA, GITLAB_DEFINITIONS_DATA)



def require(data: TestData) -> Path:
    """Return where the data is, or skip the calling test when it is missing (what a data marker does too)."""
    if not data.present:
        import pytest  # only tests call this; tests/fetch_test_data.py imports this module without pytest

        # One reason, raised from this one line, for every such skip: pytest's summary folds them into one line.
        missing = [d for d in TEST_DATA if not d.present]
        pytest.skip(f"missing test data {', '.join(d.folder for d in missing)} (looked for at "
                    f"{', '.join(str(d.path) for d in missing)}); get it with: {GET_TEST_DATA}")
    return data.path


IGLU_CENTRAL = IGLU_CENTRAL_DATA.path
IGLU_GITLAB = IGLU_GITLAB_DATA.path
GITLAB_DEFINITIONS = GITLAB_DEFINITIONS_DATA.path
GITLAB_STANDARD_FILE = IGLU_GITLAB / "schemas" / "com.gitlab" / "gitlab_standard" / "jsonschema" / "1-1-8"

# Schemas of those repositories that many tests send or look up.
SP = "iglu:com.snowplowanalytics.snowplow"
PAYLOAD_DATA = f"{SP}/payload_data/jsonschema/1-0-4"
CONTEXTS = f"{SP}/contexts/jsonschema/1-0-0"
UNSTRUCT = f"{SP}/unstruct_event/jsonschema/1-0-0"
LINK_CLICK = f"{SP}/link_click/jsonschema/1-0-1"
WEB_PAGE = f"{SP}/web_page/jsonschema/1-0-0"
CLIENT_SESSION = f"{SP}/client_session/jsonschema/1-0-2"
MOBILE_CONTEXT = f"{SP}/mobile_context/jsonschema/1-0-3"
APPLICATION_ERROR = f"{SP}/application_error/jsonschema/1-0-2"
GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8"
BAD_ROW_SCHEMA = f"{SP}.badrows/schema_violations/jsonschema/2-0-1"


def free_port() -> int:
    """Return a port nothing listens on (connections to it are refused until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class QuietServer:
    """A local HTTP server in a daemon thread on 127.0.0.1: a directory served as static files, or a handler.

    It logs nothing and counts the requests it answers in `requests` as (path, headers).
    """

    def __init__(self, directory: Path | None = None, handler: type[BaseHTTPRequestHandler] = SimpleHTTPRequestHandler,
                 port: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Quiet(handler):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                if directory is not None:
                    kwargs["directory"] = str(directory)
                super().__init__(*args, **kwargs)

            def parse_request(self) -> bool:
                # Counted before answering, so a test that got its answer always sees the count.
                parsed = super().parse_request()
                if parsed:
                    server.requests.append((self.path, dict(self.headers)))
                return parsed

            def log_message(self, *args: Any) -> None:
                pass  # keep pytest's output clean

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Quiet)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval makes shutdown quick, so each test's teardown costs milliseconds.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def wait_for(condition: Callable[[], Any], seconds: float = 5.0, interval: float = 0.02) -> Any:
    """Poll until `condition` returns something truthy (or give up after `seconds`) and return its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def sql(store: Any, query: str, params: Any = ()) -> list[Any]:
    """Read a dashboard's SQLite file directly, as another program would (the store keeps its SQL private)."""
    import sqlite3

    from micro_dashboard.store import packing

    conn = sqlite3.connect(store.path)
    conn.row_factory = sqlite3.Row
    packing.register(conn)  # the store's queries read packed columns through unpack()
    try:
        return conn.execute(query, tuple(params)).fetchall()
    finally:
        conn.close()
