"""The one error type for what a client got wrong: a sentence, an HTTP status, and details that name the input."""

from __future__ import annotations

from typing import Any


class ClientError(ValueError):
    """Something a client sent that cannot be served; answered as JSON `{"error", "detail"}` with `status`."""

    status = 400

    def __init__(self, message: str, detail: Any = None, status: int | None = None):
        super().__init__(message)
        self.detail = detail if detail is not None else {}
        if status is not None:
            self.status = status
