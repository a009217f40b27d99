"""Measure the pure pipeline (decode, map, validate) and the store's write path in-process, without HTTP.

Run: python benchmarks/bench_pipeline.py [--events 5000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from micro_dashboard.config import Settings
from micro_dashboard.iglu_setup import build_checker
from micro_dashboard.pipeline import RawPayload, ingest
from micro_dashboard.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared"
CONTEXT = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",
                      "data": [{"schema": "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8",
                                "data": {"environment": "development", "project_id": 7, "namespace_id": 3}}]})


def tp2_request() -> RawPayload:
    """Return a tp2 POST of one structured event with a gitlab_standard context."""
    event = {"e": "se", "p": "srv", "tv": "bench", "aid": "bench", "eid": str(uuid.uuid4()), "se_ca": "c",
             "se_ac": "a", "se_va": "1", "co": CONTEXT, "dtm": str(int(time.time() * 1000))}
    body = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                       "data": [event]}).encode()
    return RawPayload("POST", "/com.snowplowanalytics.snowplow/tp2", "com.snowplowanalytics.snowplow", "tp2", "",
                      body, "application/json", [("Host", "127.0.0.1:9091"), ("User-Agent", "bench")],
                      "127.0.0.1", "bench", None, "127.0.0.1", str(uuid.uuid4()), int(time.time() * 1000),
                      len(body))


def main() -> None:
    """Print microseconds per event for the pipeline alone and for pipeline plus store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    n = parser.parse_args().events
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load({"db": f"{tmp}/bench.db", "iglu_defaults": False,
                                  "iglu_dirs": [str(SHARED / "iglu-gitlab")]})
        store = Store(settings.db)
        checker = build_checker(settings, None)
        requests = [tp2_request() for _ in range(n)]
        ingest(requests[0], checker)  # compile the validator once, as a running dashboard has
        start = time.perf_counter()
        outcomes = [ingest(r, checker) for r in requests]
        pipeline_us = (time.perf_counter() - start) / n * 1e6
        assert all(o.events and o.events[0].valid for o in outcomes)
        start = time.perf_counter()
        for raw in requests:
            store.save_request(raw)
        save_us = (time.perf_counter() - start) / n * 1e6
        start = time.perf_counter()
        pending = store.undecoded(n)
        for i in range(0, n, 100):  # as the pipeline worker stores them: up to 100 requests a transaction
            store.save_decoded(list(zip(pending[i:i + 100], outcomes[i:i + 100])))
        decoded_us = (time.perf_counter() - start) / n * 1e6
        store.close()
    print(f"pipeline (decode + validate gitlab_standard): {pipeline_us:.0f} us/event ({1e6 / pipeline_us:.0f}/s)")
    print(f"store.save_request (the collector's write), one at a time: {save_us:.0f} us/request "
          f"({1e6 / save_us:.0f}/s)")
    print(f"store.save_decoded (the pipeline's write), 100 a transaction: {decoded_us:.0f} us/request "
          f"({1e6 / decoded_us:.0f}/s)")


if __name__ == "__main__":
    main()
