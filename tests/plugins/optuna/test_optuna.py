"""trackwell-optuna: ``method: optuna`` in a sweep, through the plugin hook only."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.sweeps.client import SweepClient
from trackwell.sweeps.engine import Trial, methods, next_params, validate

pytest.importorskip("optuna")
pytest.importorskip("trackwell_optuna")

EVERY_DISTRIBUTION = {
    "c": {"value": "fixed"},
    "cat": {"values": [[1, 2], {"a": 1}, "s"]},
    "i": {"min": -3, "max": 4},
    "u": {"min": -1.5, "max": 2.5},
    "qu": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
    "lu": {"distribution": "log_uniform", "min": -4.0, "max": 0.0},
    "luv": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
    "qluv": {"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 8},
    "ilu": {"distribution": "inv_log_uniform", "min": 1.0, "max": 3.0},
    "iluv": {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 0.5},
    "n": {"distribution": "normal", "mu": 2.0, "sigma": 0.5},
    "qn": {"distribution": "q_normal", "mu": 0.0, "sigma": 3.0, "q": 0.5},
    "ln": {"distribution": "log_normal", "mu": 0.0, "sigma": 1.0},
    "b": {"distribution": "beta", "a": 2.0, "b": 5.0},
    "nested": {"parameters": {"lr": {"min": 0.0, "max": 1.0}}},
}


def legal(p: dict[str, Any]) -> None:
    assert p["c"] == "fixed" and p["cat"] in ([1, 2], {"a": 1}, "s")
    assert type(p["i"]) is int and -3 <= p["i"] <= 4
    assert -1.5 <= p["u"] <= 2.5 and p["qu"] in (0, 2, 4, 6, 8, 10)
    assert math.exp(-4) <= p["lu"] <= 1.0 and 1e-5 <= p["luv"] <= 1e-1
    assert type(p["qluv"]) is int and p["qluv"] % 8 == 0 and 8 <= p["qluv"] <= 256
    assert math.exp(-3) <= p["ilu"] <= math.exp(-1) and 0.01 <= p["iluv"] <= 0.5
    assert (p["qn"] / 0.5).is_integer() and p["ln"] > 0 and 0 <= p["b"] <= 1
    assert 0.0 <= p["nested.lr"] <= 1.0


def test_registered_through_the_hook_and_every_suggestion_is_legal() -> None:
    assert "optuna" in methods()
    cfg = validate({"method": "optuna", "metric": {"name": "m"}, "parameters": EVERY_DISTRIBUTION})
    rng = random.Random(0)
    trials: list[Trial] = []
    for i in range(20):  # random startup trials, then TPE; some failed and some running ones too
        d = next_params(cfg, trials, seed=3)
        assert d.action == "run" and d.params is not None
        legal(d.params)
        state = "failed" if i % 7 == 3 else "running" if i == 19 else "finished"
        metric = None if state != "finished" else d.params["u"] ** 2 + rng.random()
        trials.append(Trial(str(i), d.params, state, metric))


def branin(p: dict[str, float]) -> float:
    x, y = p["x"], p["y"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def best_after(method: str, n: int, seed: int) -> float:
    cfg = validate({"method": method, "metric": {"name": "f", "goal": "maximize"},
                    "parameters": {"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}}})  # fmt: skip
    trials: list[Trial] = []
    for i in range(n):
        d = next_params(cfg, trials, seed=seed)
        assert d.params is not None
        trials.append(Trial(str(i), d.params, "finished", -branin(d.params)))  # maximize -f
    return max(t.metric for t in trials if t.metric is not None)


def test_tpe_improves_on_random_on_branin() -> None:
    seeds = range(5)
    tpe = sum(-best_after("optuna", 30, s) - 0.397887 for s in seeds) / len(seeds)
    rand = sum(-best_after("random", 30, s) - 0.397887 for s in seeds) / len(seeds)
    assert tpe < 0.7 * rand, (tpe, rand)


def test_an_optuna_sweep_runs_through_the_agent(
    trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_SWEEP_HEARTBEAT", "0.2")

    def train() -> None:
        run = trackwell.init()
        run.log({"loss": (run.config.lr - 0.01) ** 2 + run.config.layers})

    sweep_id = trackwell.sweep(
        {"method": "optuna", "metric": {"name": "loss", "goal": "minimize"}, "run_cap": 8,
         "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1.0},
                        "layers": {"min": 1, "max": 4}}},
        project="optuna",
    )  # fmt: skip
    trackwell.agent(sweep_id, function=train)
    info = SweepClient(sweep_id).info()
    assert info["state"] == "FINISHED" and info["run_count"] == 8
    for r in info["runs"]:
        assert (
            r["state"] == "finished"
            and 1e-4 <= r["config"]["lr"] <= 1.0
            and r["config"]["layers"] in (1, 2, 3, 4)
        )
        assert r["metric"] == pytest.approx((r["config"]["lr"] - 0.01) ** 2 + r["config"]["layers"])
    best = trackwell.Api().sweep(f"optuna/{sweep_id}").best_run()
    assert best is not None and best.summary["loss"] == min(r["metric"] for r in info["runs"])
