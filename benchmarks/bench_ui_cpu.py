"""Measure what the UI, left open on a big database while events arrive, costs the server in CPU.

Run: python benchmarks/bench_ui_cpu.py --db /work/bench/200k.db [--db /work/bench/1m.db] [--rate 10] [--seconds 60]

For each database it copies the file (the original is never opened), starts `micro-dashboard serve` on the copy as a
separate process, and sends `--rate` events per second (page views and structured events, one request each, from
the Snowplow Python tracker) for `--seconds`, three times: with no page open, with the UI open in Chromium
(Playwright, /usr/bin/chromium; measured from a few seconds after the page went live, so the first page's reads do
not count), and with no page again. The server's CPU (user + system, from /proc/<pid>/stat) over each window is
divided by its length; the UI's cost is the UI window's minus the mean of the two others (each window starts once
the server is idle: a big database's start-up work, e.g. its background quick_check, is not counted). Every
request the page makes during its window is counted by path.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlsplit

import requests
from playwright.sync_api import sync_playwright
from snowplow_tracker import Emitter, PageView, StructuredEvent, Tracker

CHROMIUM = os.environ.get("MICRO_DASHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 5.0  # after the page went live, before measuring: its first reads are not the steady state


def cpu_seconds(pid: int) -> float:
    """Return a process's user + system CPU seconds so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start_server(db: str) -> tuple[subprocess.Popen, str]:
    """Start the dashboard on `db` as a separate process; return it and its base URL once /health answers."""
    # No retention: a benchmark database over the default limits (500,000 events, 1 GiB) keeps every event.
    proc = subprocess.Popen([sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", db,
                             "--no-default-registries", "--max-events", "0", "--max-bytes", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        match = re.search(r"collector\s+(http://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, match.group(1)
    raise RuntimeError("the dashboard did not start")


def send_for(base: str, rate: float, seconds: float) -> int:
    """Send `rate` events per second for `seconds` (on schedule, one request each); return how many were sent."""
    tracker = Tracker("bench-ui-cpu", emitters=Emitter(base, method="post", batch_size=1, request_timeout=10,
                                                       session=requests.Session()), app_id="bench-ui-cpu")
    start = time.perf_counter()
    sent = 0
    while sent < rate * seconds:
        time.sleep(max(0.0, start + sent / rate - time.perf_counter()))
        if sent % 2:
            tracker.track(PageView(page_url=f"https://example.com/cpu/{sent}", page_title="cpu"))
        else:
            tracker.track(StructuredEvent(category="bench", action="cpu", label=f"cpu-{uuid.uuid4().hex[:8]}"))
        sent += 1
    return sent


def wait_idle(pid: int, cores: float = 0.05, limit: float = 600.0) -> None:
    """Return once the server spent under `cores` over two seconds (start-up work on a big database is done)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = cpu_seconds(pid)
        time.sleep(2)
        if (cpu_seconds(pid) - before) / 2 < cores:
            return
    raise RuntimeError(f"the server never went idle within {limit:g} s")


def measured(pid: int, base: str, rate: float, seconds: float, page=None) -> float:
    """Send for the window and return the server's CPU cores over it.

    The sends run on a thread: with a page open, this thread keeps Playwright's event loop turning meanwhile."""
    before, started = cpu_seconds(pid), time.perf_counter()
    sender = threading.Thread(target=send_for, args=(base, rate, seconds))
    sender.start()
    while sender.is_alive():
        if page is not None:
            page.wait_for_timeout(200)
        else:
            sender.join(0.2)
    return (cpu_seconds(pid) - before) / (time.perf_counter() - started)


def with_ui(pid: int, base: str, rate: float, seconds: float) -> tuple[float, collections.Counter, float]:
    """Open the UI, let it settle, then measure; return the cores, the page's requests by path, and load time (s)."""
    requested: collections.Counter = collections.Counter()
    counting = False

    def count(request) -> None:
        if counting:
            requested[f"{request.method} {urlsplit(request.url).path}"] += 1

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 860})
        page.on("request", count)
        opened = time.perf_counter()
        page.goto(base + "/")
        page.wait_for_selector('#connection[data-state="live"]', timeout=120_000)
        page.wait_for_selector("#list .row[data-id]", timeout=120_000)
        loaded = time.perf_counter() - opened
        time.sleep(SETTLE_SECONDS)
        counting = True
        cores = measured(pid, base, rate, seconds, page)
        counting = False
        browser.close()
    return cores, requested, loaded


def main() -> None:
    """Measure each database and print the results as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", required=True, help="database to copy and serve (repeatable)")
    parser.add_argument("--rate", type=float, default=10.0, help="events sent per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each measured window")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the tracker logs every send
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| database | stored | no page (before, after), cores | UI open, cores | UI's cost, cores | page load s |")
    print("|---|---:|---:|---:|---:|---:|")
    details = []
    for source in args.db:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            db = os.path.join(tmp, "events.db")
            shutil.copyfile(source, db)
            proc, base = start_server(db)
            try:
                stored = requests.get(f"{base}/micro/all", timeout=600).json()["total"]
                wait_idle(proc.pid)
                quiet = [measured(proc.pid, base, args.rate, args.seconds)]
                wait_idle(proc.pid)
                open_ui, requested, loaded = with_ui(proc.pid, base, args.rate, args.seconds)
                wait_idle(proc.pid)
                quiet.append(measured(proc.pid, base, args.rate, args.seconds))
            finally:
                proc.terminate()
                proc.wait(30)
        baseline = sum(quiet) / len(quiet)
        print(f"| {os.path.basename(source)} | {stored:,} | {quiet[0]:.3f}, {quiet[1]:.3f} | {open_ui:.3f} "
              f"| **{open_ui - baseline:.3f}** | {loaded:.1f} |", flush=True)
        details.append((source, requested))
    for source, requested in details:
        print(f"\nRequests the page made in the {args.seconds:g} s window ({os.path.basename(source)}): "
              + (", ".join(f"{path} ×{n}" for path, n in requested.most_common()) or "none"))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
