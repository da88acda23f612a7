"""The import rules import-linter cannot say (its contracts are in pyproject.toml).

- No import cycle between any two modules of ``tandem`` (import-linter's ``acyclic_siblings``
  contract sees cycles between packages; this sees them between single modules too).
- An app imports another app's public modules only (``[tool.tandem.imports]``): at the app's
  top (``servicedesk.models``) or in one of its aggregates (``servicedesk.mail.services``).
- An import inside a function is allowed only by ``scripts/function_imports.toml``.
- The picture of the layers in docs/architecture.md is the ``layers`` contract.

Type-only imports (under ``TYPE_CHECKING``) are left out, as in the contracts: they run
nothing and close no cycle. An app's own tests and the migrations are not part of the graph.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import grimp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@cache
def graph() -> grimp.ImportGraph:
    # No cache: the graph is built fresh (under two seconds), never from a stale cache.
    return grimp.build_graph("tandem", exclude_type_checking_imports=True, cache_dir=None)


def is_product(module: str) -> bool:
    """Part of the running product: not an app's tests, not a migration."""
    parts = module.split(".")
    return "tests" not in parts and "migrations" not in parts


def imports_between_product_modules() -> dict[str, set[str]]:
    g = graph()
    modules = {m for m in g.modules if is_product(m)}
    return {m: {i for i in g.find_modules_directly_imported_by(m) if i in modules} for m in modules}


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_cycle_finder_finds_a_cycle_and_only_it() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [frozenset({"a", "b", "c"})]


def test_no_import_cycle_between_modules() -> None:
    found = [sorted(c) for c in cycles(imports_between_product_modules())]
    assert not found, f"Import cycles (break them; never hide one in a function): {found}"


# --- Cross-app imports through public modules ---------------------------------------------


def app_of(module: str) -> str | None:
    parts = module.split(".")
    apps = pyproject()["tool"]["tandem"]["imports"]["apps"]
    return parts[1] if len(parts) > 1 and parts[1] in apps else None


def is_public(module: str) -> bool:
    """``tandem.<app>.<public module>`` or ``tandem.<app>.<aggregate>.<public module>``, or a
    module the app declares as its API."""
    rules = pyproject()["tool"]["tandem"]["imports"]
    parts = module.split(".")
    if len(parts) not in (3, 4):
        return False
    app, name = parts[1], parts[-1]
    if name in rules["public"]:
        return True
    return len(parts) == 3 and name in rules.get("declared", {}).get(app, [])


def test_apps_import_each_other_through_public_modules_only() -> None:
    temporary = set(pyproject()["tool"]["tandem"]["imports"]["temporary"]["allowed"])
    edges = imports_between_product_modules()
    private = sorted(
        f"{importer} -> {imported}"
        for importer, imported_set in edges.items()
        for imported in imported_set
        if app_of(importer)
        and app_of(imported)
        and app_of(importer) != app_of(imported)
        and not is_public(imported)
    )
    assert not [p for p in private if p not in temporary], (
        "Import another app's public modules only (or declare the module in "
        "[tool.tandem.imports.declared], with the reason):\n" + "\n".join(private)
    )


def test_public_module_rule_reads_the_declarations() -> None:
    assert is_public("tandem.tenancy.models")
    assert is_public("tandem.audit.references")  # declared by audit
    assert not is_public("tandem.tenancy.forms")
    assert not is_public("tandem.servicedesk.sla_bridge")
    assert is_public("tandem.servicedesk.mail.services")  # an aggregate's public module
    assert not is_public("tandem.servicedesk.mail.inbound")
    assert not is_public("tandem.sla.x.calendar")  # declared at the top only


# --- Imports inside functions ----------------------------------------------------------------


@cache
def function_import_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = tomllib.loads(
        (ROOT / "scripts" / "function_imports.toml").read_text()
    )["allowed"]
    return rules


