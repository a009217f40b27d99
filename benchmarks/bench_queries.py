"""Time the API's reads on seeded databases (see seed.py): p50 and p95 of each, in-process through Flask.

Run: python benchmarks/bench_queries.py --db /tmp/1m.db [--db /tmp/10k.db] [--runs 20]
The databases are opened as they are (a copy is not made): run it on seeded files you can throw away. The first
open migrates an older file (timed as "first open"). With two databases, the last column is the ratio of their p50s
(first / second). Start-up is timed cold when the page cache can be dropped (root on Linux), warm otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import requests

QUERIES = [
    ("promoted column", "/api/events?app_id=blog&limit=50"),
    ("promoted column, struct action", "/api/events?se_action=create_ci_runner&limit=50"),
    ("search app:shop is:invalid", "/api/events?search=app:shop%20is:invalid&limit=50"),
    ("search is:unverified", "/api/events?search=is:unverified&limit=50"),
    ("search schema:link_click", "/api/events?search=schema:link_click&limit=50"),
    ("entity field equality", "/api/events?gitlab_standard.project_id=7&limit=50"),
    ("entity field __in", "/api/events?gitlab_standard.project_id__in=7,8,9&limit=50"),
    ("entity field, search project_id:7", "/api/events?search=project_id:7&limit=50"),
    ("entity field, nested extra.theme=dark", "/api/events?gitlab_standard.extra.theme=dark&limit=50"),
    ("entity field __contains", "/api/events?link_click.targetUrl__contains=docs.example/42&limit=50"),
    ("entity field __contains, text in every URL", "/api/events?link_click.targetUrl__contains=example&limit=50"),
    ("has:link_click", "/api/events?search=has:link_click&limit=50"),
    ("free text", "/api/events?q=Product%20421&limit=50"),
    ("/api/events?limit=50", "/api/events?limit=50"),
    ("/api/stats", "/api/stats"),
    ("/micro/all", "/micro/all"),
    ("POST /micro/good {limit: 10}", "/micro/good"),
    ("POST /micro/bad {limit: 10}", "/micro/bad"),
]
POST_BODIES = {"/micro/good": {"limit": 10}, "/micro/bad": {"limit": 10}}
# Retention off: a 1 M file is over the default bounds, and a write (a re-validation) would prune it.
UNBOUNDED = {"max_events": 0, "max_bytes": 0}


def drop_page_cache() -> bool:
    """Drop the kernel's page cache (a cold start), if this process may; return whether it did."""
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def checked(store) -> None:
    """Wait for the background quick_check of a large file to end, so that it does not share the disk with the
    timed reads (a dashboard in use finished it minutes ago)."""
    while "running" in store.integrity:
        time.sleep(0.5)


def first_open_seconds(db: str) -> float:
    """Return the seconds the first open of `db` takes (it migrates an older file)."""
    from micro_dashboard.store import Store

    start = time.perf_counter()
    store = Store(db)
    took = time.perf_counter() - start
    checked(store)
    store.close()
    return took


def time_queries(db: str, runs: int) -> dict[str, tuple[float, float]]:
    """Return p50 and p95 milliseconds of each query against `db`."""
    from micro_dashboard.app import create_app

    app = create_app({"db": db, "iglu_defaults": False, **UNBOUNDED})
    client = app.test_client()
    checked(app.config["STORE"])
    out = {}
    try:
        for name, path in QUERIES:
            body = POST_BODIES.get(path)
            ask = (lambda p=path, b=body: client.post(p, json=b)) if body else (lambda p=path: client.get(p))
            ask()  # warm the page cache and the statement cache, as a dashboard in use has
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                assert ask().status_code == 200, path
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            out[name] = (statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))])
    finally:
        app.config["STORE"].close()
    return out


def startup_seconds(db: str) -> tuple[float, bool]:
    """Return the seconds from starting `micro-dashboard serve` on `db` to its first /health answer, and whether
    the page cache was dropped first."""
    cold = drop_page_cache()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", db,
                             "--no-default-registries", "--max-events", "0", "--max-bytes", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "collector" in line and "http://" in line:
                url = line.split("http://", 1)[1].split()[0]
                requests.get(f"http://{url}/health", timeout=60)
                return time.perf_counter() - start, cold
        raise RuntimeError("the dashboard did not start")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    """Print a Markdown table: one column pair per database, and the p50 ratio of the first two."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    opens = {db: first_open_seconds(db) for db in args.db}
    results = {db: time_queries(db, args.runs) for db in args.db}
    starts = {db: startup_seconds(db) for db in args.db}
    names = [os.path.basename(db) for db in args.db]
    ratio = len(args.db) == 2
    print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {args.runs} runs")
    print("| query | " + " | ".join(f"{n} p50 ms | {n} p95 ms" for n in names)
          + (f" | {names[0]} / {names[1]} (p50) |" if ratio else " |"))
    print("|---|" + "---:|---:|" * len(names) + ("---:|" if ratio else ""))
    for name, _path in QUERIES:
        cells = " | ".join(f"{results[db][name][0]:.1f} | {results[db][name][1]:.1f}" for db in args.db)
        share = results[args.db[0]][name][0] / max(results[args.db[1]][name][0], 1e-9) if ratio else None
        print(f"| {name} | {cells} |" + (f" {share:.1f} |" if ratio else ""))
    tail = " |" if ratio else ""
    print("| first open (migration), s | " + " | ".join(f"{opens[db]:.2f} | " for db in args.db) + tail)
    print("| start-up to /health, s | " + " | ".join(
        f"{starts[db][0]:.2f} ({'cold' if starts[db][1] else 'warm'}) | " for db in args.db) + tail)


if __name__ == "__main__":
    main()
