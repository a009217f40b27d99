"""Bounds on a request's head: a 20 KiB request line and 40 KiB of headers (414/431, recorded), within a deadline."""

from __future__ import annotations

import contextlib
import heapq
import logging
import socket
import threading
import time
from collections.abc import Callable

from cheroot import errors, server

from .collector import RESERVED_VENDORS
from .pipeline.failures import HEAD_LIMITS

log = logging.getLogger(__name__)

# The dashboard's own API takes longer query strings than a collector (a filter with 40,000 values).
DASHBOARD_REQUEST_LINE_LIMIT = 1024 * 1024
HEAD_SECONDS = 10.0  # a request line and headers must arrive within this, or the connection is closed (slowloris)
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of an oversized head read (and discarded) to learn its real size
KEPT_BYTES = 1024  # of an oversized head, the start that is stored
# Called with (part, method, target, headers, size, kept bytes, peer) for a request line or headers over its cap.
OversizedRecorder = Callable[[str, str, str, list[tuple[str, str]], int, bytes, str], None]


class HeadDeadlines:
    """Closes connections whose request head is not complete in time, so a slow sender cannot keep a thread."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._pending: list[tuple[float, int, socket.socket]] = []
        self._done: set[int] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="micro-dashboard-head-deadlines", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop watching."""
        self._stopping.set()
        self._thread.join(timeout=2)

    def start(self, sock: socket.socket) -> int:
        """Start the clock of a request head; return the token that stops it."""
        token = id(sock) ^ time.monotonic_ns()
        with self._lock:
            heapq.heappush(self._pending, (time.monotonic() + self.seconds, token, sock))
        return token

    def stop(self, token: int) -> None:
        """The head is complete (or refused): its connection is no longer on the clock."""
        with self._lock:
            self._done.add(token)

    def _run(self) -> None:
        while not self._stopping.wait(0.5):
            now, overdue = time.monotonic(), []
            with self._lock:
                while self._pending and (self._pending[0][0] <= now or self._pending[0][1] in self._done):
                    _, token, sock = heapq.heappop(self._pending)
                    if token in self._done:
                        self._done.discard(token)
                    else:
                        overdue.append(sock)
            for sock in overdue:
                # The blocked read returns at once with nothing, and cheroot closes the connection.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class CountingReader(server.SizeCheckWrapper):
    """cheroot's size check that also keeps the first bytes read, for the stored copy of an oversized head."""

    def __init__(self, rfile, maxlen: int):
        super().__init__(rfile, maxlen)
        self.start = bytearray()
        self.last = b""

    def readline(self, size=None):
        """Read a line (in 256-byte steps, as cheroot does), keeping its start."""
        parts = []
        while True:
            self.last = data = self.rfile.readline(256 if size is None else size)
            self.bytes_read += len(data)
            if len(self.start) < KEPT_BYTES:
                self.start += data[:KEPT_BYTES - len(self.start)]
            parts.append(data)
            self._check_length()
            if size is not None or len(data) < 256 or data.endswith(b"\n"):
                return b"".join(parts)

    def drain(self, to_blank_line: bool) -> int:
        """Read on to the end of the line (or of the headers), discarding; return the bytes read in all."""
        line_ended = self.last.endswith(b"\n")
        while self.bytes_read < DRAIN_LIMIT:
            if line_ended and not to_blank_line:
                break
            try:
                data = self.rfile.readline(65536)
            except OSError:
                break
            if not data:
                break
            self.bytes_read += len(data)
            if line_ended and data in (b"\r\n", b"\n"):
                break
            line_ended = data.endswith(b"\n")
        return self.bytes_read


class LimitedRequest(server.HTTPRequest):
    """cheroot's request with Snowplow's caps: a request line over 20 KiB is a 414, headers over 40 KiB a 431.

    Either is recorded (a truncated copy, with the real size) as the collector records an oversized body, and the
    head must arrive within HEAD_SECONDS."""

    def parse_request(self) -> None:
        """Read the request line and headers, each under its own cap and both under one deadline."""
        deadlines: HeadDeadlines | None = getattr(self.server, "head_deadlines", None)
        token = deadlines.start(self.conn.socket) if deadlines else None
        try:
            self._parse_limited()
        finally:
            if token is not None:
                deadlines.stop(token)

    def _parse_limited(self) -> None:
        self.rfile = line = CountingReader(self.conn.rfile, DASHBOARD_REQUEST_LINE_LIMIT)
        try:
            if not self.read_request_line():
                return
        except errors.MaxSizeExceeded:
            size = line.drain(to_blank_line=False)
            self._refuse("request-line", bytes(line.start), size, b"414 URI Too Long")
            return
        if line.bytes_read > HEAD_LIMITS["request-line"] and not dashboard_path(self.path):
            self._refuse("request-line", bytes(line.start), line.bytes_read, b"414 URI Too Long")
            return
        self.rfile = head = CountingReader(self.conn.rfile, HEAD_LIMITS["headers"])
        try:
            if not self.read_request_headers():
                return
        except errors.MaxSizeExceeded:
            size = head.drain(to_blank_line=True)
            self._refuse("headers", bytes(head.start), size, b"431 Request Header Fields Too Large")
            return
        self.ready = True

    def _refuse(self, part: str, start: bytes, size: int, status: bytes) -> None:
        """Record the oversized request (never failing the answer), then answer and close the connection."""
        recorder: OversizedRecorder | None = getattr(self.server, "record_oversized", None)
        method = (getattr(self, "method", None) or start.split(b" ", 1)[0][:16]).decode("latin-1", "replace")
        target = (getattr(self, "uri", None) or b"").decode("latin-1", "replace")
        if not target:
            target = start.split(b" ", 2)[1].decode("latin-1", "replace") if start.count(b" ") else "/"
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.inheaders.items()]
        peer = self.conn.remote_addr or "unknown"
        if recorder is not None:
            try:
                recorder(part, method, target, headers, size, start, peer)
            except Exception:  # the store refused it: the answer is the same (resending will not make it fit)
                log.exception("recording an oversized %s failed", part)
        message = (f"the {part.replace('-', ' ')} was {size} bytes; at most {HEAD_LIMITS[part]} are "
                   "accepted").encode()
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may be gone already
            self.conn.wfile.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n"
                                  b"Access-Control-Allow-Origin: *\r\nConnection: close\r\n"
                                  b"Content-Length: " + str(len(message)).encode() + b"\r\n\r\n" + message)


def dashboard_path(path: bytes) -> bool:
    """Say whether a request path is the dashboard's own (API, Micro's API, UI assets, live feed), not a collector's."""
    first = path.lstrip(b"/").split(b"/", 1)[0].decode("latin-1")
    return first in RESERVED_VENDORS


class LimitedConnection(server.HTTPConnection):
    """A connection whose requests are LimitedRequest."""

    RequestHandlerClass = LimitedRequest
