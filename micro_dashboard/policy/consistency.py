"""Reads see every request acknowledged before they began: they wait, bounded, for the pipeline to pass it."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

SETTLE_SECONDS = 5.0  # how long a read waits for the pipeline before it answers with what there is
BEHIND_HEADER = "X-Micro-Dashboard-Behind"  # on an answer given early: how many requests are not decoded yet
READ_PREFIXES = ("/api/", "/micro/")


def init_app(app: Flask) -> None:
    """Make API and Micro reads wait for the pipeline, and say so when it is behind."""

    @app.before_request
    def settle() -> None:
        if not request.path.startswith(READ_PREFIXES) or request.method == "OPTIONS":
            return
        store = current_app.config["STORE"]
        target = store.acknowledged_through
        if store.decoded_through < target and not store.wait_decoded(target, SETTLE_SECONDS):
            g.pipeline_behind = target - store.decoded_through

    @app.after_request
    def say_how_far_behind(response: Response) -> Response:
        behind = g.pop("pipeline_behind", None)
        if behind:
            response.headers[BEHIND_HEADER] = str(behind)
        return response
