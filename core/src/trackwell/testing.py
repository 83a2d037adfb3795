"""pytest plugin shipped with trackwell: fixtures for testing code that logs runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from trackwell.run import Run


@pytest.fixture
def trackwell_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with TRACKWELL_* settings isolated from the user's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKWELL_CONFIG_DIR", str(tmp_path / ".config"))
    monkeypatch.setenv("TRACKWELL_X_DISABLE_STATS", "true")
    monkeypatch.setenv("TRACKWELL_SILENT", "true")
    for name in ("MODE", "PROJECT", "ENTITY", "DIR", "BASE_URL", "API_KEY", "RUN_ID", "RESUME"):
        for prefix in ("TRACKWELL_", "WANDB_"):
            monkeypatch.delenv(prefix + name, raising=False)
    return tmp_path


@pytest.fixture
def offline_run(trackwell_dir: Path) -> Iterator[Run]:
    """A live offline run in ``trackwell_dir``; finished at teardown if the test did not."""
    import trackwell

    run = trackwell.init(project="test", mode="offline")
    yield run
    run.finish()


@pytest.fixture
def register_plugin(trackwell_dir: Path) -> Iterator[Callable[..., str]]:
    """Register plugin objects with the SDK's plugin manager for one test.

    ``register_plugin(obj, name=None)`` returns the name used. At teardown, runs the
    test left open are finished (they hold the manager) and the plugins unregistered.
    """
    import trackwell
    from trackwell.plugins import get_plugin_manager

    pm = get_plugin_manager()
    added: list[object] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = pm.register(plugin, name=name)
        if registered is None:
            raise ValueError(f"plugin {name or plugin!r} is blocked or already registered")
        added.append(plugin)
        return registered

    yield register
    while trackwell.run is not None:
        trackwell.finish()
    for plugin in added:
        pm.unregister(plugin)
