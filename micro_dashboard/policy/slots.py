"""Long-lived requests (websockets, waits) may hold all but a few server threads, so the collector always answers."""

from __future__ import annotations

import threading

from flask import Flask, Response, g, jsonify, request

# Requests that hold a server thread for as long as they stay open.
LONG_LIVED_PATHS = frozenset(["/ws", "/api/wait"])
RESERVED_THREADS = 16  # never taken by long-lived requests


def init_app(app: Flask, threads: int) -> None:
    """Give each long-lived request a slot, or a 503 when none is free."""
    slots = threading.BoundedSemaphore(max(1, threads - RESERVED_THREADS))

    @app.before_request
    def take_a_long_lived_slot() -> tuple[Response, int] | None:
        if request.path not in LONG_LIVED_PATHS:
            return None
        if not slots.acquire(blocking=False):
            message = (f"too many open websockets and waits ({threads - RESERVED_THREADS}); close some, "
                       "or start micro-dashboard with more --threads")
            response = jsonify({"error": message, "detail": None})
            response.headers["Retry-After"] = "1"
            return response, 503
        g.long_lived_slot = True
        return None

    @app.teardown_request
    def give_the_slot_back(_exc: BaseException | None) -> None:
        if g.pop("long_lived_slot", False):
            slots.release()
