"""Distributions built on the SDK (integrations, plugins, the server) import only its
public modules; what they need beyond ``trackwell`` comes from ``trackwell.extend``."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from tests.arch.test_import_graph import ROOT, SOURCES, _modules

#: The public modules: everything else in the core is internal (see trackwell/extend.py).
PUBLIC = {
    "trackwell",
    "trackwell.extend",
    "trackwell.plugins",
    "trackwell.plugins.hookspecs",
    "trackwell.errors",
    "trackwell.limits",
    "trackwell.records",
    "trackwell.data_types",
    "trackwell.media",
    "trackwell.table",
    "trackwell.integration",
}
PUBLIC_PACKAGES = ("trackwell.testing", "trackwell.plot", "trackwell.apis")


def _public(module: str) -> bool:
    return module in PUBLIC or any(module == p or module.startswith(p + ".") for p in PUBLIC_PACKAGES)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every trackwell module ``path`` names in an import, ``if TYPE_CHECKING:`` blocks
    included (an annotation's type is part of what a plugin depends on)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
    return {m for m in out if m.split(".")[0] == "trackwell"}


def test_integrations_plugins_and_the_server_import_only_public_modules() -> None:
    core = set(_modules(ROOT / "core" / "src", "trackwell"))
    bad = []
    for src, top in SOURCES:
        if top == "trackwell":
            continue
        for name, path in _modules(src, top).items():
            for target in _imports(path, core):
                if target.split(".")[0] == "trackwell" and not _public(target):
                    bad.append(f"{path.relative_to(ROOT)}: {name} imports {target}")
    assert not bad, "internal trackwell modules imported (use trackwell.extend):\n" + "\n".join(sorted(set(bad)))


def test_every_extension_name_resolves_and_is_documented() -> None:
    extend = importlib.import_module("trackwell.extend")
    doc = extend.__doc__ or ""
    assert extend.__all__ == sorted(extend.__all__)
    for name in extend.__all__:
        assert getattr(extend, name) is not None
        assert f"``{name}``" in doc, f"trackwell.extend.{name} is not documented in the module docstring"


def test_importing_the_extension_api_is_cheap() -> None:
    """Its names resolve on first use: importing it adds nothing to ``import trackwell``."""
    code = (
        "import sys, trackwell; before = set(sys.modules); import trackwell.extend; "
        "print(sorted(set(sys.modules) - before - {'trackwell.extend'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["on_finish", "run_directory"])
def test_the_helpers_use_only_the_runs_interface(name: str) -> None:
    """The extension helpers are defined in extend.py itself (not re-exported internals)."""
    tree = ast.parse((ROOT / "core" / "src" / "trackwell" / "extend.py").read_text(encoding="utf-8"))
    assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
