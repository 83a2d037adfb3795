"""Fixtures shared by the plugin tests (test_plugins.py, test_plugin_robustness.py)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trackwell.plugins import ENTRY_POINT_GROUP, reset_plugin_manager


@pytest.fixture
def plugin_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No plugin env knobs from the caller, and a fresh plugin manager before and after."""
    for var in ("TRACKWELL_DISABLE_PLUGINS", "TRACKWELL_LOAD_PLUGINS", "TRACKWELL_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Install a real distribution (a package and its dist-info) on sys.path.

    ``make_dist(name, source, version="0.1")``: the package ``name`` with ``source`` as
    its ``__init__.py``, declaring itself as a trackwell plugin entry point.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def make(name: str, source: str, version: str = "0.1") -> None:
        (site / name).mkdir()
        (site / name / "__init__.py").write_text(textwrap.dedent(source))
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {name}\n")
        modules.append(name)

    yield make
    for name in modules:
        sys.modules.pop(name, None)
