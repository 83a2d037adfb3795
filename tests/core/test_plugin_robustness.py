"""A broken plugin costs only itself: one warning naming it, and the run goes on."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import trackwell
from trackwell import rundir
from trackwell._pipeline.runlog import Kind, read_log
from trackwell.cli.plugins import register as register_plugins_command
from trackwell.errors import PluginWarning
from trackwell.plugins import (
    create_plugin_manager,
    get_plugin_manager,
    plugin_info,
)
from trackwell.run import Run

MakeDist = Callable[..., None]


@pytest.fixture(autouse=True)
def fresh_manager(plugin_env: None) -> Iterator[None]:
    """``plugin_env`` (tests/core/conftest.py), finishing any run a test left open."""
    yield
    while trackwell.run is not None:
        trackwell.finish()


def _history(run: Run) -> list[dict[str, Any]]:
    log = rundir.find_log(Path(run._run_dir))
    assert log is not None
    return [r.body for r in read_log(log).records if r.kind == Kind.HISTORY]


def _exit_state(run: Run) -> str:
    log = rundir.find_log(Path(run._run_dir))
    assert log is not None
    exits = [r.body for r in read_log(log).records if r.kind == Kind.EXIT]
    return str(exits[-1]["state"])


def _plugin_warnings(record: Sequence[warnings.WarningMessage], plugin: str) -> list[str]:
    """PluginWarnings about ``plugin`` (other installed plugins may warn too)."""
    return [
        str(w.message)
        for w in record
        if issubclass(w.category, PluginWarning) and repr(plugin) in str(w.message)
    ]


def test_a_plugin_that_fails_to_import_is_skipped_with_one_warning(
    make_dist: MakeDist, trackwell_dir: Path
) -> None:
    make_dist("brokenimport", "import a_module_that_does_not_exist\n", "2.0")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run = trackwell.init(project="p")
        run.log({"loss": 1.0})
        run.finish()
    messages = _plugin_warnings(record, "brokenimport")
    assert len(messages) == 1
    assert "'brokenimport' (package brokenimport 2.0) could not be loaded" in messages[0]
    assert "a_module_that_does_not_exist" in messages[0]
    assert "TRACKWELL_DISABLE_PLUGINS=brokenimport" in messages[0]
    assert [row["loss"] for row in _history(run)] == [1.0]
    info = {p["name"]: p for p in plugin_info(get_plugin_manager())}["brokenimport"]
    assert info["version"] == "2.0" and "ModuleNotFoundError" in info["error"]


def test_a_plugin_whose_import_raises_anything_is_skipped(make_dist: MakeDist) -> None:
    make_dist("raisingimport", "raise RuntimeError('no config found')\n")
    make_dist("exitingimport", "import sys\nsys.exit('no GPU, giving up')\n")
    with pytest.warns(PluginWarning) as record:
        pm = create_plugin_manager()
    messages = "\n".join(str(w.message) for w in record)
    assert "'raisingimport' (package raisingimport 0.1) could not be loaded" in messages
    assert "RuntimeError: no config found" in messages
    assert "'exitingimport'" in messages and "SystemExit: no GPU, giving up" in messages
    assert not pm.has_plugin("raisingimport") and not pm.has_plugin("exitingimport")


def test_a_plugin_registered_in_code_is_listed_as_such(register_plugin: Callable[..., str]) -> None:
    register_plugin(Counting(), name="in_code")
    info = {p["name"]: p for p in plugin_info(get_plugin_manager())}["in_code"]
    assert info == {
        "name": "in_code",
        "version": None,
        "package": "(registered in code)",
        "hooks": ["on_log", "on_run_finish"],
    }


class Exploding:
    """Raises in every run hook."""

    def __init__(self) -> None:
        self.calls = 0

    @trackwell.hookimpl
    def on_run_start(self, run: Run) -> None:
        raise ValueError("start went wrong")

    @trackwell.hookimpl
    def on_log(self, run: Run, rows: Sequence[dict[str, Any]]) -> None:
        self.calls += 1
        raise KeyError("rows went wrong")

    @trackwell.hookimpl
    def on_run_finish(self, run: Run, exit_code: int, state: str) -> None:
        raise RuntimeError("finish went wrong")


class Counting:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.finished: list[str] = []

    @trackwell.hookimpl
    def on_log(self, run: Run, rows: Sequence[dict[str, Any]]) -> None:
        self.rows.extend(rows)

    @trackwell.hookimpl
    def on_run_finish(self, run: Run, exit_code: int, state: str) -> None:
        self.finished.append(state)


def test_exceptions_in_hooks_warn_once_per_hook_and_spare_other_plugins(
    register_plugin: Callable[..., str],
) -> None:
    exploding, counting = Exploding(), Counting()
    register_plugin(exploding, name="exploding")
    register_plugin(counting, name="counting")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run = trackwell.init(project="p")
        for i in range(3):
            run.log({"loss": float(i)})
            assert run.flush()  # three separate on_log batches
        run.finish()
    assert exploding.calls >= 3
    messages = _plugin_warnings(record, "exploding")
    assert len(messages) == 3, messages  # one per failing hook, not one per call
    joined = "\n".join(messages)
    for hook, error in (
        ("on_run_start", "ValueError: start went wrong"),
        ("on_log", "KeyError: 'rows went wrong'"),
        ("on_run_finish", "RuntimeError: finish went wrong"),
    ):
        assert f"plugin 'exploding' raised in its {hook} hook" in joined
        assert error in joined
    assert "test_plugin_robustness.py:" in joined  # where in the plugin it failed
    # The well-behaved plugin saw everything; the run and its log are intact.
    assert [row["loss"] for row in counting.rows] == [0.0, 1.0, 2.0]
    assert counting.finished == ["finished"]
    assert [row["loss"] for row in _history(run)] == [0.0, 1.0, 2.0]
    assert _exit_state(run) == "finished"


def test_an_alert_sink_that_raises_does_not_stop_the_others(register_plugin: Callable[..., str]) -> None:
    delivered: list[str] = []

    class BadSinks:
        @trackwell.hookimpl
        def register_alert_sinks(self, register: Callable[..., None]) -> None:
            raise OSError("cannot reach the pager")

    class GoodSinks:
        @trackwell.hookimpl
        def register_alert_sinks(self, register: Callable[..., None]) -> None:
            register("list", lambda run, alert: delivered.append(alert.title))

    register_plugin(BadSinks(), name="bad_sinks")
    register_plugin(GoodSinks(), name="good_sinks")
    with pytest.warns(PluginWarning, match=r"'bad_sinks' raised in its register_alert_sinks hook"):
        run = trackwell.init(project="p")
        run.alert("hello", "world")
        run.finish()
    assert delivered == ["hello"]


def test_disable_plugins_setting_in_the_workspace_settings_file(
    make_dist: MakeDist, trackwell_dir: Path
) -> None:
    make_dist("myplugin", "from trackwell import hookimpl\n\n@hookimpl\ndef on_run_start(run):\n    pass\n")
    settings = trackwell_dir / "trackwell" / "settings"
    settings.parent.mkdir()
    settings.write_text("[default]\ndisable_plugins = myplugin, console_alerts\n")
    pm = create_plugin_manager()
    assert not pm.has_plugin("myplugin") and not pm.has_plugin("console_alerts")
    assert pm.is_blocked("myplugin")
    rows = {p["name"]: p for p in plugin_info(pm)}
    assert rows["myplugin"]["error"] == "disabled"


def test_disable_plugins_through_init_settings(make_dist: MakeDist, trackwell_dir: Path) -> None:
    make_dist("myplugin", "from trackwell import hookimpl\n\n@hookimpl\ndef on_run_start(run):\n    pass\n")
    run = trackwell.init(project="p", settings={"disable_plugins": ["myplugin"]})
    assert get_plugin_manager().is_blocked("myplugin")  # built with the first run's settings
    run.finish()


def test_cli_shows_broken_and_disabled_plugins(make_dist: MakeDist, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist("brokenimport", "import a_module_that_does_not_exist\n", "2.0")
    monkeypatch.setenv("TRACKWELL_DISABLE_PLUGINS", "system_nvml")
    group = click.Group("trackwell")
    register_plugins_command(group)
    with pytest.warns(PluginWarning):
        result = CliRunner().invoke(group, ["plugins"], catch_exceptions=False)
    lines = result.output.splitlines()
    broken = next(line for line in lines if line.startswith("brokenimport "))
    assert "2.0" in broken and "(not loaded: ModuleNotFoundError" in broken
    assert "(disabled)" in next(line for line in lines if line.startswith("system_nvml "))
    data = {p["name"]: p for p in json.loads(CliRunner().invoke(group, ["plugins", "--json"]).output)}
    assert data["brokenimport"]["hooks"] == [] and data["system_nvml"]["error"] == "disabled"


def test_guarding_keeps_tryfirst_and_trylast() -> None:
    order: list[str] = []

    class First:
        @trackwell.hookimpl(tryfirst=True)
        def register_commands(self, cli: object) -> None:
            order.append("first")

    class Plain:
        @trackwell.hookimpl
        def register_commands(self, cli: object) -> None:
            raise RuntimeError("plain is broken")

    class Last:
        @trackwell.hookimpl(trylast=True)
        def register_commands(self, cli: object) -> None:
            order.append("last")

    pm = create_plugin_manager(load_entry_points=False)
    for name, plugin in (("first", First()), ("last", Last()), ("plain", Plain())):
        pm.register(plugin, name=name)
    with pytest.warns(PluginWarning, match="'plain' raised in its register_commands hook"):
        pm.hook.register_commands(cli=click.Group("trackwell"))  # the default plugins add to it too
    assert order == ["first", "last"]  # the broken one in the middle did not stop "last"
