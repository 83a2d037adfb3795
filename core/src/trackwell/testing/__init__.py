"""pytest plugin shipped with trackwell: fixtures for testing code that logs runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    monkeypatch.setenv("TRACKWELL_CACHE_DIR", str(tmp_path / ".cache"))  # artifacts
    for name in ("MODE", "PROJECT", "ENTITY", "DIR", "BASE_URL", "API_KEY", "RUN_ID", "RESUME"):
        for prefix in ("TRACKWELL_", "WANDB_"):
            monkeypatch.delenv(prefix + name, raising=False)
    return tmp_path


@pytest.fixture
def offline_run(trackwell_dir: Path) -> Iterator[Run]:
    """A live offline run in ``trackwell_dir``; finished at teardown if the test did not."""
    yield from _live_run("offline")


@pytest.fixture(scope="session")
def trackwell_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real trackwell server (server-lite) on a free 127.0.0.1 port, for the whole session.

    It runs in this process with its own temporary storage. The handle has ``url``,
    ``admin_key``, ``create_user(name)`` (returns the new user's API key) and ``stop()``.
    Tests that need the server are skipped, saying why, when ``trackwell_server`` is not
    installed. Session-scoped because starting one takes a moment: give each test its
    own project or run ids.
    """
    try:
        from trackwell_server.testing import start_server
    except ImportError as exc:
        pytest.skip(f"the trackwell server is not installed (pip install -e server-lite): {exc}")
    handle = start_server(tmp_path_factory.mktemp("trackwell-server"))
    yield handle
    handle.stop()


@pytest.fixture
def trackwell_online_dir(trackwell_dir: Path, trackwell_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``trackwell_dir`` with TRACKWELL_BASE_URL and TRACKWELL_API_KEY set to ``trackwell_server``."""
    monkeypatch.setenv("TRACKWELL_BASE_URL", trackwell_server.url)
    if trackwell_server.admin_key:
        monkeypatch.setenv("TRACKWELL_API_KEY", trackwell_server.admin_key)
    return trackwell_dir


@pytest.fixture
def online_run(trackwell_online_dir: Path) -> Iterator[Run]:
    """A live run streaming to ``trackwell_server``; finished at teardown if the test did not."""
    yield from _live_run("online")


def _live_run(mode: str) -> Iterator[Run]:
    """The body of ``offline_run`` and ``online_run``: a run of project "test", finished after."""
    import trackwell

    run = trackwell.init(project="test", mode=mode)
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
