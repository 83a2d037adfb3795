"""Sweeps against the real server: agents in this process and in 3 parallel processes, crashes, states, api.sweep."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import trackwell
import trackwell as wandb
from trackwell.sweeps.client import SweepClient


@pytest.fixture
def server_env(trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACKWELL_SWEEP_HEARTBEAT", "0.2")
    return trackwell_online_dir


def test_reference_quickstart_runs_unchanged(server_env: Path) -> None:
    # models-docs §2.1, with `import trackwell as wandb`
    def objective(config: Any) -> float:
        return float(config.x**3 + config.y)

    def main() -> None:
        wandb.init(project="my-first-sweep")
        score = objective(wandb.config)
        wandb.log({"score": score})

    sweep_configuration = {
        "method": "random",
        "metric": {"goal": "minimize", "name": "score"},
        "parameters": {"x": {"max": 0.1, "min": 0.01}, "y": {"values": [1, 3, 7]}},
    }
    sweep_id = wandb.sweep(sweep=sweep_configuration, project="my-first-sweep")
    wandb.agent(sweep_id, function=main, count=4)
    sweep = wandb.Api().sweep(f"my-first-sweep/{sweep_id}")
    assert len(sweep.runs) == 4 and sweep.state == "RUNNING"
    for run in sweep.runs:
        assert 0.01 <= run.config["x"] <= 0.1 and run.config["y"] in (1, 3, 7)
        assert run.summary["score"] == pytest.approx(run.config["x"] ** 3 + run.config["y"])
    best = sweep.best_run()
    assert best is not None and best.summary["score"] == min(r.summary["score"] for r in sweep.runs)


def test_crashed_trial_is_recorded_and_the_agent_goes_on(server_env: Path) -> None:
    calls: list[int] = []

    def main() -> None:
        run = trackwell.init()
        calls.append(run.config["a"])
        if len(calls) == 1:
            raise RuntimeError("boom")
        run.log({"loss": 1.0})

    sweep_id = trackwell.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2, 3]}}}, project="crash"
    )
    trackwell.agent(sweep_id, function=main)  # until the grid is exhausted
    info = SweepClient(sweep_id).info()
    assert calls == [1, 2, 3]
    assert [r["state"] for r in info["runs"]] == ["failed", "finished", "finished"]
    assert "boom" in info["runs"][0]["error"] and info["state"] == "FINISHED"


def test_pause_resume_cancel_and_run_cap(server_env: Path) -> None:
    sweep_id = trackwell.sweep(
        {"method": "random", "run_cap": 2, "parameters": {"a": {"min": 0.0, "max": 1.0}}}, project="states"
    )
    client = SweepClient(sweep_id)
    assert client.set_state("PAUSED")["state"] == "PAUSED"
    assert client.next("t")["action"] == "wait"
    client.set_state("RUNNING")
    trackwell.agent(sweep_id, function=lambda: trackwell.init().log({"x": 1}), count=5)
    info = client.info()
    assert info["run_count"] == 2 and info["state"] == "FINISHED" and "run_cap" in info["done_reason"]
    with pytest.raises(trackwell.CommError):
        client.set_state("RUNNING")


def test_three_agent_processes_never_share_a_grid_point(server_env: Path, tmp_path: Path) -> None:
    sweep_id = trackwell.sweep(
        {"method": "grid", "metric": {"name": "loss"}, "program": "train.py",
         "parameters": {"a": {"values": list(range(6))}, "b": {"values": ["x", "y"]}}},
        project="parallel",
    )  # fmt: skip
    (tmp_path / "train.py").write_text(
        textwrap.dedent(
            """
            import trackwell as wandb
            run = wandb.init()
            run.log({"loss": run.config.a + (run.config.b == "y")})
            run.finish()
            """
        )
    )
    agent = f"import trackwell; trackwell.agent({sweep_id!r}, project='parallel')"
    procs = [
        subprocess.Popen([sys.executable, "-c", agent], cwd=tmp_path, env=dict(os.environ)) for _ in range(3)
    ]
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    info = SweepClient(sweep_id).info()
    points = [(r["config"]["a"], r["config"]["b"]) for r in info["runs"]]
    assert sorted(points) == sorted((a, b) for a in range(6) for b in ("x", "y"))
    assert all(r["state"] == "finished" for r in info["runs"])
    best = trackwell.Api().sweep(f"parallel/{sweep_id}").best_run()
    assert best is not None and best.config["a"] == 0 and best.config["b"] == "x"


def test_local_controller_schedules_for_the_agents(server_env: Path) -> None:
    config = {"method": "grid", "controller": {"type": "local"}, "parameters": {"a": {"values": [1, 2]}}}
    sweep_id = trackwell.sweep(config, project="local")
    ctl = trackwell.controller(sweep_id)
    seen: list[int] = []
    for _ in range(2):
        ctl.step()
        trackwell.agent(sweep_id, function=lambda: seen.append(trackwell.init().config["a"]), count=1)
    ctl.step()
    assert seen == [1, 2] and ctl.done()


def test_bad_config_fails_before_the_server(server_env: Path) -> None:
    with pytest.raises(trackwell.UsageError, match=r"parameters\.lr: give both min and max"):
        trackwell.sweep({"method": "random", "parameters": {"lr": {"min": 0.1}}})
