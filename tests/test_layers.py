"""The house is one-way: which parts of micro_dashboard may import which, read from the source with `ast`.

Every import counts, including those inside functions (they run when the function does), except inside a
module-level `__getattr__`: those are lazy exports that run only for the name asked for (the root package's
`create_app`), and the subprocess checks below see what importing the light parts really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "micro_dashboard"

# What a part that sends events or asserts on them must never load: the server, its web framework, its database.
SERVER_SIDE = ["flask", "wsproto", "werkzeug", "jinja2", "click", "click_default_group", "cheroot", "sqlite3",
               "sqlite_utils", "micro_dashboard.app", "micro_dashboard.store", "micro_dashboard.collector",
               "micro_dashboard.api", "micro_dashboard.hub", "micro_dashboard.live", "micro_dashboard.server"]

# (a part of the package, what it must never import, directly or through other modules of the package)
RULES = [
    ("micro_dashboard.pipeline", ["micro_dashboard.store", "micro_dashboard.collector", "micro_dashboard.api",
                                  "micro_dashboard.hub", "micro_dashboard.live", "flask", "werkzeug", "sqlite3"]),
    ("micro_dashboard.store", ["micro_dashboard.api", "micro_dashboard.collector", "micro_dashboard.hub",
                               "micro_dashboard.live", "flask"]),
    ("micro_dashboard.tracking", SERVER_SIDE),
    ("micro_dashboard.testing.client", SERVER_SIDE),
]


@dataclass(frozen=True)
class Import:
    """One import statement's target: a module of the package, or the top-level name of an outside module."""

    target: str
    line: int


def module_name(path: Path) -> str:
    """Return the dotted name of a source file under the repository (a package is its __init__.py)."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(dotted: str) -> str:
    """Return the package module a dotted import names (its longest existing prefix), or an outside top-level name."""
    if dotted.split(".")[0] != "micro_dashboard":
        return dotted.split(".")[0]
    parts = dotted.split(".")
    while ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts)


def lazy_export_nodes(tree: ast.Module) -> set[int]:
    """Return the ids of the nodes inside a module-level `__getattr__` (imports that run only for one name)."""
    return {id(node) for definition in tree.body
            if isinstance(definition, ast.FunctionDef) and definition.name == "__getattr__"
            for node in ast.walk(definition)}


@cache
def imports_of(name: str) -> tuple[Import, ...]:
    """Return every import in a module of the package, those inside functions included."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    lazy = lazy_export_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            found += [Import(resolve(alias.name), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*package[:len(package) - node.level + 1], node.module or ""] if node.level
                            else [node.module or ""]).strip(".")
            # `from package import module` imports that module; `from module import name` imports the module.
            found += [Import(resolve(f"{base}.{alias.name}"), node.lineno) for alias in node.names]
    return tuple(found)


def parents(name: str) -> list[str]:
    """Return the packages whose __init__ runs before a module of the package is imported."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def reachable(start: str) -> dict[str, list[str]]:
    """Return everything importing `start` may import, each with the chain of imports that leads there."""
    chains = {start: [start]}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        steps = [(f"{parent} (parent package)", parent) for parent in parents(name)]
        steps += [(f"{imp.target} ({MODULES[name].relative_to(REPO)}:{imp.line})", imp.target)
                  for imp in imports_of(name)]
        for label, target in steps:
            if target not in chains:
                chains[target] = [*chains[name], label]
                if target in MODULES:
                    queue.append(target)
    return chains


def within(name: str, part: str) -> bool:
    """Return whether a module (or outside name) is `part` or inside it."""
    return name == part or name.startswith(part + ".")


def forbidden_imports(part: str, forbidden: list[str]) -> list[str]:
    """Return each forbidden import reachable from a module of `part`, with the chain that reaches it."""
    found = []
    for module in (m for m in MODULES if within(m, part)):
        for target, chain in reachable(module).items():
            if any(within(target, f) for f in forbidden):
                found.append(" -> ".join(chain))
    return found


def test_the_graph_sees_imports_inside_functions_and_relative_imports():
    # The plugin imports create_app only inside its fixture; pipeline/enrich.py imports its siblings relatively.
    assert "micro_dashboard" in {i.target for i in imports_of("micro_dashboard.testing.plugin")}
    assert "micro_dashboard.server" in {i.target for i in imports_of("micro_dashboard.testing.plugin")}
    assert {"micro_dashboard.pipeline.failures", "micro_dashboard.pipeline.model"} <= {
        i.target for i in imports_of("micro_dashboard.pipeline.enrich")}
    assert "flask" in reachable("micro_dashboard.app")


@pytest.mark.parametrize(("part", "forbidden"), RULES, ids=[part for part, _ in RULES])
def test_each_part_imports_only_what_lies_beneath_it(part: str, forbidden: list[str]):
    assert any(within(m, part) for m in MODULES), f"no module {part} any more: update the rule"
    assert forbidden_imports(part, forbidden) == []


LOADED = """
import sys
{imports}
print(" ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize("imports", ["import micro_dashboard.tracking", "import micro_dashboard.pipeline",
                                     "from micro_dashboard.testing import MicroDashboard"])
def test_the_light_parts_load_no_server(imports: str):
    result = subprocess.run([sys.executable, "-c", LOADED.format(imports=imports)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    assert [m for m in loaded if any(within(m, f) for f in SERVER_SIDE)] == []


# A meta-path finder that makes pytest unimportable, as in a program that has only the package's own dependencies.
NO_PYTEST = """
import sys

class NoPytest:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoPytest())
"""


def test_the_test_client_imports_without_pytest():
    blocked = subprocess.run([sys.executable, "-c", NO_PYTEST + "import pytest"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert "No module named 'pytest'" in blocked.stderr  # the finder does block pytest
    imports = "from micro_dashboard.testing import APIError, MicroDashboard, ReceivedEvent, WaitTimeout"
    result = subprocess.run([sys.executable, "-c", NO_PYTEST + imports + "\nprint('imported')"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["imported"]
