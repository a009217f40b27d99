"""A database file that cannot be used is refused at start with one sentence naming it and the fix (no traceback,
no server that then answers 503 to everything); a usable one is checked and the banner says what was found."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from micro_dashboard.cli import cli

pytestmark = pytest.mark.hostile


def refusal(db: Path | str) -> str:
    """Run `serve` on a database and return its one-line refusal (it must not start)."""
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--db", str(db), "--no-default-registries"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: cannot use {db}: ")
    return line


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "random.db"
    db.write_bytes(os.urandom(8192))
    assert "not a SQLite database; move it aside or pass --db" in refusal(db)


def test_a_truncated_database_is_refused_as_damaged(tmp_path: Path) -> None:
    db = tmp_path / "truncated.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
    conn.executemany("INSERT INTO filler (text) VALUES (?)", [("x" * 1000,) for _ in range(500)])
    conn.execute("CREATE INDEX idx_filler_text ON filler (text)")
    conn.commit()
    conn.close()
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.truncate(size // 3)
    line = refusal(db)
    assert "damaged" in line and "sqlite3 .recover" in line


def test_another_programs_database_with_an_events_table_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, at TEXT)")
    conn.execute("INSERT INTO events (name, at) VALUES ('meeting', '2024-01-01')")
    conn.commit()
    conn.close()
    assert "another program's tables" in refusal(db)
    # Refused before anything was written to it.
    conn = sqlite3.connect(db)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["events"]
    conn.close()


def test_a_place_that_cannot_be_written_is_refused() -> None:
    # /proc cannot be written even by root (tests may run as root, for whom a chmod'ed folder is writable).
    assert "cannot be written" in refusal("/proc/self/events.db")


def test_a_usable_database_starts_and_the_banner_says_what_the_check_found(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", str(tmp_path / "ok.db"),
               "--no-default-registries", "--max-events", "1000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
    text = "".join(banner)
    assert re.search(r"database\s+\S+ok\.db\s+\(quick_check ok in [0-9.]+ s\)", text), text
    assert re.search(r"retention\s+the newest 1,000 events / 1 GiB, whichever is reached first", text), text
