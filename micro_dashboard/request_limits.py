"""Bounds on a request: a 20 KiB request line and 40 KiB of headers (414/431, recorded), a deadline for the head and
then one for the body."""

from __future__ import annotations

import contextlib
import heapq
import itertools
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
# A body must then be complete within this. cheroot's own timeout is per read (30 s), so without a total a client
# sending a byte every 29 s keeps a thread for ever. 30 s carries the largest body the collector takes (2 MiB by
# default) at 70 KB/s, far below any loopback or local network a developer's trackers use.
BODY_SECONDS = 30.0
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of an oversized head read (and discarded) to learn its real size
KEPT_BYTES = 1024  # of an oversized head, the start that is stored
# Called with (part, method, target, headers, size, kept bytes, peer) for a request line or headers over its cap.
OversizedRecorder = Callable[[str, str, str, list[tuple[str, str]], int, bytes, str], None]


class RequestDeadlines:
    """Cuts off a request whose head, or then body, is not complete in time, so a slow sender cannot keep a thread."""

    def __init__(self, seconds: float, body_seconds: float | None = None):
        self.seconds = seconds
        # Read when a server is made, so that a test can set a short one first.
        self.body_seconds = BODY_SECONDS if body_seconds is None else body_seconds
        self._lock = threading.Lock()
        self._tokens = itertools.count()
        self._pending: list[tuple[float, int, Callable[[], None]]] = []  # a heap, soonest first
        self._running: set[int] = set()  # the tokens of clocks neither stopped nor run out
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="micro-dashboard-request-deadlines", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop watching."""
        self._stopping.set()
        self._thread.join(timeout=2)

    def start(self, sock: socket.socket) -> int:
        """Start the clock of a request head; return the token that stops it."""
        # The blocked read returns at once with nothing, and cheroot closes the connection.
        return self._watch(self.seconds, lambda: shut(sock, socket.SHUT_RDWR))

    def start_body(self, sock: socket.socket, peer: str) -> BodyClock:
        """Start the clock of a request body (its head is complete); return the clock."""
        clock = BodyClock(self, sock, peer)
        clock.token = self._watch(self.body_seconds, clock.run_out)
        return clock

    def stop(self, token: int) -> None:
        """The head (or body) is complete, or refused: its connection is no longer on this clock."""
        with self._lock:
            self._running.discard(token)

    def _watch(self, seconds: float, on_overdue: Callable[[], None]) -> int:
        token = next(self._tokens)
        with self._lock:
            heapq.heappush(self._pending, (time.monotonic() + seconds, token, on_overdue))
            self._running.add(token)
        return token

    def _run(self) -> None:
        while not self._stopping.wait(0.5):
            now, overdue = time.monotonic(), []
            with self._lock:
                while self._pending and (self._pending[0][0] <= now or self._pending[0][1] not in self._running):
                    _, token, on_overdue = heapq.heappop(self._pending)
                    if token in self._running:
                        self._running.discard(token)
                        overdue.append(on_overdue)
            for on_overdue in overdue:
                on_overdue()




def shut(sock: socket.socket, how: int) -> None:
    """Shut a socket down (one side or both); a socket already gone is no error."""
    with contextlib.suppress(OSError):
        sock.shutdown(how)


class BodyClock:
    """The deadline of one request body: once it has run out, the body reads as ended, as when a client goes away."""

    def __init__(self, deadlines: RequestDeadlines, sock: socket.socket, peer: str):
        self.deadlines, self.sock, self.peer = deadlines, sock, peer
        self.token = -1
        self.expired = False
        self.stopped = False

    def run_out(self) -> None:
        """End the body: the blocked read returns at once with what came, and the app can still answer."""
        if self.stopped:  # it came in while the clock ran out
            return
        self.expired = True
        log.warning("cut off a request body from %s: not complete within %s s", self.peer,
                    self.deadlines.body_seconds)
        shut(self.sock, socket.SHUT_RD)

    def stop(self) -> None:
        """The body is complete (or the request is over): no deadline any more."""
        if not self.stopped:
            self.stopped = True
            self.deadlines.stop(self.token)


class BodyOnClock:
    """The connection's reader while a body arrives: it stops the clock once the declared body is in, and reads as
    ended once the clock has run out (a socket's read side, once shut, still takes a client's later bytes)."""

    def __init__(self, rfile, clock: BodyClock, declared: int | None):
        self.rfile, self.clock, self.declared = rfile, clock, declared
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        """Read as the connection's reader does, unless the body's time is up."""
        return self._counted(b"" if self.clock.expired else self.rfile.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        """Read a line as the connection's reader does, unless the body's time is up."""
        return self._counted(b"" if self.clock.expired else self.rfile.readline(size))

    def __iter__(self) -> BodyOnClock:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str):
        """Anything else (close, ...) is the connection's reader's."""
        return getattr(self.rfile, name)

    def _counted(self, data: bytes) -> bytes:
        self.bytes_read += len(data)
        if self.declared is not None and self.bytes_read >= self.declared:
            self.clock.stop()
        return data


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

    Either is recorded (a truncated copy, with the real size) as the collector records an oversized body. The head
    must arrive within HEAD_SECONDS, and a body then within BODY_SECONDS: one that does not reads as ended where it
    stopped, which the app answers as a dropped upload (the client, if still there, gets that answer)."""

    body_clock: BodyClock | None = None

    def respond(self) -> None:
        """Answer, with the body (if there is one) on its clock."""
        deadlines: RequestDeadlines | None = getattr(self.server, "head_deadlines", None)
        declared = None if self.chunked_read else int(self.inheaders.get(b"Content-Length", 0))
        if deadlines is None or declared == 0:
            return super().respond()
        self.body_clock = clock = deadlines.start_body(self.conn.socket, str(self.conn.remote_addr or "unknown"))
        shared = self.conn.rfile
        self.conn.rfile = BodyOnClock(shared, clock, declared)
        try:
            super().respond()
        finally:
            self.conn.rfile = shared
            clock.stop()
            if clock.expired:
                self.close_connection = True  # its read side is shut: no next request can come on it

    def send_headers(self) -> None:
        """Send the answer's head; cheroot first reads the rest of a declared body the app left, still on the clock."""
        clock = self.body_clock
        if clock is not None:
            if self.chunked_read:
                clock.stop()  # the app answers, so it reads no more of the body (and cheroot reads none for it)
            if clock.expired:
                self.close_connection = True
        super().send_headers()

    def parse_request(self) -> None:
        """Read the request line and headers, each under its own cap and both under one deadline."""
        deadlines: RequestDeadlines | None = getattr(self.server, "head_deadlines", None)
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
