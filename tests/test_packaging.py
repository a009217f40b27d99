"""The wheel: static/ and templates/ ship inside the package; the README's quick start installs it on Debian's Python.

The quick start runs as written in a throwaway copy of the checkout, with Debian's /usr/bin/python3 first on PATH;
the environment variables of `serve` put its dashboard on a free port of 127.0.0.1 with a temporary database and no
registry on the internet. pip fetches the dependencies from the package index (through its cache).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
import requests
from readme import sample
from support import free_port, wait_for

REPO = Path(__file__).resolve().parents[1]
DEBIAN_PYTHON = Path("/usr/bin/python3")


def asset_files() -> list[str]:
    """Return the files under static/ and templates/ as paths inside the package."""
    files = [p for folder in ("static", "templates") for p in (REPO / folder).rglob("*") if p.is_file()]
    return sorted(f"micro_dashboard/{p.relative_to(REPO).as_posix()}" for p in files
                  if "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Build the project's wheel once; return it and the asset files that existed before the build."""
    assets = asset_files()
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    [built] = out.glob("micro_dashboard-*.whl")
    return built, assets


def test_wheel_contains_every_static_file_and_template(wheel):
    built, assets = wheel
    assert "micro_dashboard/static/internal_events.js" in assets
    assert any(a.startswith("micro_dashboard/templates/") for a in assets)
    names = set(zipfile.ZipFile(built).namelist())
    assert [a for a in assets if a not in names] == []


def test_wheel_contains_the_package_and_its_console_script(wheel):
    built, _ = wheel
    archive = zipfile.ZipFile(built)
    names = set(archive.namelist())
    assert {"micro_dashboard/__init__.py", "micro_dashboard/collector.py", "micro_dashboard/pipeline/enrich.py",
            "micro_dashboard/store/__init__.py", "micro_dashboard/api/micro.py"} <= names
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "micro-dashboard = micro_dashboard.cli:main" in text
    assert "micro_dashboard = micro_dashboard.testing.plugin" in text


def test_unpacked_wheel_serves_its_assets_from_inside_the_package(wheel, tmp_path):
    built, _ = wheel
    zipfile.ZipFile(built).extractall(tmp_path)
    code = ("import micro_dashboard as m; print(m.__file__); print(m.asset_dir('static')); "
            "print(m.asset_dir('templates'))")
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {code}"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    module, static, templates = result.stdout.split()
    assert module.startswith(str(tmp_path))
    assert static == str(tmp_path / "micro_dashboard" / "static")
    assert templates == str(tmp_path / "micro_dashboard" / "templates")
    assert (Path(static) / "internal_events.js").is_file()


def copy_of_checkout(dest: Path) -> Path:
    """Copy the checkout to dest without what setup and builds leave in it (.git, .venv, .node, test data)."""
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".node", ".test-data", "__pycache__", "*.db", "*.db-*", "build", "dist", "*.egg-info",
        ".pytest_cache", ".ruff_cache", "test-artifacts"))
    return dest


def test_readme_quick_start_installs_and_serves(tmp_path: Path) -> None:
    if not DEBIAN_PYTHON.exists():
        pytest.skip(f"{DEBIAN_PYTHON} (Debian's Python) is not on this machine")
    if subprocess.run([str(DEBIAN_PYTHON), "-c", "import ensurepip, venv"], capture_output=True).returncode:
        pytest.skip(f"{DEBIAN_PYTHON} has no venv module: apt-get install python3-venv")
    folder = copy_of_checkout(tmp_path / "clone")
    command = sample("sh", "Quick start", "pip install .").code.strip()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith("MICRO_DASHBOARD_")}
    env.update({"PATH": f"/usr/bin:/bin:{os.environ.get('PATH', '')}", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "MICRO_DASHBOARD_PORT": str(port), "MICRO_DASHBOARD_DB": str(tmp_path / "events.db"),
                "MICRO_DASHBOARD_NO_DEFAULT_REGISTRIES": "1"})
    quick_start = subprocess.Popen(["bash", "-c", command], cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    printed: list[str] = []
    reader = threading.Thread(target=printed.extend, args=(quick_start.stdout,), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        # Installing takes as long as pip's downloads do; the banner's collector line says the server listens.
        started = wait_for(lambda: quick_start.poll() is not None or any(url in line for line in printed),
                           seconds=900, interval=0.2)
        assert started and quick_start.poll() is None, "".join(printed)
        venv = folder / ".venv"
        base = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
                              capture_output=True, text=True, timeout=60)
        assert base.stdout.strip() == "/usr", "the venv was not made from Debian's Python"

        helped = subprocess.run([str(venv / "bin" / "micro-dashboard"), "--help"], capture_output=True, text=True,
                                timeout=60, env=env)
        assert helped.returncode == 0, helped.stderr
        assert {"serve", "demo", "tail"} <= set(re.findall(r"^  (\w+)", helped.stdout, re.MULTILINE))

        demo = subprocess.run([str(venv / "bin" / "micro-dashboard"), "demo", "--url", url], capture_output=True,
                              text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
        sent = re.search(r"Sent (\d+) events and (\d+) broken request", demo.stdout)
        assert sent, demo.stdout + demo.stderr
        stats = requests.get(f"{url}/api/stats", timeout=10).json()
        # Each broken request is stored too, as a failure of its own.
        assert stats["total"] == int(sent.group(1)) + int(sent.group(2)), (stats, demo.stdout)
        apps = {row["value"] for row in stats["by_app"]}
        assert {"demo-shop", "demo-app", "gitlab_ai_gateway"} <= apps, stats["by_app"]
        assert requests.get(f"{url}/", timeout=10).status_code == 200  # the UI's template ships in the wheel
    finally:
        os.killpg(quick_start.pid, signal.SIGTERM)
        quick_start.wait(timeout=30)
        reader.join(timeout=10)
