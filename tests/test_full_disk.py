"""A full disk, for real: the database on a small filesystem of its own, filled by a filler file and by events. The
collector answers 503 (a tracker sends again), keeps every event it acknowledged, and recovers once space is back;
starting on a full disk is refused with one sentence. Needs a mount (root, as here and in CI); loopback only."""

from __future__ import annotations

import base64
import errno
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support import PAYLOAD_DATA

pytestmark = pytest.mark.hostile
DISK_BYTES = 8 * 1024 * 1024
LEFT_FREE = 1024 * 1024  # what the filler leaves for the database to fill with events
SENDERS = 4
MOST_EVENTS = 2000  # the disk is full long before this; a bound in case it never fills


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Return the folder of a new 8 MiB filesystem (tmpfs), unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(folder)],
                                 capture_output=True, text=True, timeout=30)
    except OSError as exc:
        pytest.skip(f"no small filesystem can be mounted here: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"no small filesystem can be mounted here (it needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True, timeout=30)


def fill(path: Path, leave: int = 0) -> None:
    """Write a file that takes the disk's free space, all but `leave` bytes (or all of it)."""
    with path.open("ab") as filler:
        wanted = shutil.disk_usage(path.parent).free - leave
        try:
            while wanted > 0:
                wanted -= filler.write(b"\0" * min(wanted, 1024 * 1024))
                filler.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def random_text(size: int) -> str:
    """Return `size` characters that do not compress."""
    return base64.urlsafe_b64encode(os.urandom(size * 3 // 4)).decode()


def event(sent: int) -> dict[str, str]:
    """Return a page view whose title and URL do not compress (each within its atomic field's length)."""
    return {"e": "pv", "p": "web", "tv": "full-disk", "eid": str(uuid.uuid4()), "page": random_text(1500),
            "url": f"https://example.com/{sent}?q={random_text(4000)}"}


def send(url: str, sent: int) -> tuple[str, int]:
    """POST one event; return its id and the collector's status."""
    one = event(sent)
    response = requests.post(f"{url}/com.snowplowanalytics.snowplow/tp2", timeout=30,
                             json={"schema": PAYLOAD_DATA, "data": [one]})
    return one["eid"], response.status_code


def send_until_refused(url: str) -> dict[str, int]:
    """Send events from a few senders at once until the collector has refused a few of each; return id -> status."""
    answers: dict[str, int] = {}
    with ThreadPoolExecutor(SENDERS) as senders:
        while len(answers) < MOST_EVENTS:
            batch = senders.map(lambda n: send(url, n), range(len(answers), len(answers) + SENDERS * 4))
            answers.update(batch)
            if list(answers.values())[-SENDERS * 4:].count(503) >= SENDERS * 2:
                return answers
    return answers


def event_ids(url: str) -> set[str]:
    """Return the id of every good event the dashboard shows (once every acknowledged request is decoded)."""
    assert requests.get(f"{url}/micro/all", timeout=60).json()["bad"] == 0
    return {e["event"]["event_id"] for e in requests.get(f"{url}/micro/good", timeout=60).json()}


def test_a_full_disk_refuses_with_503_loses_nothing_acknowledged_and_recovers(make_live_server, small_disk):
    db = small_disk / "events.db"
    filler = small_disk / "filler"
    server = make_live_server(db=str(db))
    fill(filler, leave=LEFT_FREE)

    answers = send_until_refused(server.url)
    statuses = sorted(set(answers.values()))
    acknowledged = {eid for eid, status in answers.items() if status == 200}
    assert statuses == [200, 503], statuses  # never a 500, and the disk did fill
    assert requests.get(f"{server.url}/health", timeout=10).text == "ok"

    filler.unlink()  # space is back
    after = dict(send(server.url, len(answers) + n) for n in range(10))
    assert set(after.values()) == {200}
    shown = event_ids(server.url)
    assert acknowledged | set(after) <= shown  # every acknowledged event, none lost
    assert not shown - acknowledged - set(after)  # and no refused one stored after all


def test_starting_on_a_full_disk_is_refused_with_one_sentence_and_works_once_space_is_back(make_live_server,
                                                                                          small_disk):
    db = small_disk / "events.db"
    filler = small_disk / "filler"
    server = make_live_server(db=str(db))
    sent, status = send(server.url, 0)
    assert status == 200
    server.close()
    fill(filler)

    try:
        started = subprocess.run([sys.executable, "-m", "micro_dashboard", "serve", "--db", str(db), "--port", "0",
                                  "--no-default-registries"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the dashboard started on a full disk instead of refusing to")
    assert started.returncode != 0
    assert started.stderr.strip() == (f"Error: cannot use {db}: the disk is full; free some space or pass --db with "
                                      "a file on another disk"), started.stderr

    filler.unlink()
    assert event_ids(make_live_server(db=str(db)).url) == {sent}
