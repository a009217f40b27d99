"""Measure push latency: from an event's send to its arrival at each of several websocket clients.

Run: python benchmarks/bench_push.py [--clients 5] [--rate 100] [--events 1500] [--url URL]

It starts `micro-dashboard serve` with a temporary database (or uses --url), connects `--clients` /ws clients, each
in its own process (so one client's parsing never delays another's), then sends single page views over plain HTTP
(`GET /i`, a kept-alive connection) at `--rate` per second. Latency is from just before the send to the moment a
client has read the event's envelope; every (client, event) pair counts. The processes share the machine's
monotonic clock.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import requests

APP_ID = "push"


@contextmanager
def dashboard_process() -> Iterator[str]:
    """Run `micro-dashboard serve` on a free port with a temporary database; yield its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen([sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db",
                                    os.path.join(tmp, "events.db"), "--no-default-registries"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for line in process.stdout:
                found = re.search(r"collector\s+(http://\S+)", line)
                if found:
                    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
                    yield found.group(1)
                    return
            raise RuntimeError("the dashboard did not start")
        finally:
            process.terminate()
            process.wait(15)


def listen(base: str, since: int, expected: int, ready: multiprocessing.Event, out: multiprocessing.Queue) -> None:
    """Read events from /ws until `expected` arrived (or 10 s pass without one); report each arrival time."""
    import simple_websocket

    ws = simple_websocket.Client.connect(base.replace("http://", "ws://") + f"/ws?since={since}&app_id={APP_ID}")
    ws.receive(timeout=10)  # hello
    ready.set()
    arrived: dict[str, float] = {}
    while len(arrived) < expected:
        message = ws.receive(timeout=10)
        if message is None:
            break
        now = time.perf_counter()
        envelope = json.loads(message)
        if envelope["type"] == "event":
            arrived.setdefault(envelope["data"]["event_id"], now)
    ws.close()
    out.put(arrived)


def measure(base: str, clients: int, rate: float, events: int) -> dict[str, float]:
    """Return latency percentiles over every (client, event) pair, in ms."""
    since = requests.get(f"{base}/api/events", params={"limit": 1}, timeout=60).json()["last_id"]
    out: multiprocessing.Queue = multiprocessing.Queue()
    readies = [multiprocessing.Event() for _ in range(clients)]
    listeners = [multiprocessing.Process(target=listen, args=(base, since, events, ready, out)) for ready in readies]
    for process in listeners:
        process.start()
    for ready in readies:
        ready.wait(30)
    session = requests.Session()
    sent: dict[str, float] = {}
    answered: list[float] = []
    start = time.perf_counter()
    for i in range(events):
        eid = str(uuid.uuid4())
        # Sends keep to the schedule: a late one does not push back the rest.
        time.sleep(max(0.0, start + i / rate - time.perf_counter()))
        sent[eid] = time.perf_counter()
        session.get(f"{base}/i", params={"e": "pv", "p": "web", "tv": "bench-1", "aid": APP_ID, "eid": eid,
                                         "url": f"https://example.com/p/{i}"}, timeout=30).raise_for_status()
        answered.append((time.perf_counter() - sent[eid]) * 1000)
    arrivals = [out.get(timeout=60) for _ in listeners]
    for process in listeners:
        process.join(30)
    latencies = sorted((arrived[e] - sent[e]) * 1000 for arrived in arrivals for e in sent if e in arrived)
    missing = clients * events - len(latencies)
    per_client = [sum(e in arrived for e in sent) for arrived in arrivals]
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"deliveries": len(latencies), "missing": missing, "per_client": per_client, "p50": pick(0.5),
            "p95": pick(0.95), "p99": pick(0.99), "max": latencies[-1], "send_p50": statistics.median(answered),
            "achieved_rate": events / (time.perf_counter() - start)}


def main() -> None:
    """Print one Markdown row of push latency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100.0, help="events sent per second")
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--url", help="a running dashboard (default: start one with a temporary database)")
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.url:
        result = measure(args.url.rstrip("/"), args.clients, args.rate, args.events)
    else:
        with dashboard_process() as base:
            result = measure(base, args.clients, args.rate, args.events)
    print("| clients | events/s (achieved) | deliveries | p50 ms | p95 ms | p99 ms | max ms | sender's 200 p50 ms "
          "| load average at start |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {args.clients} | {args.rate:g} ({result['achieved_rate']:.0f}) | {result['deliveries']}"
          f"{' (' + str(result['missing']) + ' missing)' if result['missing'] else ''} | {result['p50']:.1f} "
          f"| {result['p95']:.1f} | {result['p99']:.1f} | {result['max']:.1f} | {result['send_p50']:.1f} | {load} |")
    if result["missing"]:
        print(f"events each client received: {result['per_client']}")


if __name__ == "__main__":
    main()
