"""run.watch / trackwell.watch: histograms against torch.histc on the real tensors, hooks, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import trackwell
from trackwell.errors import UsageError
from trackwell_torch.hooks import HIST_BINS


def mlp() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def hist(row: dict[str, Any], key: str) -> tuple[list[float], list[float]] | None:
    """A histogram read back: W&B's whole ``_type: histogram`` record, never flattened keys."""
    assert f"{key}.values" not in row and f"{key}.bins" not in row
    value = row.get(key)
    if value is None:
        return None
    assert set(value) == {"_type", "values", "bins"} and value["_type"] == "histogram", value
    return value["values"], value["bins"]


def rows_of(run: trackwell.Run) -> list[dict[str, Any]]:
    return list(trackwell.Api().run(f"{run.project}/{run.id}").scan_history())


def train(model: torch.nn.Module, run: trackwell.Run, steps: int) -> list[dict[str, torch.Tensor]]:
    """``steps`` steps logging ``loss``; the real gradients of every step."""
    grads = []
    for _ in range(steps):
        model.zero_grad()
        loss = model(torch.randn(16, 4)).pow(2).mean()
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        run.log({"loss": loss.item()})
    return grads


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_gradient_histograms_match_histc_of_the_real_gradients_every_log_freq_steps(
    mode: str, request: pytest.FixtureRequest
) -> None:
    if mode == "online":
        request.getfixturevalue("trackwell_online_dir")  # a real server; read back through it
    model = mlp()
    run = trackwell.init(project="w", mode=mode)
    trackwell.watch(model, log_freq=3)
    grads = train(model, run, 7)
    run.finish()
    rows = rows_of(run)
    logged = [r["_step"] for r in rows if hist(r, "gradients/0.weight")]
    assert logged == [2, 5]  # the 3rd and 6th backward pass, in the row of that step's log()
    for step in logged:
        for name, grad in grads[step].items():
            values, bins = hist(rows[step], f"gradients/{name}")  # type: ignore[misc]
            lo, hi = grad.min().item(), grad.max().item()
            assert len(values) == HIST_BINS and len(bins) == HIST_BINS + 1
            assert bins[0] == pytest.approx(lo) and bins[-1] == pytest.approx(hi)
            assert values == torch.histc(grad, bins=HIST_BINS, min=lo, max=hi).tolist()
            assert sum(values) == grad.numel()
    assert not any(k.startswith("parameters/") for r in rows for k in r)


def test_parameters_and_frozen_layers() -> None:
    model = mlp()
    model[0].weight.requires_grad_(False)
    run = trackwell.init(project="w", mode="offline")
    run.watch(model, log="all", log_freq=2)
    train(model, run, 2)
    run.finish()
    row = rows_of(run)[1]
    assert hist(row, "gradients/0.bias") and hist(row, "parameters/2.weight")
    assert hist(row, "gradients/0.weight") is None and hist(row, "parameters/0.weight") is None
    values, _ = hist(row, "parameters/2.weight")  # type: ignore[misc]
    last = model[2]
    assert isinstance(last, torch.nn.Linear)
    w = last.weight.detach()  # unchanged since: no optimizer step
    assert values == torch.histc(w, HIST_BINS, min=w.min().item(), max=w.max().item()).tolist()


def test_several_models_get_wandb_prefixes_and_unwatch_removes_every_hook() -> None:
    a, b = mlp(), mlp()
    run = trackwell.init(project="w", mode="offline")
    run.watch([a, b], log="all", log_freq=1)
    for m in (a, b):
        m(torch.randn(2, 4)).sum().backward()
    run.log({"x": 1})
    run.unwatch()
    for m in (a, b):
        assert not m._forward_hooks and all(not p._backward_hooks for p in m.parameters())
        m(torch.randn(2, 4)).sum().backward()
    run.log({"x": 2})
    run.finish()
    rows = rows_of(run)
    assert hist(rows[0], "gradients/0.weight") and hist(rows[0], "gradients/graph_10.weight")
    assert hist(rows[0], "parameters/graph_12.bias")
    assert not any(k.startswith(("gradients", "parameters")) for k in rows[1])


def test_log_graph_saves_the_module_tree(trackwell_dir: Path) -> None:
    run = trackwell.init(project="w", mode="offline")
    run.watch(mlp(), log=None, log_graph=True)
    run.finish()
    graph = json.loads((run._run_dir / "files" / "graph_0.json").read_text())
    root = graph["root"]
    assert root["type"] == "Sequential" and root["num_parameters"] == 4 * 8 + 8 + 8 * 2 + 2
    assert [c["type"] for c in root["children"]] == ["Linear", "ReLU", "Linear"]
    assert root["children"][0]["parameters"] == {"weight": [8, 4], "bias": [8]}


def test_bad_calls_say_what_is_wrong() -> None:
    with pytest.raises(UsageError, match="init"):
        trackwell.watch(mlp())
    run = trackwell.init(project="w", mode="offline")
    model = mlp()
    with pytest.raises(UsageError, match="log="):
        run.watch(model, log="weights")
    with pytest.raises(UsageError, match="log_freq"):
        run.watch(model, log_freq=0)
    with pytest.raises(TypeError, match="Module"):
        run.watch("not a model")
    run.watch(model)
    with pytest.raises(UsageError, match="once per model"):
        run.watch(model)
    run.finish()
    model(torch.randn(2, 4)).sum().backward()  # the finished run's hooks are gone: no error


def test_a_disabled_run_adds_no_hooks() -> None:
    model = mlp()
    run = trackwell.init(mode="disabled")
    run.watch(model, log="all", log_freq=1)
    assert not model._forward_hooks


def test_import_trackwell_imports_no_torch(tmp_path: Path) -> None:
    code = "import sys, trackwell; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "False"
