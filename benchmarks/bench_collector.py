"""Load-test the collector's hot path from another process and record throughput, latency and memory.

Run: python benchmarks/bench_collector.py [--requests 20000] [--concurrency 8] [--write BENCHMARKS.md]
     python benchmarks/bench_collector.py --hot [--rounds 3] [--requests 3000]   (issue 15's two ratios)
(Run it from outside the checkout with PYTHONPATH=<a checkout> to load that version, e.g. an older one.)
It starts `micro-dashboard serve` on a free port with a temporary database, sends bounded traffic to 127.0.0.1
only, stops the server, and prints (or writes) a table of numbers. --hot also starts baseline_app.py and reports,
round by round (interleaved), /health req/s against real browser page views over GET /i counted until visible
through the API, and POST tp2 events made visible per second against the bare-insert app's req/s x 10.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests

PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
GITLAB_CONTEXT = {
    "schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",
    "data": [{"schema": "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8",
              "data": {"environment": "development", "project_id": 7, "namespace_id": 3, "source": "bench"}}],
}


def start_server(db: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    """Start the dashboard as a separate process and return it with its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", db, "--no-default-registries",
         *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        match = re.search(r"collector\s+(http://\S+)", line)
        if match:
            return proc, match.group(1)
    raise RuntimeError("the dashboard did not start")


def rss_mib(pid: int) -> float:
    """Return a process's resident memory in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get_request(session: requests.Session, base: str, i: int) -> requests.Response:
    """Send one page view over GET /i."""
    return session.get(f"{base}/i", params={"e": "pv", "p": "web", "tv": "bench-1", "aid": "bench",
                                            "eid": str(uuid.uuid4()), "url": f"https://example.com/p/{i}",
                                            "dtm": str(int(time.time() * 1000))})


def post_batch(size: int) -> Callable[[requests.Session, str, int], requests.Response]:
    """Return a sender of POST tp2 batches of `size` structured events with a GitLab context."""
    context = json.dumps(GITLAB_CONTEXT)

    def send(session: requests.Session, base: str, i: int) -> requests.Response:
        events = [{"e": "se", "p": "srv", "tv": "bench-1", "aid": "bench", "eid": str(uuid.uuid4()),
                   "se_ca": "bench", "se_ac": f"action_{i % 10}", "se_va": str(n), "co": context,
                   "dtm": str(int(time.time() * 1000))} for n in range(size)]
        return session.post(f"{base}/com.snowplowanalytics.snowplow/tp2",
                            json={"schema": PAYLOAD_DATA, "data": events})

    return send


def wait_visible(base: str) -> None:
    """Return once every acknowledged request is decoded and visible through the API (reads wait for that)."""
    while "X-Micro-Dashboard-Behind" in requests.get(f"{base}/micro/all", timeout=60).headers:
        pass


def wait_idle(pid: int, quiet_cpu: float = 0.02, window: float = 0.5) -> None:
    """Return once the server used less than `quiet_cpu` seconds of CPU in `window` seconds: work left from the
    last measurement (the free-text indexer catching up, store/free_text.py) must not slow down the next one."""
    while True:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < quiet_cpu:
            return


def push_latency(base: str, events: int = 500, rate: float = 100.0) -> dict[str, float]:
    """Send single events at `rate` per second; return how long each took to reach a websocket client (ms)."""
    import simple_websocket

    last = requests.get(f"{base}/api/events?limit=1", timeout=60).json()["last_id"]
    ws = simple_websocket.Client.connect(base.replace("http://", "ws://") + f"/ws?since={last}&app_id=push")
    ws.receive(timeout=10)  # hello
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}

    def listen() -> None:
        while len(arrived) < events:
            message = ws.receive(timeout=10)
            if message is None:
                return
            envelope = json.loads(message)
            if envelope["type"] == "event":
                arrived[envelope["data"]["event_id"]] = time.perf_counter()

    listener = threading.Thread(target=listen)
    listener.start()
    session = requests.Session()
    for _ in range(events):
        eid = str(uuid.uuid4())
        sent[eid] = time.perf_counter()
        session.get(f"{base}/i", params={"e": "pv", "p": "web", "tv": "bench-1", "aid": "push", "eid": eid})
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - sent[eid])))
    listener.join(timeout=30)
    ws.close()
    latencies = sorted((arrived[e] - sent[e]) * 1000 for e in sent if e in arrived)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"received": len(latencies), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


def run(base: str, send: Callable, total: int, concurrency: int) -> dict[str, float]:
    """Send `total` requests from `concurrency` threads; return throughput and latency percentiles."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        nonlocal errors
        session = requests.Session()
        mine, bad = [], 0
        for i in counter:
            start = time.perf_counter()
            if send(session, base, i).status_code != 200:
                bad += 1
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    wait_visible(base)  # the pipeline may still be decoding: a request counts once its events can be read
    visible = time.perf_counter() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": total, "seconds": elapsed, "rps": total / elapsed, "visible_rps": total / visible,
            "p50_ms": pick(0.50),
            "p95_ms": pick(0.95), "p99_ms": pick(0.99), "mean_ms": statistics.fmean(latencies) * 1000,
            "errors": errors}


BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
                  "Safari/537.36",
    "Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9", "Accept-Encoding": "gzip, deflate, br",
    "Referer": "https://shop.example.com/checkout?step=2", "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Site": "cross-site", "Cookie": "sp=6c1f8a8e-2d2b-4a8e-9a57-3c1d3d6c2b11; _ga=GA1.1.123.456",
}


def browser_page_view(i: int) -> str:
    """Return the path and query of a page view as @snowplow/browser-tracker sends it: 24 parameters, web_page."""
    web_page = {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
                "data": [{"schema": "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
                          "data": {"id": str(uuid.uuid4())}}]}
    now = str(int(time.time() * 1000))
    params = {"e": "pv", "url": f"https://shop.example.com/checkout?step={i % 5}", "page": "Checkout page",
              "refr": "https://shop.example.com/cart", "eid": str(uuid.uuid4()), "tv": "js-4.1.0",
              "tna": "sp", "aid": "bench-shop", "p": "web", "cookie": "1", "cs": "UTF-8", "lang": "en-GB",
              "res": "1920x1080", "cd": "24", "tz": "Europe/London", "dtm": now, "vp": "1280x720",
              "ds": "1280x3012", "vid": "3", "sid": str(uuid.uuid4()),
              "duid": "d6b5c1f0-1f3c-4d7e-9a4c-5b2f8e9c1a77", "stm": now,
              "uid": "shopper-42",
              "cx": base64.urlsafe_b64encode(json.dumps(web_page).encode()).decode().rstrip("=")}
    return "/i?" + urlencode(params)


def tp2_body(i: int, size: int = 10) -> bytes:
    """Return a tp2 JSON body of `size` structured events, each with a gitlab_standard context."""
    context = json.dumps(GITLAB_CONTEXT)
    events = [{"e": "se", "p": "srv", "tv": "bench-1", "aid": "bench", "eid": str(uuid.uuid4()), "se_ca": "bench",
               "se_ac": f"action_{i % 10}", "se_va": str(n), "co": context, "dtm": str(int(time.time() * 1000))}
              for n in range(size)]
    return json.dumps({"schema": PAYLOAD_DATA, "data": events}).encode()


def blast(base: str, requests_: list[tuple[str, str, bytes | None, dict]], concurrency: int) -> float:
    """Send prepared requests over `concurrency` keep-alive connections (http.client: a light client, so the
    server gets the cores); return the seconds taken. Any answer but 200 stops the benchmark."""
    host = urlsplit(base)
    counter = iter(range(len(requests_)))
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        for i in counter:
            method, target, body, headers = requests_[i]
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"{method} {target[:40]}: {response.status}")
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
    return time.perf_counter() - began


def start_baseline(db: str) -> tuple[subprocess.Popen, str]:
    """Start benchmarks/baseline_app.py (the bare-insert app) and return it with its base URL."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("baseline_app.py")), "--db", db],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if line.startswith("listening "):
            return proc, line.split()[1]
    raise RuntimeError("the baseline app did not start")


def hot_round(base: str, pid: int, baseline: str, n: int, concurrency: int) -> dict[str, float]:
    """One round of the four measurements, back to back, on the same servers."""
    tp2 = "/com.snowplowanalytics.snowplow/tp2"
    json_headers = {"Content-Type": "application/json"}
    health = [("GET", "/health", None, {})] * n
    views = [("GET", browser_page_view(i), None, BROWSER_HEADERS) for i in range(n)]
    batches = [("POST", tp2, tp2_body(i), json_headers) for i in range(n // 10)]
    bare = [("POST", tp2, tp2_body(i), json_headers) for i in range(n // 10)]
    result: dict[str, float] = {}
    wait_idle(pid)
    result["health_rps"] = n / blast(base, health, concurrency)
    wait_idle(pid)
    cpu = cpu_seconds(pid)
    began = time.perf_counter()
    blast(base, views, concurrency)
    wait_visible(base)
    result["get_visible_rps"] = n / (time.perf_counter() - began)
    result["get_cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / n
    result["get_ratio"] = result["get_visible_rps"] / result["health_rps"]
    wait_idle(pid)
    cpu = cpu_seconds(pid)
    began = time.perf_counter()
    blast(base, batches, concurrency)
    wait_visible(base)
    result["tp2_events_visible_s"] = len(batches) * 10 / (time.perf_counter() - began)
    result["tp2_cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / len(batches)
    result["baseline_rps_x10"] = len(bare) * 10 / blast(baseline, bare, concurrency)
    result["tp2_ratio"] = result["tp2_events_visible_s"] / result["baseline_rps_x10"]
    return result


def hot(args: argparse.Namespace) -> str:
    """Measure issue 15's two ratios over interleaved rounds; return a Markdown table, one row a round."""
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        shared = Path(__file__).resolve().parents[2] / "shared"  # web_page is in Iglu Central, gitlab_standard not
        extra = [arg for name in ("iglu-central", "iglu-gitlab") if (shared / name).is_dir()
                 for arg in ("--iglu-dir", str(shared / name))]
        if args.threads:
            extra += ["--threads", str(args.threads)]
        proc, base = start_server(os.path.join(tmp, "bench.db"), extra)
        baseline_proc, baseline = start_baseline(os.path.join(tmp, "baseline.db"))
        try:
            hot_round(base, proc.pid, baseline, 200, args.concurrency)  # warm up connections and caches
            for _ in range(args.rounds):
                rounds.append(hot_round(base, proc.pid, baseline, args.requests, args.concurrency))
        finally:
            for p in (proc, baseline_proc):
                p.terminate()
                p.wait(timeout=20)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    threads = f"--threads {args.threads}" if args.threads else "default threads"
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average "
             f"after {load}, concurrency {args.concurrency}, {threads}, {args.requests} GET /i and "
             f"{args.requests // 10} POST tp2 x 10 events a round", "",
             "| round | /health req/s | GET /i visible req/s | GET CPU ms/req | ratio (>= 0.6) | tp2 events visible/s "
             "| tp2 CPU ms/req | baseline req/s x 10 | ratio (>= 0.3) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(rounds, 1):
        lines.append(f"| {i} | {r['health_rps']:.0f} | {r['get_visible_rps']:.0f} | {r['get_cpu_ms']:.2f} | "
                     f"{r['get_ratio']:.2f} | {r['tp2_events_visible_s']:.0f} | {r['tp2_cpu_ms']:.2f} | "
                     f"{r['baseline_rps_x10']:.0f} | {r['tp2_ratio']:.2f} |")
    median = lambda key: statistics.median(r[key] for r in rounds)  # noqa: E731
    lines += ["", f"Medians: GET /i ratio {median('get_ratio'):.2f}, tp2 ratio {median('tp2_ratio'):.2f}.", ""]
    return "\n".join(lines)