def imports_inside_functions(source: str) -> list[tuple[str, int]]:
    """(qualified function name, line) of every import inside a function of ``source``."""
    found: list[tuple[str, int]] = []

    def walk(node: ast.AST, scope: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(child, [*scope, child.name], True)
            elif isinstance(child, ast.ClassDef):
                walk(child, [*scope, child.name], in_function)
            elif isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                found.append((".".join(scope), child.lineno))
            else:
                walk(child, scope, in_function)

    walk(ast.parse(source), [], False)
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def allowing_rule(module: str, function: str) -> int | None:
    for number, rule in enumerate(function_import_rules()):
        pattern = rule["module"].replace(".", r"\.").replace("*", r"[^.]+")
        if not re.fullmatch(pattern, module):
            continue
        functions = rule.get("functions", ["*"])
        if any(fnmatch.fnmatchcase(function, f) for f in functions):
            return number
    return None


def test_imports_inside_functions_are_on_the_allow_list() -> None:
    unlisted: list[str] = []
    used: set[int] = set()
    for path in sorted((SRC / "tandem").rglob("*.py")):
        module = module_name(path)
        if not is_product(module):
            continue
        for function, line in imports_inside_functions(path.read_text()):
            rule = allowing_rule(module, function)
            if rule is None:
                unlisted.append(f"{path.relative_to(ROOT)}:{line} in {function}()")
            else:
                used.add(rule)
    assert not unlisted, (
        "Move these imports to the top of their module (break the cycle if there is one), "
        "or list them with a reason in scripts/function_imports.toml:\n" + "\n".join(unlisted)
    )
    unused = [rule["module"] for n, rule in enumerate(function_import_rules()) if n not in used]
    assert not unused, f"scripts/function_imports.toml allows what no longer exists: {unused}"


def test_every_allow_list_entry_says_why() -> None:
    for rule in function_import_rules():
        assert len(rule.get("reason", "")) > 20, rule
    permanent = [r for r in function_import_rules() if not r.get("temporary")]
    assert len(permanent) < 10, "Imports inside functions: the target is under ten entries."


def test_the_function_import_scan_sees_nested_imports() -> None:
    source = (
        "import os\ndef f():\n    import sys\nclass C:\n    def g(self):\n        from x import y\n"
    )
    assert imports_inside_functions(source) == [("f", 3), ("C.g", 6)]
    assert allowing_rule("tandem.accounts.apps", "AccountsConfig.ready") is not None
    assert allowing_rule("tandem.accounts.views", "login") is None


# --- The picture in docs/architecture.md ---------------------------------------------------


def layers_contract() -> list[set[str]]:
    """The ``layers`` contract, highest first: each layer a set of app names."""
    contract = next(
        c for c in pyproject()["tool"]["importlinter"]["contracts"] if c["id"] == "layers"
    )
    # An optional layer is written in parentheses (an app not built yet): drawn plainly.
    return [
        {name.strip().strip("()") for name in re.split(r"[:|]", layer)}
        for layer in contract["layers"]
    ]


def layers_drawn() -> list[set[str]]:
    """The layers in the "Dependencies" picture, highest first: the mermaid chain of
    ``node["app, app"] --> node["app"]`` lines in its ``mermaid`` block."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Dependencies", 1)[1]
    block = section.split("```mermaid", 1)[1].split("```", 1)[0]
    labels: dict[str, str] = {}
    chain: list[str] = []
    for line in block.splitlines():
        nodes = re.findall(r'(\w+)(?:\["([^"]+)"\])?', line.split("%%")[0])
        if "-->" not in line or len(nodes) != 2:
            continue
        for node, label in nodes:
            if label:
                labels[node] = label
        upper, lower = nodes[0][0], nodes[1][0]
        if not chain:
            chain.append(upper)
        assert chain[-1] == upper, f"the picture is one chain from top to bottom: {line!r}"
        chain.append(lower)
    return [{name.strip() for name in labels.get(n, n).split(",")} for n in chain]


def test_the_architecture_picture_is_the_layers_contract() -> None:
    assert layers_drawn() == layers_contract()
