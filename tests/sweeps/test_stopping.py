"""Hyperband stopping live runs through the server, the stop-as-it-returns race, and a
local controller that suggests the same after a restart (in another process)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackwell
from trackwell.sweeps.client import SweepClient
from trackwell.sweeps.local_controller import sweep_seed
from trackwell.sweeps.runner import Agent


@pytest.fixture
def server_env(trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACKWELL_SWEEP_HEARTBEAT", "0.1")
    return trackwell_online_dir


def test_hyperband_stops_the_bad_live_run(server_env: Path) -> None:
    sweep_id = trackwell.sweep(
        {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
         "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
         "parameters": {"a": {"values": [0.1, 5.0]}}},
        project="hyperband",
    )  # fmt: skip
    steps: dict[float, int] = {}

    def train() -> None:
        run = trackwell.init()
        a = run.config.a
        deadline = time.monotonic() + 60
        step = 0
        while time.monotonic() < deadline and ((a < 1 and step < 9) or a >= 1):
            run.log({"loss": a * (1 + 1 / (step + 1))})
            steps[a] = step = step + 1
            time.sleep(0.02)  # a training step's work; the heartbeat stops the bad run meanwhile

    trackwell.agent(sweep_id, function=train)
    info = SweepClient(sweep_id).info()
    states = {r["config"]["a"]: r["state"] for r in info["runs"]}
    assert states == {0.1: "finished", 5.0: "stopped"}, (states, steps)
    assert 3 <= steps[5.0] < 1000  # stopped soon after its first bracket (3), not at the deadline
    bad = next(r for r in info["runs"] if r["config"]["a"] == 5.0)
    run = trackwell.Api().run(f"hyperband/{bad['run_id']}")
    assert run.summary["loss"] == pytest.approx(5.0 * (1 + 1 / steps[5.0]))


def test_a_stop_as_the_function_returns_is_harmless(
    server_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each trial asks to be stopped, then returns at once: the heartbeat's stop lands
    # before, during or after the return; the agent must go on in every case.
    monkeypatch.setenv("TRACKWELL_SWEEP_HEARTBEAT", "0.002")
    sweep_id = trackwell.sweep(
        {"method": "grid", "parameters": {"a": {"values": list(range(25))}}}, project="race"
    )
    client = SweepClient(sweep_id)

    def train() -> None:
        run = trackwell.init()
        client.stop_run(run.id)
        end = time.perf_counter() + run.config.a * 0.0005
        while time.perf_counter() < end:  # a little work, so the stop lands at different points
            pass

    agent = Agent(sweep_id, train)
    agent.run()
    assert len(agent.results) == 25
    assert {state for _, state in agent.results} <= {"finished", "stopped"}
    assert client.info()["state"] == "FINISHED"


def test_the_local_controller_seed_is_the_same_in_every_process() -> None:
    code = "from trackwell.sweeps.local_controller import sweep_seed; print(sweep_seed('ab12cd34'))"
    seeds = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
             for _ in range(2)}  # fmt: skip
    assert seeds == {str(sweep_seed("ab12cd34"))} and sweep_seed("ab12cd34") != sweep_seed("ab12cd35")
