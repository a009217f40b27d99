"""One thread serves every /ws client after its handshake and replay, so a commit wakes one thread, not hundreds.

The loop waits in a selector. When the hub's log grows it gives each client what it has not yet been sent, built
once for every client at the same cursor with the same view, and writes it with a non-blocking send into a
bounded per-client buffer; it reads what clients send (close frames, pings, pongs, through wsproto), and pings
idle ones. Nothing ever waits for a client: one whose socket takes nothing for SEND_TIMEOUT_SECONDS, or whose
unsent bytes pass OUTPUT_LIMIT, is dropped (it reconnects with its cursor); one that falls LOG_SIZE envelopes
behind is sent `resync` and closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import selectors
import socket
import threading
import time
from typing import Any, Protocol

from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, Ping
from wsproto.frame_protocol import CloseReason

from .hub import Hub, LogEntry, Subscription

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0  # a client whose socket takes nothing for this long is dropped, never waited for
OUTPUT_LIMIT = 8 * 1024 * 1024  # bytes a client may have unsent before it is dropped
# While this much is still unsent, a client is given nothing more: its cursor stays where it is, so a client that
# cannot keep up falls behind in the hub's log and is told to resync rather than buffered without end.
BACKLOG_BYTES = 256 * 1024
# The kernel's send buffer per socket (Linux grows it to 4 MiB on its own): what a stalled client can hold up in the
# kernel stays bounded too, and a client that stops reading is noticed after this much rather than megabytes.
SOCKET_SEND_BUFFER = 512 * 1024
PING_SECONDS = 25.0  # an idle client is pinged after this; one that then sends nothing for as long is dropped
CHECK_SECONDS = 0.5  # how often stalled and idle clients are looked for
PING_FRAME = b"\x89\x00"
# A new client is pinged once this long after it is handed over: simple-websocket's client (`tail`, scripts) leaves
# the frames that came in the same read as the handshake answer (the hello, the replay) unread until more bytes
# arrive, so these bytes hand them over. A browser just answers the ping.
NUDGE_SECONDS = 0.2
GOING_AWAY = Connection(ConnectionType.SERVER).send(CloseConnection(code=CloseReason.GOING_AWAY))


class View(Protocol):
    """What one client asked for (live.LiveView): filters and extra columns applied to the rows it is sent."""

    filter: Any
    columns: dict[str, Any]

    def rows(self, summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the rows the filters match, with their extra columns."""
        ...


def text_frame(text: str) -> bytes:
    """Return a websocket text frame (unmasked, as a server sends it) carrying `text`."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes([0x81, size]) + payload
    if size < 65536:
        return bytes([0x81, 126]) + size.to_bytes(2, "big") + payload
    return bytes([0x81, 127]) + size.to_bytes(8, "big") + payload


class LiveClient:
    """One websocket handed to the loop: its socket, view, cursor in the hub's log and what is not yet sent."""

    def __init__(self, sock: socket.socket, view: View, sub: Subscription, last: int) -> None:
        self.sock, self.view = sock, view
        self.sub: Subscription | None = sub  # None once dropped
        self.last = last  # the newest row id sent (by the replay or the loop): the log's older events are skipped
        self.plain = not view.filter and not view.columns  # sent the hub's envelopes as they are
        self.view_key = None if self.plain else repr((view.filter, view.columns))
        self.protocol = Connection(ConnectionType.SERVER)  # reads the client's frames; our frames are prebuilt
        self.out = bytearray()
        self.stalled_since: float | None = None  # since when unsent bytes have not moved
        self.heard = time.monotonic()
        self.pinged_at: float | None = None
        self.nudge_at: float | None = self.heard + NUDGE_SECONDS
        self.closing = False  # close once everything is sent (after `resync` or the client's close frame)
        self.writing = False  # the selector also waits for room to write


