"""Memory stays flat while a dashboard answers /micro/good for many events (it streams; it once held 5 GiB for
200,000). A separate dashboard process, its resident memory sampled while the answer is read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests
from support import PAYLOAD_DATA

pytestmark = pytest.mark.hostile
EVENTS = 10_000
BATCH = 250


def rss_bytes(pid: int) -> int:
    """Return a process's resident memory (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc (Linux)")
def test_micro_good_streams_in_flat_memory(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", str(tmp_path / "m.db"),
               "--no-default-registries"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:
            if found := re.search(r"collector\s+(http://\S+)", line):
                base = found.group(1)
                break
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        session = requests.Session()
        for start in range(0, EVENTS, BATCH):
            events = [{"e": "pv", "p": "web", "tv": "mem", "eid": str(uuid.uuid4()),
                       "url": f"https://example.com/{start + i}?" + "x" * 600} for i in range(BATCH)]
            session.post(f"{base}/com.snowplowanalytics.snowplow/tp2", json={"schema": PAYLOAD_DATA, "data": events},
                         timeout=60).raise_for_status()
        assert session.get(f"{base}/micro/all", timeout=120).json()["good"] == EVENTS  # decoded
        session.post(f"{base}/micro/good", json={"limit": 100}, timeout=60).raise_for_status()  # warm
        before = peak = rss_bytes(process.pid)
        size = count = 0
        with session.get(f"{base}/micro/good", stream=True, timeout=120) as answer:
            body = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                body += chunk
                size += len(chunk)
                peak = max(peak, rss_bytes(process.pid))
        count = len(json.loads(body))
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
    assert count == EVENTS
    # Held whole, the answer's Python objects alone are several times its size; streamed, a batch at a time.
    assert peak - before < size / 4, (peak - before, size)
