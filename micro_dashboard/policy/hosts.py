"""DNS rebinding: the UI, API, /micro and /ws answer only to the Host names the dashboard is known by.

A page on evil.example whose name is later pointed at 127.0.0.1 is same-origin with the dashboard as far as the
browser knows; only the Host header it sends ("evil.example:9091") gives it away. The collector (and the static
scripts trackers load) stays open to any Host, as a real collector behind any DNS name is."""

from __future__ import annotations

import ipaddress
import re
import socket

from flask import Flask, Response, current_app, request

from .errors import JSON_PREFIXES, error_response

LOOPBACK_NAMES = frozenset(["localhost", "localhost.localdomain", "ip6-localhost"])
# Addresses that mean "every interface" when listening.
EVERY_INTERFACE = frozenset(["0.0.0.0", "::", ""])
ALLOWED_HOST_FLAG = "--allowed-host"
MISDIRECTED = 421
# A Host header: a name or an IPv4 address, or an IPv6 address in brackets, and an optional port.
HOST_HEADER = re.compile(r"(?P<name>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::[0-9]{1,5})?")


def bare_host(host: str) -> str:
    """Return a host name or address as the allow-list compares it: lower case, no brackets, no trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the address a host names literally, or None for a name."""
    try:
        return ipaddress.ip_address(bare_host(host))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """Return whether a host (name or address) can only be reached from this machine."""
    name = bare_host(host)
    address = ip_address(name)
    if address is not None:
        return address.is_loopback
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def reachable_address(host: str) -> str:
    """Return an address other programs can use for a listening address: this machine's own for every interface.

    Connecting a UDP socket only picks the route; no packet is sent."""
    if bare_host(host) not in EVERY_INTERFACE:
        return host
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:  # no route beyond this machine: loopback is what there is
        return "127.0.0.1"
    finally:
        probe.close()


def url_host(host: str) -> str:
    """Return a host as it is written in a URL (an IPv6 address in brackets)."""
    address = ip_address(host)
    return f"[{address}]" if address is not None and address.version == 6 else host


def tracker_facing() -> bool:
    """Return whether the request is for what trackers use: the collector's routes and the static scripts."""
    if request.path.startswith(JSON_PREFIXES):
        return False
    return request.blueprint == "collector" or request.endpoint == "static"


def allowed_host(host_header: str) -> bool:
    """Return whether the dashboard answers a request sent to this Host header."""
    settings = current_app.config["SETTINGS"]
    match = HOST_HEADER.fullmatch(host_header)
    if match is None:
        return False
    name = bare_host(match["name"])
    if is_loopback(name) or name == bare_host(settings.host):
        return True
    listening_everywhere = bare_host(settings.host) in EVERY_INTERFACE
    # A literal address cannot be rebound (rebinding needs a name the attacker's DNS answers for).
    if listening_everywhere and (ip_address(name) is not None or name == socket.gethostname().lower()):
        return True
    allowed = {bare_host(h) for h in settings.allowed_hosts}
    return "*" in allowed or name in allowed


def refusal(host_header: str) -> tuple[Response, int]:
    """Answer a request to a Host the dashboard is not known by, naming the flag that allows it."""
    name = bare_host((HOST_HEADER.fullmatch(host_header) or {"name": host_header})["name"]) or "(none)"
    message = (f"this dashboard does not answer to the host name {name!r} (a page whose DNS name was pointed at "
               f"this machine could read it); if that is how you reach it, start micro-dashboard with "
               f"{ALLOWED_HOST_FLAG} {name}")
    if request.path.startswith(JSON_PREFIXES) or request.path == "/ws":
        return error_response(message, MISDIRECTED, {"host": host_header})
    return Response(message + "\n", mimetype="text/plain"), MISDIRECTED


def init_app(app: Flask) -> None:
    """Refuse requests to the UI, API, /micro and /ws whose Host is not allow-listed."""

    @app.before_request
    def check_the_host() -> tuple[Response, int] | None:
        if tracker_facing():
            return None
        host_header = request.headers.get("Host", "")
        return None if allowed_host(host_header) else refusal(host_header)
