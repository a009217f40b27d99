"""Run `python -m micro_dashboard serve` in a separate process, the way CI or docker-compose would."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support import IGLU_CENTRAL, IGLU_GITLAB


@contextmanager
def dashboard_process(db: Path) -> Iterator[str]:
    """Start a dashboard on a free port with offline Iglu repositories; yield its URL; stop it."""
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--port", "0", "--db", str(db),
               "--no-default-registries", "--iglu-dir", str(IGLU_CENTRAL),
               "--iglu-dir", str(IGLU_GITLAB)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        printed = []
        for line in process.stdout:
            printed.append(line)
            found = re.search(r"collector\s+(http://\S+)", line)
            if found:
                yield found.group(1)
                break
        else:
            raise RuntimeError("the dashboard did not start:\n" + "".join(printed))
    finally:
        process.terminate()
        process.wait(timeout=15)
        process.stdout.close()
