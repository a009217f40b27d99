"""Measure the UI's live delay: from a real tracker's send to its row in the page's DOM, at several database sizes.

Run: python benchmarks/bench_ui_live.py [--stored 10 --stored 10000] [--sends 25] [--gap 0.6]
It starts `micro-dashboard serve` with a temporary database, fills it with page views and structured events through
the collector (tp2 batches), opens the page in Chromium (Playwright, /usr/bin/chromium), then sends one structured
event at a time with the Snowplow Python tracker and times until a row with its label is in the list. The page's
clock and ours are the same machine's wall clock.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import requests
from playwright.sync_api import sync_playwright
from snowplow_tracker import Emitter, StructuredEvent, Tracker

PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
CHROMIUM = os.environ.get("MICRO_DASHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
BATCH = 200  # events per seeding request
# Records when a row carrying a label first appears in the list (the virtual list reuses row elements).
WATCH = """() => {
  window.__seen = {};
  new MutationObserver(() => {
    for (const row of document.querySelectorAll('#list .row[data-id]')) {
      const label = row.textContent.match(/live-[0-9a-f]{8}/);
      if (label && !(label[0] in window.__seen)) window.__seen[label[0]] = Date.now();
    }
  }).observe(document.getElementById('list'), {childList: true, subtree: true, characterData: true});
}"""


def start_server(db: str) -> tuple[subprocess.Popen, str]:
    """Start the dashboard as a separate process and return it with its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", db,
                             "--no-default-registries"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        match = re.search(r"collector\s+(http://\S+)", line)
        if match:
            return proc, match.group(1)
    raise RuntimeError("the dashboard did not start")


def seed(base: str, count: int) -> None:
    """Store `count` events through the collector and wait until the API sees them all."""
    session = requests.Session()
    now = int(time.time() * 1000)
    for start in range(0, count, BATCH):
        events = []
        for i in range(start, min(count, start + BATCH)):
            common = {"p": "web", "tv": "bench-1", "aid": f"app-{i % 5}", "eid": str(uuid.uuid4()),
                      "dtm": str(now - (count - i) * 100)}
            events.append({**common, "e": "pv", "url": f"https://example.com/p/{i}"} if i % 2 else
                          {**common, "e": "se", "se_ca": "seed", "se_ac": f"action_{i % 10}", "se_la": f"l{i}"})
        session.post(f"{base}/com.snowplowanalytics.snowplow/tp2", json={"schema": PAYLOAD_DATA, "data": events},
                     timeout=60).raise_for_status()
    while session.get(f"{base}/api/events", params={"limit": 1}, timeout=60).json()["total"] < count:
        time.sleep(0.2)


def measure(base: str, sends: int, gap: float) -> list[float]:
    """Return the delay of each of `sends` events, from the tracker's send to the row in the DOM (ms)."""
    tracker = Tracker("bench-ui", emitters=Emitter(base, method="post", batch_size=1, request_timeout=10),
                      app_id="bench-ui")
    delays = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 860})
        for blocked in os.environ.get("BENCH_BLOCK", "").split(","):
            if blocked:
                page.route(f"**{blocked}*", lambda route: route.abort())
        page.goto(base + "/")
        page.wait_for_selector('#connection[data-state="live"]', timeout=30000)
        page.evaluate(WATCH)
        time.sleep(2)  # let the first page's reads settle
        for _ in range(sends):
            label = f"live-{uuid.uuid4().hex[:8]}"
            sent = time.time() * 1000
            tracker.track(StructuredEvent(category="bench", action="live", label=label))
            tracker.flush()
            page.wait_for_function("(label) => label in window.__seen", arg=label, timeout=30000)
            delays.append(page.evaluate("(label) => window.__seen[label]", label) - sent)
            time.sleep(gap)
        browser.close()
    return delays


def main() -> None:
    """Measure each database size and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, action="append", help="events stored before measuring (repeatable)")
    parser.add_argument("--sends", type=int, default=25)
    parser.add_argument("--gap", type=float, default=0.6, help="seconds between sends")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the tracker logs every send
    print("| stored events | sends | p50 ms | p90 ms | max ms |")
    print("|---:|---:|---:|---:|---:|")
    for stored in args.stored or [10, 10_000]:
        with tempfile.TemporaryDirectory() as tmp:
            proc, base = start_server(os.path.join(tmp, "events.db"))
            try:
                seed(base, stored)
                delays = sorted(measure(base, args.sends, args.gap))
            finally:
                proc.terminate()
                proc.wait(10)
        p90 = delays[min(len(delays) - 1, int(len(delays) * 0.9))]
        print(f"| {stored:,} | {len(delays)} | {statistics.median(delays):.0f} | {p90:.0f} | {max(delays):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
