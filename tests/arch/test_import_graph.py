"""The layering every distribution keeps, checked from the source (no imports run).

The graph counts every import statement, including those inside functions (they run
too, only later), and leaves out ``if TYPE_CHECKING:`` blocks (they never run). A
*package* is a directory: the modules directly in ``trackwell/`` are one package,
``trackwell/artifacts/`` another. Modules of one package may import each other in a
cycle; a cycle that crosses from one package into another is a tangle: neither side
can be read, tested or moved without the other.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sources() -> list[tuple[Path, str]]:
    """(src directory, top-level package) of every distribution in the repository."""
    out = []
    for pyproject in sorted(ROOT.glob("**/pyproject.toml")):
        if ".venv" in pyproject.parts or ("template" in pyproject.parts and "{{" in str(pyproject)):
            continue
        src = pyproject.parent / "src"
        if src.is_dir():
            out.extend((src, pkg.name) for pkg in sorted(src.iterdir()) if (pkg / "__init__.py").is_file())
    return out


SOURCES = _sources()


def _modules(src: Path, top: str) -> dict[str, Path]:
    mods = {}
    for path in (src / top).rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _imported(name: str, path: Path, known: dict[str, Path] | None = None) -> Iterator[str]:
    """Every module name ``path`` imports, resolved against ``known`` where given."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skipped.update(id(n) for n in ast.walk(sub))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - node.level + 1]
                mod = ".".join(prefix + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                full = f"{mod}.{alias.name}"
                yield full if known is not None and full in known else mod


def _graph(src: Path, top: str) -> tuple[dict[str, Path], dict[str, set[str]]]:
    mods = _modules(src, top)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        for target in _imported(name, path, mods):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return mods, graph


def _cycles(nodes: dict[str, Path], graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _package(name: str, mods: dict[str, Path]) -> str:
    return name if mods[name].name == "__init__.py" else name.rpartition(".")[0]


@pytest.mark.parametrize(("src", "top"), SOURCES, ids=[top for _, top in SOURCES])
def test_no_import_cycle_crosses_a_package(src: Path, top: str) -> None:
    mods, graph = _graph(src, top)
    tangles = []
    for comp in _cycles(mods, graph):
        packages = {_package(m, mods) for m in comp}
        if len(packages) > 1:
            edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a]) if b in comp]
            tangles.append(f"{len(comp)} modules in {sorted(packages)}:\n    " + "\n    ".join(edges))
    assert not tangles, "import cycles across packages:\n" + "\n".join(tangles)


def test_the_graph_sees_function_level_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function closes a cycle, one under
    TYPE_CHECKING does not."""
    pkg = tmp_path / "demo"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "b" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from demo.b import y\n")
    (pkg / "b" / "y.py").write_text("def f():\n    from demo.a import x\n")
    mods, graph = _graph(tmp_path, "demo")
    assert [sorted(c) for c in _cycles(mods, graph)] == [["demo.a.x", "demo.b.y"]]
    (pkg / "b" / "y.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo.a import x\n")
    mods, graph = _graph(tmp_path, "demo")
    assert _cycles(mods, graph) == []


def _distribution_packages() -> set[str]:
    return {top for _, top in SOURCES}


def test_the_core_imports_no_server_and_no_integration() -> None:
    """``trackwell`` is the bottom layer: the server, integrations and plugins depend on
    it, never the other way round (a core-only install must import every module)."""
    others = _distribution_packages() - {"trackwell"}
    src = ROOT / "core" / "src"
    bad = []
    for name, path in _modules(src, "trackwell").items():
        for target in _imported(name, path):
            if target.split(".")[0] in others:
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(sorted(set(bad)))


_LONG_REASON = re.compile(r"\blong\b", re.I)


@pytest.mark.parametrize(("src", "top"), SOURCES, ids=[top for _, top in SOURCES])
def test_long_modules_say_why(src: Path, top: str) -> None:
    """A module over 600 lines is hard to hold in one's head; one that stays that long
    says why in its docstring (a sentence with the word "long")."""
    unexplained = []
    for name, path in _modules(src, top).items():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 600:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            if not _LONG_REASON.search(doc):
                unexplained.append(f"{name}: {lines} lines")
    assert not unexplained, "modules over 600 lines without a reason in their docstring:\n" + "\n".join(unexplained)
