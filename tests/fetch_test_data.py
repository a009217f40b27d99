"""Fetch the external test data that is not already there, when the network allows; say what could not be had.

Run by tests/setup.sh. It writes into $MICRO_DASHBOARD_TEST_DATA when set, else into .test-data/ in the checkout
(tests/support.py looks there after shared/ beside the checkout). None of this data is published on a package
registry, so it comes from its public sources; offline, the tests that need it are skipped and say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from support import FETCHED, GITLAB_DEFINITIONS_DATA, IGLU_CENTRAL_DATA, IGLU_GITLAB_DATA, TEST_DATA_VARIABLE, TestData

IGLU_CENTRAL_GIT = "https://github.com/snowplow/iglu-central.git"
# GitLab's public static Iglu registry (the default registry for com.gitlab), and the schemas the tests use.
GITLAB_REGISTRY = "https://gitlab-org.gitlab.io/iglu"
GITLAB_SCHEMAS = ["com.gitlab/gitlab_standard/jsonschema/1-1-1", "com.gitlab/gitlab_standard/jsonschema/1-1-8"]


def fetch_iglu_central(staging: Path) -> None:
    """Shallow-clone Iglu Central and keep its schemas/ and LICENSE."""
    clone = staging / "clone"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", IGLU_CENTRAL_GIT, str(clone)], check=True,
                   timeout=600, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, stdin=subprocess.DEVNULL)
    shutil.move(clone / "schemas", staging / "schemas")
    shutil.move(clone / "LICENSE", staging / "LICENSE")
    shutil.rmtree(clone)


def fetch_iglu_gitlab(staging: Path) -> None:
    """Download GitLab's standard context schemas from its static registry, in the static repository layout."""
    for key in GITLAB_SCHEMAS:
        target = staging / "schemas" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(f"{GITLAB_REGISTRY}/schemas/{key}", timeout=30) as answer:
            target.write_bytes(answer.read())


def main() -> int:
    """Fetch each missing folder into the test-data folder; report each one that stays missing."""
    given = os.environ.get(TEST_DATA_VARIABLE)
    base = Path(given).expanduser() if given else FETCHED
    fetchers = {IGLU_CENTRAL_DATA: fetch_iglu_central, IGLU_GITLAB_DATA: fetch_iglu_gitlab}
    data: TestData
    for data in (IGLU_CENTRAL_DATA, IGLU_GITLAB_DATA, GITLAB_DEFINITIONS_DATA):
        if data.present:
            print(f"test data: {data.folder} found at {data.path}")
            continue
        fetch = fetchers.get(data)
        if fetch is None:
            print(f"test data: {data.folder} ({data.what}) is a hand-picked selection that nothing publishes as one; "
                  f"put a copy in {base / data.folder} (or set {TEST_DATA_VARIABLE}); until then the tests that need "
                  "it are skipped")
            continue
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            staging = Path(tmp) / data.folder
            staging.mkdir()
            try:
                fetch(staging)
            except (OSError, subprocess.SubprocessError) as exc:
                print(f"test data: could not fetch {data.folder} ({exc}); the tests that need it are skipped")
                continue
            shutil.rmtree(base / data.folder, ignore_errors=True)  # an empty leftover of an earlier attempt
            staging.rename(base / data.folder)
        print(f"test data: fetched {data.folder} into {base / data.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
