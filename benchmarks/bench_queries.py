"""Time the API's reads on a seeded database (see seed.py): p50 and p95 of each, in-process through Flask.

Run: python benchmarks/bench_queries.py --db /tmp/1m.db [--db /tmp/10k.db] [--runs 20]
The databases are opened as they are (a copy is not made): run it on seeded files you can throw away.
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
    ("entity field equality", "/api/events?gitlab_standard.project_id=7&limit=50"),
    ("entity field __in", "/api/events?gitlab_standard.project_id__in=7,8,9&limit=50"),
    ("entity field __contains", "/api/events?link_click.targetUrl__contains=docs.example/42&limit=50"),
    ("free text", "/api/events?q=Product%20421&limit=50"),
    ("search box", "/api/events?search=app:shop%20is:invalid&limit=50"),
    ("/api/events?limit=50", "/api/events?limit=50"),
    ("/api/stats", "/api/stats"),
    ("/micro/all", "/micro/all"),
    ("POST /micro/good {limit: 10}", "/micro/good"),
]
POST_BODIES = {"/micro/good": {"limit": 10}}


def time_queries(db: str, runs: int) -> dict[str, tuple[float, float]]:
    """Return p50 and p95 milliseconds of each query against `db`."""
    from micro_dashboard.app import create_app

    app = create_app({"db": db, "iglu_defaults": False})
    client = app.test_client()
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


def startup_seconds(db: str) -> float:
    """Return the seconds from starting `micro-dashboard serve` on `db` to its first /health answer."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", db,
                             "--no-default-registries"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "collector" in line and "http://" in line:
                url = line.split("http://", 1)[1].split()[0]
                requests.get(f"http://{url}/health", timeout=60)
                return time.perf_counter() - start
        raise RuntimeError("the dashboard did not start")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    """Print a Markdown table: one column pair per database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    results = {db: time_queries(db, args.runs) for db in args.db}
    starts = {db: startup_seconds(db) for db in args.db}
    names = [os.path.basename(db) for db in args.db]
    print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")
    print("| query | " + " | ".join(f"{n} p50 ms | {n} p95 ms" for n in names) + " |")
    print("|---|" + "---:|---:|" * len(names))
    for name, _path in QUERIES:
        cells = " | ".join(f"{results[db][name][0]:.1f} | {results[db][name][1]:.1f}" for db in args.db)
        print(f"| {name} | {cells} |")
    print("| start-up to /health, s | " + " | ".join(f"{starts[db]:.2f} | " for db in args.db) + " |")


if __name__ == "__main__":
    main()
