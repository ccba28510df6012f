"""The folders keep their promises: `ingest` never imports `workers`, and no module imports itself back.

Read with the standard library's `ast`, so the check needs nothing installed and sees every
import, including those inside functions (a late import hides a circle; it does not break it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "workers")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imported(path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules `path` imports; `from pkg import mod` counts as importing `pkg.mod`."""
    here = module_name(path)
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {_owner(t, known) for t in targets if _owner(t, known)} - {here}


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The project module that `name` refers to (a module, or a name defined in one)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
                continue
            if child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """A module's imports of its own parent packages are how Python loads it, not a circle."""
    return {
        name: {t for t in targets if not name.startswith(t + ".")}
        for name, targets in edges.items()
    }


def test_ingest_never_imports_workers():
    offenders = {
        name: sorted(t for t in targets if t.split(".")[0] == "workers")
        for name, targets in graph().items()
        if name.split(".")[0] == "ingest"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle(package):
    edges = _package_edges(graph())
    inside = {
        name: {t for t in targets if t.split(".")[0] == package}
        for name, targets in edges.items()
        if name.split(".")[0] == package
    }
    assert cycles(inside) == []


def test_every_package_says_what_lives_there():
    for init in (ROOT / p for p in PACKAGES):
        for path in init.rglob("__init__.py"):
            if "migrations" in path.parts:
                continue
            doc = ast.get_docstring(ast.parse(path.read_text("utf-8")))
            assert doc, f"{path.relative_to(ROOT)} needs a one-line docstring"


def test_cycle_finder_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
