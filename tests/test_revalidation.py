"""Events stored unverified are re-checked once their schema resolves, including ones committed late."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

from support import IGLU_CENTRAL, LINK_CLICK, SP, QuietServer, free_port, wait_for

from micro_dashboard.config import Settings
from micro_dashboard.iglu_setup import build_checker
from micro_dashboard.pipeline import RawPayload, process
from micro_dashboard.store import Store


def link_click(data: dict) -> RawPayload:
    """Return a GET link_click event as the collector would build it."""
    ue = json.dumps({"schema": f"{SP}/unstruct_event/jsonschema/1-0-0", "data": {"schema": LINK_CLICK, "data": data}})
    query = urlencode({"e": "ue", "p": "web", "tv": "t", "ue_pr": ue})
    return RawPayload("GET", "/i", "com.snowplowanalytics.snowplow", "tp1", query, None, None,
                      [], "127.0.0.1", None, None, "localhost", None, int(time.time() * 1000))


def test_a_row_committed_after_its_schema_resolved_is_rechecked(tmp_path: Path) -> None:
    port = free_port()  # a port nothing answers on yet
    store = Store(str(tmp_path / "events.db"))
    checker = build_checker(Settings.load({"db": store.path, "iglu_defaults": False,
                                           "iglu_registries": [f"http://127.0.0.1:{port}"]}), store)
    server = None
    try:
        # Decoded while the registry was unreachable...
        late = link_click({"targetUrl": "https://example.com"})
        late_outcome = process(late, checker)
        assert late_outcome.events[0].unverified
        # ...then the registry comes up and the schema resolves, while nothing is stored yet to re-check...
        server = QuietServer(IGLU_CENTRAL, port=port)
        checker.resolver.forget()  # skip the back-off a real dashboard would wait out
        assert checker.check(LINK_CLICK, {"targetUrl": "https://example.org"}).status == "valid"
        checker.idle()  # the re-check this triggered has run and found nothing stored
        # ...and the row is committed only now: the commit hook re-checks it.
        [row] = store.save(late, late_outcome)
        assert wait_for(lambda: not store.query("SELECT unverified FROM events WHERE id = ?", [row.id])[0][0])
        assert store.query("SELECT status FROM entities WHERE event_row = ?", [row.id])[0][0] == "valid"
    finally:
        if server:
            server.close()
        store.close()

