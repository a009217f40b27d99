"""Figures for RELIABILITY.md: acknowledged events survive `kill -9`, and what synchronous=FULL would cost.

Run: python benchmarks/reliability.py [--rounds 5] [--seconds 3] [--senders 4]
1. Kill loop: a dashboard process on one database, senders POSTing single events (unique event ids) to it,
   `kill -9` after a few seconds, restart, repeat; then a last start decodes what was acknowledged but not yet
   decoded, and every acknowledged event id is looked up. After each kill, SQLite's integrity_check runs.
2. Group commit with synchronous=NORMAL (what the dashboard uses) against FULL (an fsync per commit), measured on
   the store directly from several threads.
Bounded: 127.0.0.1 only, a temporary folder, a few seconds per round.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_collector import PAYLOAD_DATA, rss_mib, start_server  # noqa: E402


def send_until(base: str, stop: threading.Event, acknowledged: list[str], sent: list[str], errors: list[int]) -> None:
    """POST one event at a time until `stop`; keep the ids of those answered 200 (acknowledged)."""
    session = requests.Session()
    while not stop.is_set():
        eid = str(uuid.uuid4())
        sent.append(eid)
        try:
            response = session.post(f"{base}/com.snowplowanalytics.snowplow/tp2", timeout=10, json={
                "schema": PAYLOAD_DATA, "data": [{"e": "pv", "p": "web", "tv": "kill-loop", "eid": eid}]})
        except requests.RequestException:
            continue  # killed mid-request: not acknowledged, so a tracker would send it again
        if response.status_code == 200:
            acknowledged.append(eid)
        elif response.status_code >= 500:
            errors.append(response.status_code)


def kill_loop(rounds: int, seconds: float, senders: int) -> dict[str, object]:
    """Run the kill loop; return the counts."""
    sent: list[str] = []
    acknowledged: list[str] = []
    errors: list[int] = []
    integrity: list[str] = []
    rss: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "kill.db")
        for _ in range(rounds):
            proc, base = start_server(db, [])
            threading.Thread(target=lambda p=proc: [None for _ in p.stdout], daemon=True).start()
            rss.append(rss_mib(proc.pid))
            stop = threading.Event()
            threads = [threading.Thread(target=send_until, args=(base, stop, acknowledged, sent, errors))
                       for _ in range(senders)]
            for t in threads:
                t.start()
            time.sleep(seconds)
            rss.append(rss_mib(proc.pid))
            os.kill(proc.pid, signal.SIGKILL)  # mid-traffic: requests in flight, writes queued, decoding behind
            proc.wait()
            stop.set()
            for t in threads:
                t.join()
            conn = sqlite3.connect(db)
            integrity.append(conn.execute("PRAGMA integrity_check").fetchone()[0])
            conn.close()
        proc, base = start_server(db, [])  # decodes what was acknowledged before the last kill
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        while "X-Micro-Dashboard-Behind" in requests.get(f"{base}/micro/all", timeout=60).headers:
            pass
        rss.append(rss_mib(proc.pid))
        proc.terminate()
        proc.wait(timeout=60)
        conn = sqlite3.connect(db)
        stored = {r[0] for r in conn.execute("SELECT event_id FROM events")}
        raw = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
        conn.close()
    lost = [e for e in acknowledged if e not in stored]
    unacknowledged_stored = len(stored) - (len(acknowledged) - len(lost))
    return {"rounds": rounds, "sent": len(sent), "acknowledged": len(acknowledged), "stored": len(stored),
            "requests": raw, "lost": len(lost), "stored_unacknowledged": unacknowledged_stored,
            "5xx": len(errors), "integrity": sorted(set(integrity)), "rss": rss}


def commit_cost(synchronous: str, writes: int = 3000, threads: int = 8) -> tuple[float, float]:
    """Return writes/s and the mean acknowledgement time (ms) of the store's group commit at this setting."""
    from micro_dashboard.pipeline import RawPayload
    from micro_dashboard.store import Store

    class Tuned(Store):
        def _connect(self) -> sqlite3.Connection:
            conn = super()._connect()
            conn.execute(f"PRAGMA synchronous={synchronous}")
            return conn

    with tempfile.TemporaryDirectory() as tmp:
        store = Tuned(os.path.join(tmp, "sync.db"), max_events=0, max_bytes=0)
        raw = RawPayload(method="GET", path="/i", vendor="com.snowplowanalytics.snowplow", version="tp1",
                         querystring="e=pv&p=web&tv=t", body=None, content_type=None, headers=[], ip="127.0.0.1",
                         useragent="bench", referer=None, hostname="localhost", network_userid=None,
                         timestamp=int(time.time() * 1000))
        times: list[float] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            mine = []
            for _ in range(n):
                began = time.perf_counter()
                store.save_request(raw)
                mine.append(time.perf_counter() - began)
            with lock:
                times.extend(mine)

        began = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(writes // threads,)) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - began
        store.close()
    return len(times) / elapsed, sum(times) / len(times) * 1000


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("kill loop:", kill_loop(args.rounds, args.seconds, args.senders))
    for synchronous in ("NORMAL", "FULL"):
        rate, mean = commit_cost(synchronous)
        print(f"synchronous={synchronous}: {rate:.0f} acknowledged writes/s, mean {mean:.2f} ms (8 threads)")


if __name__ == "__main__":
    main()
