"""Every code sample in README.md, run as written against a started dashboard, must make its events arrive.

The samples name the dashboard's default address, port 9091. The tests start a dashboard on a free port and put
its port in place of 9091 in the sample's text, or, for a sample configured by the environment, point those
variables at it. Nothing else in a sample is changed, except that the browser sample's `import` line becomes a
read of the tracker's UMD global, as a page without a bundler has it. The quick start's install line is run by
tests/test_packaging.py with Debian's Python in a throwaway copy of the checkout.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from readme import README_PORT, CodeSample, code_samples, sample
from support import IGLU_CENTRAL_DATA, IGLU_GITLAB_DATA, QuietServer, wait_for

from micro_dashboard.tracking import InternalEventsClient

REPO = Path(__file__).resolve().parents[1]
UMD = REPO / ".node" / "node_modules" / "@snowplow" / "browser-tracker" / "dist" / "index.umd.min.js"
BROWSER_IMPORT = "import { newTracker, trackPageView } from '@snowplow/browser-tracker';"

# Each sample, as (language, section, a text it contains), and the test that runs it.
RUN_BY = {
    ("sh", "Quick start", "pip install ."): "test_packaging.py::test_readme_quick_start_installs_and_serves",
    ("sh", "Quick start", "tests/setup.sh"): "test_ci_runs_the_readme_test_command (and CI runs it)",
    ("python", "Pointing a tracker at it", "snowplow_tracker"): "test_python_tracker_sample_sends_its_event",
    ("js", "Pointing a tracker at it", "newTracker"): "test_browser_tracker_sample_sends_its_page_view",
    ("sh", "The API", "curl"): "test_curl_sample_finds_the_event",
    ("python", "In a test suite", "def test_"): "test_test_suite_sample_passes_under_pytest",
    ("python", "The tracking client", "InternalEventsClient.from_env()"): "test_tracking_client_sample_sends_its_event",
}


def at_port(code: str, port: int) -> str:
    """Return the sample's code pointed at the test's dashboard instead of the default port."""
    assert README_PORT in code
    return code.replace(README_PORT, str(port))


def run_script(code: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a Python sample as a script in its own process, the way a reader would after pasting it into a file."""
    script = tmp_path / "sample.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def stored(url: str, **filters: str) -> list[dict]:
    """Return the summaries of the stored events that match the filters."""
    answer = requests.get(f"{url}/api/events", params=filters, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]


def test_every_sample_is_run_by_a_test() -> None:
    samples = code_samples()
    runs = {key: [s for s in samples if (s.language, s.section) == key[:2] and key[2] in s.code] for key in RUN_BY}
    assert {key: len(found) for key, found in runs.items()} == dict.fromkeys(RUN_BY, 1)
    covered = [s for found in runs.values() for s in found]
    assert [s for s in samples if s not in covered] == []
    assert {s.language for s in samples} == {"sh", "python", "js"}


def test_code_samples_are_found_with_their_language_and_section() -> None:
    text = "## One\n\n```sh\necho 1\n```\n\n```\ndiagram\n```\n\n## Two\n\n```python\nprint(2)\n```\n"
    assert code_samples(text) == [CodeSample("sh", "echo 1\n", "One"), CodeSample("python", "print(2)\n", "Two")]


def test_ci_runs_the_readme_test_command() -> None:
    command = sample("sh", "Quick start", "tests/setup.sh").code.strip()
    assert command == "bash tests/setup.sh && .venv/bin/python -m pytest"
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert command in ci


def test_python_tracker_sample_sends_its_event(live_server, tmp_path: Path) -> None:
    code = sample("python", "Pointing a tracker at it").code
    run_script(at_port(code, live_server.port), tmp_path)
    # The collector acknowledges a request only once it is committed, and the script ends after its request.
    [event] = stored(live_server.url, app_id="my-app")
    assert (event["event"], event["se_category"], event["se_action"]) == ("struct", "shop", "add_to_basket")


def test_tracking_client_sample_sends_its_event(live_server, tmp_path: Path) -> None:
    code = sample("python", "The tracking client").code
    run_script(code, tmp_path, env={"AIGW_INTERNAL_EVENT__ENABLED": "true",
                                    "AIGW_INTERNAL_EVENT__ENDPOINT": live_server.url})
    [event] = stored(live_server.url, se_action="project_created")
    assert event["se_category"] == "ProjectsController" and event["se_label"] == "web"
    assert stored(live_server.url, **{"gitlab_standard.project_id": "7"}) == [event]


def test_curl_sample_finds_the_event(live_server) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    client = InternalEventsClient(enabled=True, endpoint=live_server.url)
    client.track_event("project_created", category="ProjectsController", project_id=7)
    assert client.close()
    code = sample("sh", "The API", "curl").code
    result = subprocess.run(["bash", "-c", at_port(code, live_server.port)], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    [event] = answer["events"]
    assert event["event"]["se_action"] == "project_created"
    assert [e["data"]["project_id"] for e in event["entities"] if "gitlab_standard" in e["schema"]] == [7]


def test_test_suite_sample_passes_under_pytest(tmp_path: Path) -> None:
    if "micro_dashboard" not in {e.name for e in importlib.metadata.entry_points(group="pytest11")}:
        pytest.skip("micro-dashboard is not installed, so its pytest plugin is not registered")
    (tmp_path / "test_sample.py").write_text(sample("python", "In a test suite").code)
    # The sample's own dashboard, offline: the Iglu test data when there is some, and no registry on the internet.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_DASHBOARD_")}
    env["MICRO_DASHBOARD_NO_DEFAULT_REGISTRIES"] = "1"
    local = [str(d.path) for d in (IGLU_CENTRAL_DATA, IGLU_GITLAB_DATA) if d.present]
    if local:
        env["MICRO_DASHBOARD_IGLU_DIR"] = " ".join(local)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.browser
def test_browser_tracker_sample_sends_its_page_view(live_server, page, tmp_path: Path) -> None:
    if not UMD.exists():
        pytest.fail(f"{UMD} is missing: install the browser tracker with tests/browser/install.sh")
    code = sample("js", "Pointing a tracker at it").code
    assert BROWSER_IMPORT in code
    code = at_port(code, live_server.port).replace(
        BROWSER_IMPORT, "const { newTracker, trackPageView } = window.snowplowBrowserTracking;")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text('<!doctype html><title>README sample</title><script src="/sp.js"></script>')
    shutil.copy(UMD, site / "sp.js")
    origin = QuietServer(site)  # another origin than the dashboard's, as a real page is
    try:
        page.goto(f"{origin.url}/index.html")
        page.add_script_tag(content=code)
        events = wait_for(lambda: stored(live_server.url, app_id="my-app"), seconds=15)
    finally:
        origin.close()
    [event] = events
    assert event["event"] == "page_view" and event["platform"] == "web"