def main() -> None:
    """Run the scenarios and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--write", help="append the results to this Markdown file")
    parser.add_argument("--hot", action="store_true", help="measure issue 15's two ratios instead")
    parser.add_argument("--rounds", type=int, default=3, help="with --hot: interleaved rounds")
    parser.add_argument("--threads", type=int, default=0, help="with --hot: the server's --threads")
    args = parser.parse_args()
    if args.hot:
        text = hot(args)
        print(text)
        if args.write:
            with open(args.write, "a") as f:
                f.write(text + "\n")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        iglu = Path(__file__).resolve().parents[2] / "shared" / "iglu-gitlab"
        extra = ["--iglu-dir", str(iglu)] if iglu.is_dir() else []
        proc, base = start_server(os.path.join(tmp, "bench.db"), extra)
        try:
            rss_start = rss_mib(proc.pid)
            scenarios = [("GET /i page view", get_request, args.requests),
                         ("POST tp2, 1 event + gitlab_standard", post_batch(1), args.requests),
                         ("POST tp2, 10 events + gitlab_standard", post_batch(10), args.requests // 10)]
            for name, send, total in scenarios:
                run(base, send, min(200, total), args.concurrency)  # warm up connections and caches
                cpu_before = cpu_seconds(proc.pid)
                result = run(base, send, total, args.concurrency)
                result["server_cpu_ms"] = (cpu_seconds(proc.pid) - cpu_before) * 1000 / total
                result["rss_mib"] = rss_mib(proc.pid)
                rows.append((name, result))
            push = push_latency(base)
            stored = requests.get(f"{base}/micro/all").json()
            wait_start = time.perf_counter()
            requests.get(f"{base}/api/wait", params={"count": 1, "timeout": 5, "app_id": "bench"})
            wait_ms = (time.perf_counter() - wait_start) * 1000
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        db_mib = os.path.getsize(os.path.join(tmp, "bench.db")) / 2**20
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
             f"concurrency {args.concurrency}, server RSS at start {rss_start:.0f} MiB", "",
             "| scenario | requests | req/s acknowledged | events/s visible | p50 ms | p95 ms | p99 ms "
             "| server CPU ms/req | errors | RSS after MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        per = 10 if "10 events" in name else 1
        lines.append(f"| {name} | {r['requests']} | {r['rps']:.0f} | {r['visible_rps'] * per:.0f} | "
                     f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['server_cpu_ms']:.2f} | "
                     f"{r['errors']} | {r['rss_mib']:.0f} |")
    lines += ["", f"Stored: {stored['total']} rows ({stored['good']} good, {stored['bad']} bad); database file "
              f"{db_mib:.0f} MiB; `/api/wait` for an event already there answered in {wait_ms:.1f} ms.",
              f"Push latency, {push['received']} single page views at 100/s to one websocket client: "
              f"p50 {push['p50_ms']:.1f} ms, p95 {push['p95_ms']:.1f} ms, p99 {push['p99_ms']:.1f} ms "
              "(from the tracker's send to the envelope's arrival).", ""]
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(args.write, "a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
