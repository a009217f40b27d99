"""Fill a database with realistic events through the project's own write path (the collector's and the pipeline's).

Run: python benchmarks/seed.py --db /tmp/1m.db --events 1000000 [--iglu-dir ../shared/iglu-central ...]

Each request is stored as the collector stores it (`Store.save_requests`), then what the pipeline decoded from it as
the pipeline worker stores it (`Store.save_decoded`), so the database is what a dashboard left running would hold:
browser page views with a web_page context, GitLab internal events with gitlab_standard, link clicks (some missing
their required targetUrl), page pings and the odd unreadable request, spread over the last `--days` days.

Decoding (Iglu validation) costs more than storing, so `--unique` requests are made and decoded (in `--workers`
processes) and the rest are copies of them received at other times, with new event ids: the same write path, the
same mix of values. `--batch` requests share a transaction. Where the write time goes (py-spy, 180k rows): the FTS5
trigram index 46%, reading the stored requests back 12%, the events row and its indexes ~20%, COMMIT 8%; the rate
falls as the file grows (700/s -> 300/s between 50k and 200k rows) with the free-text index's segment merges.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlencode

from micro_dashboard.config import Settings
from micro_dashboard.iglu_setup import build_checker
from micro_dashboard.pipeline import Outcome, RawPayload, ingest
from micro_dashboard.snowplow import CONTEXTS_SCHEMA, LINK_CLICK_SCHEMA, SNOWPLOW_VENDOR, UNSTRUCT_SCHEMA
from micro_dashboard.store import Store

WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8"
ACTIONS = ["click_button", "view_project", "create_merge_request", "push_package_to_registry", "create_ci_runner",
           "render_blob_embed_in_markdown", "i_code_review_user_approve_mr", "visit_pipeline_page"]
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")


def page_view(rng: random.Random, when: int) -> dict[str, str]:
    """A browser page view as @snowplow/browser-tracker sends it (about 24 parameters)."""
    page = rng.randrange(500)
    context = {"schema": CONTEXTS_SCHEMA, "data": [{"schema": WEB_PAGE, "data": {"id": str(uuid.uuid4())}}]}
    return {"e": "pv", "url": f"https://shop.example/products/{page}?ref=home", "page": f"Product {page}",
            "refr": "https://shop.example/", "tv": "js-4.8.4", "tna": "sp", "aid": rng.choice(["shop", "blog"]),
            "p": "web", "cookie": "1", "cs": "UTF-8", "lang": "en-GB", "res": "1920x1080", "cd": "24",
            "tz": "Europe/London", "dtm": str(when), "vp": "1440x900", "ds": "1440x3200", "vid": "3",
            "sid": str(uuid.uuid4()), "duid": f"d-{rng.randrange(5000)}", "uid": f"user-{rng.randrange(2000)}",
            "stm": str(when), "eid": str(uuid.uuid4()), "co": json.dumps(context)}


def internal_event(rng: random.Random, when: int) -> dict[str, str]:
    """A GitLab internal event as GitLab's Rails or Python clients send it."""
    data = {"environment": "development", "source": "gitlab-rails", "plan": rng.choice(["free", "premium"]),
            "project_id": rng.randrange(1, 300), "namespace_id": rng.randrange(1, 60),
            "user_id": rng.randrange(1, 2000), "extra": {"theme": rng.choice(["dark", "light"])}}
    return {"e": "se", "p": "srv", "tv": "rb-0.8.0", "aid": "gitlab", "eid": str(uuid.uuid4()), "dtm": str(when),
            "se_ca": rng.choice(["Projects::PipelinesController", "InternalEventTracking"]),
            "se_ac": rng.choice(ACTIONS), "se_la": rng.choice(["npm", "web", "save"]),
            "se_pr": rng.choice(["user", "top_bar", "deploy_token"]), "se_va": str(rng.randrange(5)),
            "co": json.dumps({"schema": CONTEXTS_SCHEMA, "data": [{"schema": GITLAB_STANDARD, "data": data}]})}


def link_click(rng: random.Random, when: int) -> dict[str, str]:
    """A link click; one in ten lacks its required targetUrl (an invalid event)."""
    data = {"elementId": f"link-{rng.randrange(50)}"}
    if rng.random() > 0.1:
        data["targetUrl"] = f"https://docs.example/{rng.randrange(100)}"
    ue = {"schema": UNSTRUCT_SCHEMA, "data": {"schema": LINK_CLICK_SCHEMA, "data": data}}
    return {"e": "ue", "p": "web", "tv": "js-4.8.4", "aid": "shop", "eid": str(uuid.uuid4()), "dtm": str(when),
            "ue_pr": json.dumps(ue)}


def request(rng: random.Random, when: int) -> RawPayload:
    """One request of the mix."""
    roll = rng.random()
    if roll < 0.002:  # an unreadable request
        return raw("POST", "", b"not json {", when)
    params = (page_view if roll < 0.45 else internal_event if roll < 0.85 else link_click)(rng, when)
    if params["e"] == "pv" or rng.random() < 0.5:
        return raw("GET", urlencode(params), None, when)
    body = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                       "data": [params]}).encode()
    return raw("POST", "", body, when)


