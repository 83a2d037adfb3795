"""Tests of the plugin, with the pytest fixtures trackwell ships (``trackwell.testing``)."""

from __future__ import annotations

from pathlib import Path

from trackwell_example import plugin

import trackwell
from trackwell.plugins import get_plugin_manager


def test_the_installed_plugin_is_loaded_through_its_entry_point() -> None:
    # `pip install -e .` registered the entry point, so every run calls the plugin.
    assert get_plugin_manager().get_plugin("example") is plugin


def test_a_finished_run_records_its_state(trackwell_dir: Path) -> None:
    run = trackwell.init(project="test")
    run.log({"loss": 0.25})
    run.finish()
    assert run.summary["example/final_state"] == "finished"
    assert trackwell.Api().run(f"{run.project}/{run.id}").summary["example/final_state"] == "finished"


def test_a_failed_run_records_failed(trackwell_dir: Path) -> None:
    run = trackwell.init(project="test")
    run.finish(exit_code=1)
    assert run.summary["example/final_state"] == "failed"


def test_the_hook_alone(offline_run: trackwell.Run) -> None:
    # Hooks are plain functions: call one directly for a unit test.
    plugin.on_run_finish(offline_run, exit_code=0, state="finished")
    offline_run.flush()
    assert offline_run.summary["example/final_state"] == "finished"
