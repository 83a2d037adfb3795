"""pytest plugin shipped with trackwell: fixtures and helpers for testing code that logs runs.

Registered by the ``pytest11`` entry point, so its fixtures are there in any test suite
of a project that installs trackwell: ``trackwell_dir``, ``offline_run``,
``trackwell_server`` (a real server, started by server-lite's pytest plugin through the
hook in ``trackwell.testing.hookspecs``; skipped, saying why, without it),
``trackwell_online_dir``, ``online_run``, ``register_plugin``, ``hook_recorder`` and
``script_runner``. The helpers, grown toward pytest's own ``pytester``, are importable
from here: ``wait_until`` and ``free_port``, ``FaultProxy`` (network faults in front of a
real server), ``ScriptRunner`` (a user's script in a child process, with outcome
assertions), ``HookRecorder``. They load on first use: this module is imported by every
pytest session of such a project, so it stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from trackwell.run import Run
    from trackwell.testing.hooks import HookCall, HookRecorder
    from trackwell.testing.proxy import Exchange, FaultProxy
    from trackwell.testing.scripts import ScriptResult, ScriptRunner
    from trackwell.testing.waiting import free_port, wait_until

__all__ = [
    "Exchange",
    "FaultProxy",
    "HookCall",
    "HookRecorder",
    "ScriptResult",
    "ScriptRunner",
    "free_port",
    "wait_until",
]

_HOMES = {
    "Exchange": "proxy", "FaultProxy": "proxy", "HookCall": "hooks", "HookRecorder": "hooks",
    "ScriptResult": "scripts", "ScriptRunner": "scripts", "free_port": "waiting", "wait_until": "waiting",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from trackwell.testing import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


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
def trackwell_server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real trackwell server (server-lite) on a free 127.0.0.1 port, for the whole session.

    It runs in this process with its own temporary storage. The handle has ``url``,
    ``admin_key``, ``create_user(name)`` (returns the new user's API key) and ``stop()``.
    Tests that need the server are skipped, saying why, when the server is not installed
    (its pytest plugin starts it: the SDK does not import the server). Session-scoped
    because starting one takes a moment: give each test its own project or run ids.
    """
    data_dir = tmp_path_factory.mktemp("trackwell-server")
    handle = pytestconfig.hook.pytest_trackwell_start_server(data_dir=data_dir)
    if handle is None:
        pytest.skip("the trackwell server is not installed: pip install -e server-lite (from the repository)")
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


@pytest.fixture
def hook_recorder(trackwell_dir: Path) -> Iterator[HookRecorder]:
    """Every hook call the SDK's plugin manager makes during the test (a ``HookRecorder``)."""
    from trackwell.plugins import get_plugin_manager
    from trackwell.testing.hooks import HookRecorder

    recorder = HookRecorder(get_plugin_manager())
    yield recorder
    recorder.finish_recording()


@pytest.fixture
def script_runner(trackwell_dir: Path) -> ScriptRunner:
    """A ``ScriptRunner`` in ``trackwell_dir``, its children seeing that fixture's isolated settings."""
    import os

    from trackwell.testing.scripts import ScriptRunner

    return ScriptRunner(trackwell_dir, dict(os.environ))
