"""The terminal output as a built-in plugin: the report hooks, and settings plugins handle."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.errors import PluginWarning, TrackwellWarning
from trackwell.plugins import get_plugin_manager
from trackwell.run import Run


class Reporter:
    """Records the report hooks: (hook name, thread name, details)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    @trackwell.hookimpl
    def report_run_start(self, run: Run) -> None:
        self.calls.append(("report_run_start", threading.current_thread().name, run.id))

    @trackwell.hookimpl
    def report_run_finish(
        self, run: Run, summary: Mapping[str, Any], history: Mapping[str, Sequence[float]], alerts: int
    ) -> None:
        details = (run.state, dict(summary), {k: list(v) for k, v in history.items()}, alerts)
        self.calls.append(("report_run_finish", threading.current_thread().name, details))


def test_hook_report_run_start(register_plugin: Callable[..., str]) -> None:
    reporter = Reporter()
    register_plugin(reporter)
    run = trackwell.init(project="p")
    # on the caller's thread, before init() returns
    assert reporter.calls == [("report_run_start", threading.current_thread().name, run.id)]
    run.finish()


def test_hook_report_run_finish(register_plugin: Callable[..., str]) -> None:
    reporter = Reporter()
    register_plugin(reporter)
    run = trackwell.init(project="p", settings={"console": "off"})
    for i in range(5):
        run.log({"loss": 1.0 / (i + 1), "note": "text"})
    run.alert("a", "b")
    run.finish()
    name, thread, (state, summary, history, alerts) = reporter.calls[-1]
    assert (name, thread, state, alerts) == ("report_run_finish", threading.current_thread().name, "finished", 1)
    assert summary["loss"] == pytest.approx(0.2) and summary["_step"] == 4
    assert history == {"loss": [1.0, 0.5, 1 / 3, 0.25, 0.2]}  # numeric metrics only


def test_a_broken_report_costs_nothing(register_plugin: Callable[..., str], trackwell_dir: Path) -> None:
    class Broken:
        @trackwell.hookimpl
        def report_run_start(self, run: Run) -> None:
            raise RuntimeError("boom")

        @trackwell.hookimpl
        def report_run_finish(self, run: Run) -> None:
            raise RuntimeError("boom")

    register_plugin(Broken())
    with pytest.warns(PluginWarning, match="report_run_"):  # the plugin manager's guard
        run = trackwell.init(project="p")
        run.log({"x": 1})
        run.finish()
    assert run.state == "finished" and trackwell.run is None


def _script(tmp_path: Path, env: dict[str, str], body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_terminal_plugin_prints_and_can_be_blocked(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKWELL_")}
    body = """
        import trackwell
        run = trackwell.init(project="p", mode="offline", settings={"console": "off"})
        for i in range(3):
            run.log({"loss": 3 - i})
        run.finish()
    """
    shown = _script(tmp_path, env, body)
    assert shown.returncode == 0, shown.stderr
    assert "trackwell: Tracking run" in shown.stderr and "trackwell: Run history:" in shown.stderr
    assert "trackwell sync " in shown.stderr
    blocked = _script(tmp_path, env | {"TRACKWELL_DISABLE_PLUGINS": "terminal"}, body)
    assert blocked.returncode == 0, blocked.stderr
    assert "trackwell:" not in blocked.stderr


def test_hook_handles_setting(register_plugin: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    """init() asks the plugins whether one handles sync_tensorboard, and warns when none does."""
    pm = get_plugin_manager()
    monkeypatch.setattr(pm.hook, "handles_setting", lambda name: None)  # as if no plugin did
    with pytest.warns(TrackwellWarning, match="sync_tensorboard"):
        trackwell.init(project="p", sync_tensorboard=True, settings={"console": "off"}).finish()
    monkeypatch.undo()

    class Handles:
        @trackwell.hookimpl
        def handles_setting(self, name: str) -> bool | None:
            return True if name == "sync_handled_here" else None

    register_plugin(Handles())
    assert pm.hook.handles_setting(name="sync_handled_here") is True
    assert pm.hook.handles_setting(name="something_else") is None
