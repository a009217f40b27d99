"""Measure how smoothly the Events list scrolls while older pages load, against the same scroll over loaded rows.

Run: python benchmarks/bench_ui_scroll.py [--stored 10000] [--rate 6000] [--runs 1] [--trace trace.zip]
It starts `micro-dashboard serve` with a temporary database, fills it through the collector (tp2 batches, as
bench_ui_live.py does), opens the page in Chromium (Playwright, /usr/bin/chromium) and scrolls the list with the
mouse wheel at a steady rate (pixels per second, paced by the wall clock): first from the top to the bottom, so the
list asks for each older page of 500 rows on the way ("loading"), then back up and down again over rows it already
holds ("plain"). A requestAnimationFrame loop in the page records every frame; each pass reports frames per second,
the median and p95 frame time and the longest stall, the page's long tasks (over 50 ms), and how long the list sat
at its last loaded row (the wheel moves nothing there until the next page arrives; a plain pass ends there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ui_live import CHROMIUM, CHROMIUM_ARGS, seed, start_server  # noqa: E402

ROW_HEIGHT = 28  # static/js/list.js
WHEEL_EVERY = 0.016  # seconds between wheel events: about one per frame, as a trackpad sends them
PASS_LIMIT = 240  # seconds: a pass that has not reached its end by then stops (the benchmark always ends)
# Records each frame's time and the page's long tasks into the pass named by window.__pass.
FRAMES = """() => {
  window.__pass = null;
  window.__frames = {};
  window.__long = {};
  window.__atEnd = {};
  const list = document.getElementById('list');
  let last = null;
  const tick = (now) => {
    if (window.__pass) {
      (window.__frames[window.__pass] ||= []).push(now);
      // Time spent pressed against the last loaded row: the wheel moves nothing until the next page arrives.
      const atEnd = list.scrollTop > 0 && list.scrollTop + list.clientHeight >= list.scrollHeight - 1;
      if (atEnd && last !== null) window.__atEnd[window.__pass] = (window.__atEnd[window.__pass] || 0) + now - last;
    }
    last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (window.__pass) (window.__long[window.__pass] ||= []).push(entry.duration);
    }
  }).observe({type: 'longtask'});
}"""


def list_geometry(page) -> dict:
    """The list's scroll position and how many rows it holds (its spacer is one row per event)."""
    return page.evaluate("""(rowHeight) => {
      const list = document.getElementById('list');
      return {top: list.scrollTop, height: list.clientHeight, scroll: list.scrollHeight,
              rows: Math.round(list.querySelector('.spacer').offsetHeight / rowHeight)};
    }""", ROW_HEIGHT)


def scroll_pass(page, name: str, direction: int, rate: float, done) -> dict:
    """Wheel the list in `direction` (+1 down, -1 up) at `rate` px/s until `done(geometry)`; return its frames."""
    page.evaluate("(name) => { window.__pass = name; }", name)
    start = time.monotonic()
    sent = 0.0
    while time.monotonic() - start < PASS_LIMIT:
        due = (time.monotonic() - start) * rate  # paced by the clock, so a slow wheel call does not slow the rate
        if due - sent >= 1:
            page.mouse.wheel(0, direction * (due - sent))
            sent = due
        geometry = list_geometry(page)
        if done(geometry):
            break
        time.sleep(WHEEL_EVERY)
    elapsed = time.monotonic() - start
    page.evaluate("() => { window.__pass = null; }")
    frames = page.evaluate("(name) => window.__frames[name] || []", name)
    longs = page.evaluate("(name) => window.__long[name] || []", name)
    at_end = page.evaluate("(name) => window.__atEnd[name] || 0", name)
    deltas = sorted(b - a for a, b in zip(frames, frames[1:]))
    return {"pass": name, "seconds": elapsed, "rows": list_geometry(page)["rows"],
            "fps": len(deltas) / ((frames[-1] - frames[0]) / 1000) if deltas else 0.0,
            "p50": statistics.median(deltas) if deltas else 0.0,
            "p95": deltas[min(len(deltas) - 1, int(len(deltas) * 0.95))] if deltas else 0.0,
            "max": deltas[-1] if deltas else 0.0, "over50": sum(d > 50 for d in deltas),
            "long_tasks": len(longs), "long_ms": sum(longs), "at_end": at_end}


def measure(base: str, stored: int, rate: float, trace: str | None) -> list[dict]:
    """Scroll down while loading, then up and down over loaded rows; return each pass's numbers."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 860})
        if trace:
            context.tracing.start(screenshots=False, snapshots=False)
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector('#connection[data-state="live"]', timeout=30000)
        page.wait_for_selector("#list .row[data-id]", timeout=30000)
        page.evaluate(FRAMES)
        box = page.locator("#list").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        time.sleep(2)  # let the first page's reads settle

        def at_bottom(g: dict) -> bool:
            return g["top"] + g["height"] >= g["scroll"] - 1

        def at_top(g: dict) -> bool:
            return g["top"] <= 0

        results = [scroll_pass(page, "loading (down)", 1, rate, lambda g: g["rows"] >= stored and at_bottom(g))]
        results.append(scroll_pass(page, "plain (up)", -1, rate, at_top))
        results.append(scroll_pass(page, "plain (down)", 1, rate, at_bottom))
        if trace:
            context.tracing.stop(path=trace)
        browser.close()
    return results


def main() -> None:
    """Seed, scroll, and print a Markdown table per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=10_000, help="events stored before scrolling")
    parser.add_argument("--rate", type=float, default=6000, help="scroll speed in pixels per second")
    parser.add_argument("--runs", type=int, default=1, help="times to open the page and scroll (same database)")
    parser.add_argument("--trace", help="write a Playwright trace (with Chrome's performance trace) of the last run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(os.path.join(tmp, "events.db"))
        try:
            seed(base, args.stored)
            for run in range(args.runs):
                load = os.getloadavg()[0]
                results = measure(base, args.stored, args.rate, args.trace if run == args.runs - 1 else None)
                print(f"\nrun {run + 1}: {args.stored:,} stored, {args.rate:.0f} px/s, load average {load:.2f} "
                      f"before, {os.getloadavg()[0]:.2f} after")
                print("| pass | seconds | rows held | fps | p50 frame ms | p95 frame ms | longest ms | frames >50 ms "
                      "| long tasks (ms) | ms at the last row |")
                print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
                for r in results:
                    print(f"| {r['pass']} | {r['seconds']:.1f} | {r['rows']:,} | {r['fps']:.0f} | {r['p50']:.1f} "
                          f"| {r['p95']:.1f} | {r['max']:.0f} | {r['over50']} | {r['long_tasks']} "
                          f"({r['long_ms']:.0f}) | {r['at_end']:.0f} |", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
