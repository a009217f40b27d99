"""The wheel: static/ and templates/ ship inside the package, where an installed dashboard finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
