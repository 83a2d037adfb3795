"""The dashboard's ES modules import one another without cycles among the pages.

A page module that imports another page (and is imported back) loads in an order the
browser picks, so a helper both need lives in a shared module (``dom.js``, ``api.js``)
instead. Static: the ``import ... from "..."`` lines are read, no browser needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import trackwell_server

JS = Path(trackwell_server.__file__).parent / "static" / "js"
IMPORT = re.compile(r'^import\s[^;]*?from\s+"(\.{1,2}/[^"]+)";', re.MULTILINE)


def _graph() -> dict[Path, set[Path]]:
    graph: dict[Path, set[Path]] = {}
    for path in JS.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        graph[path] = {(path.parent / spec).resolve() for spec in IMPORT.findall(text)}
    return graph


def test_static_imports_have_no_cycle() -> None:
    graph = _graph()
    done: set[Path] = set()

    def visit(node: Path, stack: list[Path]) -> None:
        if node in stack:
            cycle = [*stack[stack.index(node) :], node]
            raise AssertionError("import cycle: " + " -> ".join(str(p.relative_to(JS)) for p in cycle))
        if node in done:
            return
        for dep in graph.get(node, ()):
            visit(dep, [*stack, node])
        done.add(node)

    for node in graph:
        visit(node, [])


def test_the_graph_is_read() -> None:
    """Guards the regex: the run page's known imports are found."""
    deps = _graph()[(JS / "pages" / "run.js").resolve()]
    assert (JS / "dom.js").resolve() in deps
    assert (JS / "media.js").resolve() in deps
