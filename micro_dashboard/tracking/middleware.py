"""WSGI and ASGI middleware that fill the standard context of each request from its X-Gitlab-* headers."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

from micro_dashboard.tracking.context import AI_GATEWAY_SOURCE, EventContext, current_event_context

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def wsgi_headers(environ: dict[str, Any]) -> dict[str, str]:
    """Return the request headers of a WSGI environ with lower-case, dash-separated names."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    return headers


class _ContextBody:
    """Give a streamed response body the request's context while the server iterates it.

    Each chunk is produced inside a context of its own, so the request's context is never left set in the
    server's thread between chunks or after an abandoned response.
    """

    def __init__(self, body: Iterable[bytes], context: EventContext) -> None:
        self._body = body
        self._context = contextvars.copy_context()
        self._context.run(current_event_context.set, context)
        self._chunks: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._chunks is None:
            self._chunks = self._context.run(iter, self._body)
        return self._context.run(next, self._chunks)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


class InternalEventsMiddleware:
    """Wrap a WSGI app (e.g. Flask's app.wsgi_app) so track_event in a view gets the request's context."""

    def __init__(self, app: WSGIApp, environment: str | None = None, source: str | None = AI_GATEWAY_SOURCE) -> None:
        """Wrap app; environment defaults to AIGW_ENVIRONMENT (else development), as the AI Gateway configures it."""
        self.app = app
        self.environment = environment
        self.source = source

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        context = EventContext.from_headers(wsgi_headers(environ), environment=self.environment, source=self.source)
        token = current_event_context.set(context)
        try:
            body = self.app(environ, start_response)
        finally:
            # Reset now: a server or test client may never iterate or close the body in this context.
            current_event_context.reset(token)
        return _ContextBody(body, context)


class InternalEventsASGIMiddleware:
    """Wrap an ASGI app so track_event in a handler gets the request's context."""

    def __init__(self, app: ASGIApp, environment: str | None = None, source: str | None = AI_GATEWAY_SOURCE) -> None:
        """Wrap app; environment defaults to AIGW_ENVIRONMENT (else development), as the AI Gateway configures it."""
        self.app = app
        self.environment = environment
        self.source = source

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope.get("headers", [])]
        context = EventContext.from_headers(headers, environment=self.environment, source=self.source)
        token = current_event_context.set(context)
        try:
            await self.app(scope, receive, send)
        finally:
            current_event_context.reset(token)
