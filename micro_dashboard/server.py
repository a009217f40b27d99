"""The production WSGI server: cheroot's thread pool, taught to hand a websocket upgrade its raw socket."""

from __future__ import annotations

import contextlib
import socket
import threading

from cheroot import wsgi

from .collector import oversized_recorder
from .live import LIVE_LOOP, RAW_SOCKET, TAKEN_OVER
from .request_limits import HEAD_SECONDS, LimitedConnection, RequestDeadlines


class WebSocketGateway(wsgi.Gateway_10):
    """A WSGI gateway that lets /ws take over the connection of a websocket upgrade."""

    def get_environ(self) -> dict:
        """Expose the connection's socket the way Werkzeug does, for /ws to upgrade and hand to the live loop."""
        environ = super().get_environ()
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            sock = self.req.conn.socket
            sock.settimeout(None)  # an idle websocket is normal; cheroot's request timeout must not close it
            environ[RAW_SOCKET] = sock
        return environ

    def respond(self) -> None:
        """Respond as usual, unless the app spoke the websocket protocol on the socket."""
        if RAW_SOCKET not in self.env:
            return super().respond()
        sock = self.env[RAW_SOCKET]
        live_sockets: set = self.req.server.live_sockets
        live_sockets.add(sock)
        try:
            response = self.req.server.wsgi_app(self.env, self.start_response)
        finally:
            live_sockets.discard(sock)
        try:
            if self.env.get(TAKEN_OVER):
                # The handshake and replay went over the raw socket, and the live loop serves a duplicate of it
                # from now on: nothing more may be sent here. Closing our copy now (never shutting it down, which
                # would end the loop's too) leaves cheroot nothing to shut down: its shutdown() of a socket closed
                # under it fails with EBADF, which stops the whole server.
                sock.close()
                self.req.sent_headers = True
                self.req.close_connection = True
                self.req.conn.linger = True
                return
            # The app refused the upgrade (a bad cursor, no free slot): send its answer like any other.
            for chunk in filter(None, response):
                self.write(chunk)
            self.req.ensure_headers_sent()
        finally:
            if hasattr(response, "close"):
                response.close()


class Server:
    """A multi-threaded HTTP server for the app that can run in the foreground or in a background thread."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 9091, threads: int | None = None):
        # The app's own setting by default: it also sizes how many threads websockets and waits may hold.
        threads = threads or app.config["SETTINGS"].threads
        self._server = wsgi.Server((host, port), app, numthreads=threads, max=threads,
                                   server_name="micro-dashboard", timeout=30, shutdown_timeout=2,
                                   request_queue_size=128)
        self._server.gateway = WebSocketGateway
        self._server.ConnectionClass = LimitedConnection
        self._server.record_oversized = oversized_recorder(app)
        self._server.head_deadlines = self._deadlines = RequestDeadlines(HEAD_SECONDS)
        self._server.live_sockets = set()  # websockets still in their handshake or replay, ended together at stop
        self._live_loop = app.config.get(LIVE_LOOP)  # serves every websocket after its replay
        # The serve loop notices stop() only between selects; a short interval makes stopping quick.
        self._server.expiration_interval = 0.1
        self._thread: threading.Thread | None = None
        self._prepared = False

    def prepare(self) -> None:
        """Bind the listening socket (a port of 0 picks a free one), unless it is bound already."""
        if not self._prepared:
            self._server.prepare()
            self._prepared = True

    @property
    def port(self) -> int:
        """Return the bound port."""
        return self._server.bind_addr[1]

    @property
    def host(self) -> str:
        """Return the bound host."""
        return self._server.bind_addr[0]

    def start(self) -> Server:
        """Bind and serve in a daemon thread; return self."""
        self.prepare()
        self._thread = threading.Thread(target=self._server.serve, name="micro-dashboard-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, finish requests in flight, and join the serving thread."""
        # Websockets still being replayed fail at once, all together; cheroot alone would wait for each in turn.
        for sock in list(self._server.live_sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.stop()
        if self._live_loop:  # after the server threads, so no websocket is handed over once the loop has ended
            self._live_loop.close()
        self._deadlines.close()
        if self._thread:
            self._thread.join(timeout=10)
