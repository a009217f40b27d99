"""Hold many long-lived connections (websockets, /api/wait, slow senders) and measure the collector meanwhile.

Run: python benchmarks/bench_connections.py [--websockets 500] [--waits 200] [--slowloris 80] [--rate 200]
     [--seconds 20] [--not-reading] [--threads N] [--write RELIABILITY.md]
It starts `micro-dashboard serve` on a free port with a temporary database, opens the connections from this
process (127.0.0.1 only), sends single events at a steady rate for a bounded time, and prints the collector's
latency percentiles, how many connections were accepted or refused, and the server's memory.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import multiprocessing
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_collector import cpu_seconds, rss_mib, start_server  # noqa: E402


def handshake(port: int, path: str, not_reading: bool) -> socket.socket | None:
    """Open a websocket on `path`; return the socket, or None when the server refused the upgrade."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if not_reading:  # a small receive buffer fills fast, as a stalled browser tab's would
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        sock.close()
        return None
    return sock


def hold_wait(port: int) -> socket.socket:
    """Start an /api/wait for more events than will ever come (it holds its request until its timeout)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"GET /api/wait?count=1000&timeout=60&app_id=never HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "\r\n".encode())
    return sock


def slow_sender(port: int) -> socket.socket:
    """Open a connection that starts a request head and never finishes it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"GET /i?e=pv HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


def drain(socks: list[socket.socket], closed: Any) -> None:
    """Read what the server sends on many sockets from one loop, answering its pings as a browser does (a server
    drops a client that stops answering), until they all close; count the closed ones in `closed`."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, bytearray())
    while selector.get_map():
        for key, _ in selector.select(1.0):
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                with closed.get_lock():
                    closed.value += 1
                continue
            pending = key.data
            pending += data
            while len(pending) >= 2:  # whole frames only; a ping (opcode 9) is answered with a masked pong
                size, start = pending[1] & 0x7F, 2
                if size >= 126:
                    start = 4 if size == 126 else 10
                    size = int.from_bytes(pending[2:start], "big")
                if len(pending) < start + size:
                    break
                if pending[0] & 0x0F == 9 and size < 126:
                    mask = os.urandom(4)
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(pending[start:start + size]))
                    with contextlib.suppress(OSError):
                        key.fileobj.send(bytes([0x8A, 0x80 | size]) + mask + payload)
                del pending[:start + size]


class Drain:
    """Reads what the server sends on the live sockets in a forked process, as browsers read in their own.

    In this process its reads would take the interpreter from the senders and slow the measurement itself."""

    def __init__(self, socks: list[socket.socket]):
        context = multiprocessing.get_context("fork")
        self.closed = context.Value("i", 0)  # sockets the server closed while they were read
        self.process = context.Process(target=drain, args=(socks, self.closed), daemon=True)
        self.process.start()

    def stop(self) -> None:
        """Stop reading."""
        self.process.terminate()
        self.process.join()


def send_steadily(base: str, rate: float, seconds: float, senders: int = 4) -> tuple[list[float], int]:
    """Send single page views at `rate` per second for `seconds`; return each one's latency (s) and the errors."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter()
    total = int(rate * seconds)
    counter = iter(range(total))

    def worker() -> None:
        nonlocal errors
        session = requests.Session()
        for i in counter:
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            began = time.perf_counter()
            try:
                ok = session.get(f"{base}/i", params={"e": "pv", "p": "web", "tv": "bench-1", "aid": "bench",
                                                      "eid": str(uuid.uuid4())}, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            # From when it was due: a request that had to wait for a sender counts its wait too.
            with lock:
                latencies.append(time.perf_counter() - min(due, began))
                errors += not ok

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies), errors