def raw(method: str, query: str, body: bytes | None, when: int) -> RawPayload:
    """A request as the collector captures it."""
    path, version = ("/i", "tp1") if method == "GET" else (f"/{SNOWPLOW_VENDOR}/tp2", "tp2")
    headers = [("Host", "127.0.0.1:9091"), ("User-Agent", UA), ("Accept", "*/*"), ("Origin", "https://shop.example")]
    if body is not None:
        headers.append(("Content-Type", "application/json; charset=UTF-8"))
    return RawPayload(method, path, SNOWPLOW_VENDOR, version, query, body,
                      "application/json; charset=UTF-8" if body is not None else None, headers, "127.0.0.1", UA,
                      "https://shop.example/", "127.0.0.1", str(uuid.uuid4()), when, len(body or b""))


def decode_chunk(args: tuple[int, int, int, int, list[str]]) -> list[tuple[RawPayload, object]]:
    """Make and decode `count` requests (in a worker process: decoding is the slow part)."""
    seed, count, start, span, iglu_dirs = args
    rng = random.Random(seed)
    checker = build_checker(Settings.load({"db": ":memory:", "iglu_defaults": False, "iglu_dirs": iglu_dirs}), None)
    made = [request(rng, start + int(span * i / count)) for i in range(count)]
    return [(r, ingest(r, checker)) for r in made]


class Template:
    """A decoded request that copies are stored from: the same content at another time, with new event ids."""

    def __init__(self, raw: RawPayload, outcome: Outcome):
        self.raw, self.outcome = raw, outcome
        self.times = [{k: v for k, v in e.fields.items() if k.endswith("_tstamp") and isinstance(v, int)}
                      for e in outcome.events]
        self.event_ids = [e.fields.get("event_id") for e in outcome.events]

    def copy(self, when: int) -> tuple[RawPayload, Outcome]:
        """Return the request received at `when` and what decoding it gives (the template's events, restamped)."""
        shift = when - self.raw.timestamp
        query, body = self.raw.querystring, self.raw.body
        for event, times, old_id in zip(self.outcome.events, self.times, self.event_ids):
            new_id = str(uuid.uuid4())
            event.fields.update({k: v + shift for k, v in times.items()}, event_id=new_id)
            for key, value in (("eid", new_id), ("dtm", str(times.get("dvce_created_tstamp", when) + shift)),
                               ("stm", str(times.get("dvce_sent_tstamp", when) + shift))):
                if key in event.parameters:
                    event.parameters[key] = value
            if old_id:
                query = query.replace(old_id, new_id)
                body = body.replace(old_id.encode(), new_id.encode()) if body else body
        old_time, new_time = str(self.raw.timestamp), str(when)
        query = query.replace(old_time, new_time)
        body = body.replace(old_time.encode(), new_time.encode()) if body else body
        return dataclasses.replace(self.raw, querystring=query, body=body, timestamp=when,
                                   network_userid=str(uuid.uuid4())), self.outcome


def main() -> None:
    """Seed the database and print how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--iglu-dir", action="append", default=[], help="local registries to validate against")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="decoding processes")
    parser.add_argument("--unique", type=int, default=50_000,
                        help="requests made and decoded; the rest are copies of them at other times, new event ids")
    parser.add_argument("--batch", type=int, default=5000, help="requests per transaction")
    args = parser.parse_args()
    store = Store(args.db)
    # A seed writes far more per transaction than a dashboard does: a bigger page cache keeps the indexes' pages
    # from being written to the log more than once per transaction (a benchmark-only setting).
    store._writer.execute("PRAGMA cache_size = -262144")
    now = int(time.time() * 1000)
    span = int(args.days * 86_400_000)
    unique, chunk = min(args.unique, args.events), 5000
    began = time.perf_counter()
    jobs = [(i, min(chunk, unique - i * chunk), now - span, span, args.iglu_dir)
            for i in range((unique + chunk - 1) // chunk)]
    with ProcessPoolExecutor(args.workers) as pool:
        templates = [Template(r, o) for decoded in pool.map(decode_chunk, jobs) for r, o in decoded]
    print(f"{len(templates):,} requests made and decoded in {time.perf_counter() - began:.0f} s", flush=True)
    batch = min(args.batch, len(templates))  # a template appears once per batch (its events are restamped)
    done = 0
    while done < args.events:
        size = min(batch, args.events - done)
        copies = [templates[(done + i) % len(templates)].copy(now - span + span * (done + i) // args.events)
                  for i in range(size)]
        ids = store.save_requests([r for r, _ in copies])
        stored = store.requests(ids)
        store.save_decoded([(stored[i], o) for i, (_, o) in zip(ids, copies)])
        # The free-text index, as the pipeline fills it when idle (a store before schema step 8 filled it per row).
        index_free_text = getattr(store, "index_free_text", None)
        while index_free_text and index_free_text():
            pass
        done += size
        print(f"\r{done:,} requests stored ({done / (time.perf_counter() - began):,.0f}/s)", end="", flush=True)
    print(f"\n{store.counts()} in {time.perf_counter() - began:.0f} s")
    store.close()


if __name__ == "__main__":
    main()