class LiveLoop:
    """The thread that serves every handed-over websocket; started with the first, ended by close()."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._lock = threading.Lock()  # arrivals, the thread's life, the wake flag
        self._arrivals: list[LiveClient] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._woken = False  # a wake byte is on its way: no need to send another
        self._waker: socket.socket | None = None
        self._clients: set[LiveClient] = set()  # the loop thread's own
        self._recheck = False  # a client held back by its backlog has room again
        self.send_timeout = SEND_TIMEOUT_SECONDS
        hub.on_publish(self.wake)

    @property
    def clients(self) -> int:
        """Return how many websockets the loop serves."""
        return len(self._clients)

    def add(self, sock: socket.socket, view: View, sub: Subscription, last: int) -> None:
        """Serve `sock` (already upgraded, replayed through row `last`) from `sub`'s cursor on; the loop owns it."""
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
        with self._lock:
            self._arrivals.append(LiveClient(sock, view, sub, last))
            if self._thread is None:
                self._start()
        self.wake()

    def _start(self) -> None:
        selector = selectors.DefaultSelector()
        wake_reader, self._waker = socket.socketpair()
        wake_reader.setblocking(False)
        self._waker.setblocking(False)
        selector.register(wake_reader, selectors.EVENT_READ, None)
        self._stopping = self._woken = False
        self._thread = threading.Thread(target=self._run, args=(selector, wake_reader), name="micro-dashboard-live",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Make the loop look at the hub's log and its arrivals (from any thread; cheap when it is already woken)."""
        with self._lock:
            if self._waker is None or self._woken:
                return
            self._woken = True
            with contextlib.suppress(OSError):
                self._waker.send(b"\0")

    def close(self) -> None:
        """End every websocket (with a going-away close frame, best effort) and the loop's thread."""
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
            with contextlib.suppress(OSError):
                self._waker.send(b"\0")
        thread.join(timeout=10)

    def _run(self, selector: selectors.BaseSelector, wake_reader: socket.socket) -> None:
        next_check = time.monotonic() + CHECK_SECONDS
        seen = -1  # the hub's cursor at the last delivery
        try:
            while True:
                for key, mask in selector.select(max(0.0, next_check - time.monotonic())):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            wake_reader.recv(4096)
                        with self._lock:
                            self._woken = False
                        continue
                    client = key.data
                    if mask & selectors.EVENT_READ:
                        self._receive(selector, client)
                    if mask & selectors.EVENT_WRITE and client in self._clients:
                        self._flush(selector, client)
                with self._lock:
                    if self._stopping:
                        break
                    arrivals, self._arrivals = self._arrivals, []
                for client in arrivals:
                    selector.register(client.sock, selectors.EVENT_READ, client)
                    self._clients.add(client)
                head = self._hub.published
                if arrivals or head != seen or self._recheck:
                    seen, self._recheck = head, False
                    self._deliver(selector)
                if time.monotonic() >= next_check:
                    self._check(selector)
                    next_check = time.monotonic() + CHECK_SECONDS
        except Exception:
            log.exception("the live loop failed; its websockets are closed and reconnect")
        finally:
            with self._lock:
                self._thread = None
                leftover, self._arrivals = self._arrivals, []
                waker, self._waker = self._waker, None
            for client in [*self._clients, *leftover]:
                with contextlib.suppress(OSError):
                    client.sock.send(GOING_AWAY)
                self._drop(selector, client)
            selector.close()
            wake_reader.close()
            if waker:
                waker.close()

    def _deliver(self, selector: selectors.BaseSelector) -> None:
        """Give every client what the log holds beyond its cursor; built once per cursor and view."""
        slices: dict[int, tuple[list[LogEntry] | None, int | None, int]] = {}
        built: dict[tuple[Any, ...], tuple[bytes, int]] = {}
        oldest = self._hub.oldest
        for client in list(self._clients):
            if client.closing or client.sub is None:
                continue
            cursor = client.sub.cursor
            if cursor >= oldest and len(client.out) >= BACKLOG_BYTES:
                continue  # nothing more until its backlog is sent: _flush asks for a recheck then
            if cursor >= oldest and cursor not in slices:
                found = self._hub.entries_since(cursor)
                ids = [e["data"]["id"] for e, _ in found or [] if e["type"] == "event"]
                slices[cursor] = (found, min(ids, default=None), max(ids, default=0))
            found, first, newest = slices[cursor] if cursor >= oldest else (None, None, 0)
            if found is None:  # the log moved past what it had not been given: it gets that much, then resyncs
                client.out += text_frame(json.dumps({"type": "resync", "data": {"since": client.last}}))
                client.closing = True
            elif found:
                # Events already sent by the replay are skipped: only clients just replayed differ here.
                key = (cursor, client.view_key, client.last if first is not None and first <= client.last else None)
                if key not in built:
                    try:
                        built[key] = (b"".join(text_frame(t) for t in texts_for(client.view, found, client.last)),
                                      max(newest, client.last))
                    except Exception:  # its query failed (the store is closing): it reconnects and replays
                        log.debug("a live client's rows could not be read", exc_info=True)
                        self._drop(selector, client)
                        continue
                data, client.last = built[key]
                client.out += data
                client.sub.cursor = cursor + len(found)
            self._flush(selector, client)

    def _flush(self, selector: selectors.BaseSelector, client: LiveClient) -> None:
        """Send what the socket takes now; drop a client over its bound; close one that is done."""
        if client.out:
            try:
                sent = client.sock.send(client.out)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._drop(selector, client)
                return
            backlogged = len(client.out) >= BACKLOG_BYTES
            del client.out[:sent]
            if sent or client.stalled_since is None:
                client.stalled_since = time.monotonic()
            if backlogged and len(client.out) < BACKLOG_BYTES:
                self._recheck = True
        if len(client.out) > OUTPUT_LIMIT:
            self._drop(selector, client)
        elif client.out and not client.writing:
            selector.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
            client.writing = True
        elif not client.out:
            client.stalled_since = None
            if client.closing:
                self._drop(selector, client)
            elif client.writing:
                selector.modify(client.sock, selectors.EVENT_READ, client)
                client.writing = False

    def _receive(self, selector: selectors.BaseSelector, client: LiveClient) -> None:
        """Read what a client sent: answer pings and close frames; the feed ignores messages."""
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(selector, client)
            return
        client.heard, client.pinged_at = time.monotonic(), None
        try:
            client.protocol.receive_data(data)
            for event in client.protocol.events():
                if isinstance(event, Ping):
                    client.out += client.protocol.send(event.response())
                elif isinstance(event, CloseConnection):
                    client.out += client.protocol.send(event.response())
                    client.closing = True
        except Exception:  # a frame wsproto cannot read: there is no talking to this client
            log.debug("a live client sent what cannot be read", exc_info=True)
            self._drop(selector, client)
            return
        self._flush(selector, client)

    def _check(self, selector: selectors.BaseSelector) -> None:
        """Drop clients whose socket took nothing for the send timeout or that stopped answering pings."""
        now = time.monotonic()
        for client in list(self._clients):
            stalled = client.stalled_since is not None and now - client.stalled_since >= self.send_timeout
            unanswered = client.pinged_at is not None and now - client.pinged_at >= PING_SECONDS
            if stalled or unanswered:
                self._drop(selector, client)
            elif client.nudge_at is not None and now >= client.nudge_at:
                client.nudge_at = None
                client.out += PING_FRAME  # not awaited like an idle client's ping: any client may ignore it
                self._flush(selector, client)
            elif client.pinged_at is None and now - client.heard >= PING_SECONDS:
                client.pinged_at = now
                client.out += PING_FRAME
                self._flush(selector, client)

    def _drop(self, selector: selectors.BaseSelector, client: LiveClient) -> None:
        if client in self._clients:
            self._clients.discard(client)
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(client.sock)
        with contextlib.suppress(OSError):
            client.sock.close()
        if client.sub is not None:
            self._hub.unsubscribe(client.sub)
            client.sub = None


def texts_for(view: View, found: list[LogEntry], last: int) -> list[str]:
    """Return the messages a client is sent for some logged envelopes (rows after `last`, through its view)."""
    if not view.filter and not view.columns:  # as encoded by the hub, less rows the replay already sent
        return [text for e, text in found if not (e["type"] == "event" and e["data"]["id"] <= last)]
    return [json.dumps(e) for e in view_of(view, [e for e, _ in found], last)]


def view_of(view: View, envelopes: list[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """Apply a client's filters and columns to a run of envelopes, in order; drop rows it was already sent."""
    rows = view.rows([e["data"] for e in envelopes if e["type"] in ("event", "update")
                      and (e["type"] == "update" or e["data"]["id"] > last)])
    kept = {r["id"]: r for r in rows}
    out = []
    for envelope in envelopes:
        if envelope["type"] not in ("event", "update"):
            out.append(envelope)
        elif (row := kept.get(envelope["data"]["id"])) is not None:
            out.append({"type": envelope["type"], "data": row})
    return out