def thread_count(pid: int) -> int:
    """Return how many threads a process has (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def percentile(values: list[float], q: float) -> float:
    """Return the q-quantile of sorted values, in milliseconds."""
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def main() -> None:
    """Open the connections, measure, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--websockets", type=int, default=500)
    parser.add_argument("--waits", type=int, default=200)
    parser.add_argument("--slowloris", type=int, default=80)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second sent meanwhile")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--not-reading", action="store_true", help="websocket clients never read")
    parser.add_argument("--threads", type=int, default=None, help="the server's --threads (its default if unset)")
    parser.add_argument("--write", help="append the results to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--threads", str(args.threads)] if args.threads else []
        proc, base = start_server(os.path.join(tmp, "bench.db"), extra)
        logged: list[str] = []  # read what the server logs, or a full pipe would block it
        threading.Thread(target=logged.extend, args=(proc.stdout,), daemon=True).start()
        port = int(base.rsplit(":", 1)[1])
        try:
            rss_start = rss_mib(proc.pid)
            threads_start = thread_count(proc.pid)
            quiet, _ = send_steadily(base, args.rate, min(5.0, args.seconds))  # nothing held: the baseline
            # Clients connect from now on (as the UI does with its cursor), not replaying the baseline's events.
            last = requests.get(f"{base}/api/events?limit=1", timeout=60).json()["last_id"]
            sockets = [handshake(port, f"/ws?since={last}", args.not_reading) for _ in range(args.websockets)]
            live = [s for s in sockets if s is not None]
            drain = None if args.not_reading else Drain(live)
            waits = [hold_wait(port) for _ in range(args.waits)]
            slow = [slow_sender(port) for _ in range(args.slowloris)]
            time.sleep(1.0)
            held_at, cpu_at = time.perf_counter(), cpu_seconds(proc.pid)
            latencies, errors = send_steadily(base, args.rate, args.seconds)
            cpu_held = cpu_seconds(proc.pid) - cpu_at
            health = time.perf_counter()
            healthy = requests.get(f"{base}/health", timeout=30).status_code
            health_ms = (time.perf_counter() - health) * 1000
            rss_peak = rss_mib(proc.pid)
            threads_held = thread_count(proc.pid)
            waits_refused = 0
            for sock in waits:
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):  # still held, as it should be
                    waits_refused += sock.recv(64).startswith(b"HTTP/1.1 503")
            elapsed = time.perf_counter() - held_at
            dropped = drain.closed.value if drain else 0  # websockets the server closed while they were read
            if drain:
                drain.stop()
            for sock in [*live, *waits, *slow]:
                sock.close()
            time.sleep(2.0)
            rss_end = rss_mib(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                print("the server did not stop within 60 s of SIGTERM", file=sys.stderr)
    mode = "not reading" if args.not_reading else "reading"
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, server threads "
             f"{args.threads or 'default'}; {args.rate:.0f} single-event GETs/s for {args.seconds:.0f} s "
             f"({elapsed:.0f} s held)", "",
             "| websockets accepted (clients; closed by the server while held) | waits held (refused) | slow senders "
             "| collector p50 / p99 / max ms "
             "| p99 with nothing held ms | errors | /health | RSS start / peak / end MiB | server threads start / held "
             "| server CPU s held | load avg |",
             "|---|---|---:|---|---:|---:|---|---|---|---:|---:|",
             f"| {len(live)} of {args.websockets} ({mode}; {dropped} closed) "
             f"| {args.waits - waits_refused} of {args.waits} "
             f"({waits_refused}) | {args.slowloris} | {percentile(latencies, 0.5):.1f} / "
             f"{percentile(latencies, 0.99):.1f} / {percentile(latencies, 1.0):.0f} | {percentile(quiet, 0.99):.1f} "
             f"| {errors} of {len(latencies)} | {healthy} in {health_ms:.0f} ms | {rss_start:.0f} / {rss_peak:.0f} / "
             f"{rss_end:.0f} | {threads_start} / {threads_held} | {cpu_held:.1f} | {os.getloadavg()[0]:.1f} |", ""]
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(args.write, "a", encoding="utf-8") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
