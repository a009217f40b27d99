"""Support shared by the tests: where the Iglu test data lives, free ports, a quiet local HTTP server, polling."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# The static Iglu repositories (Iglu Central and GitLab's) live in shared/, beside the repository.
SHARED = Path(__file__).resolve().parents[2] / "shared"
IGLU_CENTRAL = SHARED / "iglu-central"
IGLU_GITLAB = SHARED / "iglu-gitlab"
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


def require_iglu_repositories() -> None:
    """Fail (never skip: a skipped test hides a broken setup) unless both static Iglu repositories are there."""
    missing = [str(d) for d in (IGLU_CENTRAL, IGLU_GITLAB) if not (d / "schemas").is_dir()]
    if missing:
        pytest.fail(f"the static Iglu repositories are expected in {SHARED}; missing: {', '.join(missing)}",
                    pytrace=False)


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
