"""GET one registry answer within a total deadline and a size cap.

A timeout per read does not bound a server that sends one byte a second (every read succeeds), nor one that sends
its headers that way: here every read of the socket, from the connection to the last byte of the body, waits only
for what is left of one deadline. The body is read in chunks and abandoned at the cap, so an answer too large is
never held whole; one that says its size up front is refused before any of it is read."""

from __future__ import annotations

import base64
import errno
import functools
import http.client
import io
import socket
import ssl
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests.certs

MAX_REDIRECTS = 5
CHUNK = 64 * 1024


class FetchError(Exception):
    """Why no usable answer came: a few words for a registry's error message."""


class TooLarge(FetchError):
    """The answer is larger than the cap (the registry answered, but with something we will not read)."""


@dataclass
class Answer:
    """A complete answer within the deadline and the cap."""

    status: int
    reason: str
    body: bytes
    url: str  # after redirects


def fetch(url: str, headers: dict[str, str], seconds: float, max_bytes: int) -> Answer:
    """GET `url` (following redirects, through the environment's proxy if one applies) within `seconds` in all."""
    deadline = time.monotonic() + seconds
    sent = dict(headers)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            connection = _connect(url, deadline)
        except ValueError as exc:  # a port out of range, a malformed proxy setting
            raise FetchError(f"cannot request {url}: {exc}") from exc
        try:
            answer = _get(connection, url, sent, deadline, max_bytes)
        except (TimeoutError, _DeadlinePassed):
            raise FetchError(f"timed out after {seconds:g} s") from None
        except ssl.SSLError as exc:
            raise FetchError(f"TLS error: {exc}") from exc
        except http.client.HTTPException as exc:
            raise FetchError(f"the answer is not valid HTTP ({type(exc).__name__}: {exc})") from exc
        except OSError as exc:
            raise FetchError(_connection_words(exc)) from exc
        finally:
            connection.close()
        if isinstance(answer, Answer):
            return answer
        following = urljoin(url, answer)
        if urlsplit(following).scheme not in ("http", "https"):
            raise FetchError(f"redirected to {following}, which is not an http(s) URL")
        if urlsplit(following).netloc != urlsplit(url).netloc:
            sent.pop("apikey", None)  # a key is for the registry (origin) it was given for, not wherever it redirects
        url = following
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _get(connection: _DeadlineConnection, url: str, headers: dict[str, str], deadline: float,
         max_bytes: int) -> Answer | str:
    """Send the GET and read the answer; return the Location of a redirect instead of following it."""
    parts = urlsplit(url)
    target = url if connection.forward else (parts.path or "/") + \
        (f"?{parts.query}" if parts.query else "")
    connection.request("GET", target, headers={**headers, **connection.proxy_headers})
    response = connection.getresponse()
    try:
        location = response.getheader("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            return location
        declared = response.getheader("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > max_bytes:
            raise TooLarge(f"the answer from {url} is {int(declared):,} bytes, more than the {max_bytes:,} a schema "
                           "may be")
        body = bytearray()
        while chunk := response.read(CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise TooLarge(f"the answer from {url} is more than the {max_bytes:,} bytes a schema may be")
        return Answer(response.status, response.reason or "", bytes(body), url)
    finally:
        response.close()  # unread, when refused: the connection is dropped rather than drained


class _DeadlinePassed(Exception):
    """The deadline passed between two reads."""


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DeadlinePassed
    return left


class _DeadlineReader(io.RawIOBase):
    """The socket's incoming bytes, each read waiting only for what is left of the deadline."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        super().__init__()
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._owner.sock.settimeout(_remaining(self._owner.deadline))
        return self._owner.sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.release()
        super().close()


class _DeadlineSocket:
    """A connected socket whose sends and reads all end by the deadline (what http.client uses of a socket).

    As with a plain socket, closing it waits for the files made from it: http.client closes the connection of an
    answer that ends with the connection and goes on reading the answer."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline
        self._readers = 0
        self._closing = False

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(_remaining(self.deadline))
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def release(self) -> None:
        """Note that a file made from the socket is closed."""
        self._readers -= 1
        if self._closing and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        self._closing = True
        if self._readers <= 0:
            self.sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _DeadlineConnection(http.client.HTTPConnection):
    """An HTTP connection whose every wait ends by `deadline`."""

    deadline = 0.0
    forward = False  # an http:// URL through a proxy: the request line carries the whole URL
    proxy_headers: dict[str, str] = {}  # replaced per connection, never changed in place

    def connect(self) -> None:
        self.timeout = _remaining(self.deadline)  # the connection (and a TLS handshake) too
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self.deadline)


class _DeadlineTLSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    """An HTTPS connection whose every wait ends by `deadline`."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Return the TLS settings for https registries: the CA bundle requests uses, read once."""
    return ssl.create_default_context(cafile=requests.certs.where())


def _connect(url: str, deadline: float) -> _DeadlineConnection:
    """Return an unopened connection for `url`: direct, or through the proxy the environment names for it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url} is not an http(s) URL")
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(parts.hostname):
        proxy = None
    context = _tls_context()
    if not proxy:
        connection = _DeadlineTLSConnection(parts.hostname, parts.port, context=context) \
            if parts.scheme == "https" else _DeadlineConnection(parts.hostname, parts.port)
    else:
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        credentials = {}
        if via.username:
            pair = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
            credentials["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if parts.scheme == "https":
            connection = _DeadlineTLSConnection(via.hostname, via.port or 8080, context=context)
            connection.set_tunnel(parts.hostname, parts.port, headers=credentials)
        else:
            connection = _DeadlineConnection(via.hostname, via.port or 8080)
            connection.forward, connection.proxy_headers = True, credentials
    connection.deadline = deadline
    return connection


def _connection_words(exc: OSError) -> str:
    """Say in a few words why a connection failed."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "could not resolve the host name"
    if exc.errno == errno.ENETUNREACH:
        return "network is unreachable"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "the registry closed the connection"
    return f"connection failed: {exc.strerror or exc}"
