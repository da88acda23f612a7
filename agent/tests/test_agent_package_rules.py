"""The agent is its own package: it never imports the server, and its modules stay short."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

AGENT = Path(__file__).resolve().parent.parent
PACKAGE = AGENT / "src" / "tandem_agent"
FORBIDDEN = ("tandem", "django", "ninja")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_of_the_agent_imports_the_server_or_django():
    assert len(list(PACKAGE.rglob("*.py"))) > 5, f"no agent package at {PACKAGE}"
    offenders = {
        str(path.relative_to(AGENT)): sorted(_imported_roots(path) & set(FORBIDDEN))
        for path in PACKAGE.rglob("*.py")
        if _imported_roots(path) & set(FORBIDDEN)
    }
    assert offenders == {}


def test_importing_every_agent_module_loads_no_server_code():
    modules = sorted(
        "tandem_agent." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if path.name != "__main__.py"
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name.removesuffix('.__init__'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tandem', 'django')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_no_agent_module_is_over_800_lines():
    long = [p.name for p in PACKAGE.rglob("*.py") if len(p.read_text().splitlines()) > 800]
    assert long == []


def test_the_distribution_declares_its_command_and_few_dependencies():
    project = tomllib.loads((AGENT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "tandem-agent"
    assert project["scripts"] == {"tandem-agent": "tandem_agent.cli:main"}
    assert [d.split(">")[0] for d in project["dependencies"]] == ["psutil"]
    assert project["requires-python"] == ">=3.11"
