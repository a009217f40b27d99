"""The bare-insert baseline for issue 15: a Flask app on cheroot that stores each request body raw in SQLite.

Run: python benchmarks/baseline_app.py --port 0 --db /tmp/baseline.db   (prints "listening http://127.0.0.1:PORT")
It is what the collector's POST tp2 is measured against: the same server, framework and database with the same
durability (WAL, synchronous=NORMAL, a commit per request before the answer), and nothing else: no decoding, no
policy, no cookie. bench_collector.py --hot starts it and sends it the same body as the dashboard.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time

from cheroot import wsgi
from flask import Flask, Response, request


def create_app(db: str) -> Flask:
    """Return the app: POST /com.snowplowanalytics.snowplow/tp2 inserts the body, then answers `ok`."""
    conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY, received_at INTEGER, body BLOB)")
    lock = threading.Lock()
    app = Flask(__name__)

    @app.post("/com.snowplowanalytics.snowplow/tp2")
    def tp2() -> Response:
        body = request.get_data()
        with lock:
            conn.execute("INSERT INTO requests (received_at, body) VALUES (?, ?)", (int(time.time() * 1000), body))
        return Response("ok", mimetype="text/plain")

    @app.get("/count")
    def count() -> Response:
        with lock:
            return Response(str(conn.execute("SELECT count(*) FROM requests").fetchone()[0]), mimetype="text/plain")

    return app


def main() -> None:
    """Serve the baseline app until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", required=True)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    server = wsgi.Server(("127.0.0.1", args.port), create_app(args.db), numthreads=args.threads,
                         max=args.threads, request_queue_size=128)
    server.prepare()
    print(f"listening http://127.0.0.1:{server.bind_addr[1]}", flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
