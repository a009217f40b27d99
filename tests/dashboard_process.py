"""Run `python -m micro_dashboard serve` in a separate process, the way CI or docker-compose would."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support import IGLU_CENTRAL, IGLU_GITLAB


@contextmanager
def dashboard_process(db: Path, port: int = 0) -> Iterator[str]:
    """Start a dashboard (on a free port by default) with offline Iglu repositories; yield its URL; stop it."""
    command = [sys.executable, "-m", "micro_dashboard", "serve", "--port", str(port), "--db", str(db),
               "--no-default-registries", "--iglu-dir", str(IGLU_CENTRAL),
               "--iglu-dir", str(IGLU_GITLAB)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    drain = None
    try:
        printed = []
        for line in process.stdout:
            printed.append(line)
            found = re.search(r"collector\s+(http://\S+)", line)
            if found:
                # Keep reading what the server logs: a full pipe would block the server's next log line.
                drain = threading.Thread(target=printed.extend, args=(process.stdout,), daemon=True)
                drain.start()
                yield found.group(1)
                break
        else:
            raise RuntimeError("the dashboard did not start:\n" + "".join(printed))
    finally:
        process.terminate()
        process.wait(timeout=15)
        if drain:
            drain.join(timeout=5)  # reads to the end of the pipe now that the server has exited
        process.stdout.close()
