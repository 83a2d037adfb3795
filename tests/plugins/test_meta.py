"""Every module of the first-party plugins imports cleanly, warnings as errors; each
plugin uses trackwell's public API only."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
PACKAGES = {
    "trackwell_webhook": PLUGINS / "webhook",
    "trackwell_tensorboard": PLUGINS / "tensorboard",
    "trackwell_optuna": PLUGINS / "optuna",
}
#: The trackwell modules a plugin may import: the package, its hook marker, its errors,
#: and the extension API (the classes hooks receive, what a plugin needs beyond them).
PUBLIC = {"trackwell", "trackwell.errors", "trackwell.plugins", "trackwell.extend"}


def _modules(package: str) -> list[str]:
    src = PACKAGES[package] / "src" / package
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(src)])]


@pytest.mark.parametrize("module", [m for p in PACKAGES for m in _modules(p)])
def test_imports_with_warnings_as_errors(module: str) -> None:
    pytest.importorskip(module.split(".")[0])
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_plugins_use_only_the_public_api(package: str) -> None:
    for path in (PACKAGES[package] / "src" / package).glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # type hints included: Run and Alert come from trackwell.extend
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trackwell."):
                assert node.module in PUBLIC, f"{path.name} imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("trackwell."):
                        assert alias.name in PUBLIC, f"{path.name} imports {alias.name}"
