"""CUDA checks (skipped without a GPU): watch on a CUDA model, NCCL DDP, GPU system metrics.

Run them on a GPU machine with ``bash scripts/gpu_check.sh``. They need only the core
and trackwell-torch (no server: GPU machines often lack server-lite's dependencies and
a network), so every run is offline and read back with the ``LocalApi``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch

import trackwell
from trackwell.api import LocalApi
from trackwell_torch.hooks import HIST_BINS, tensor_histogram

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def cuda_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)).cuda()


def test_histograms_are_computed_on_the_device_and_match_histc() -> None:
    g = torch.randn(1000, device="cuda")
    counts, edges = tensor_histogram(g)  # type: ignore[misc]
    lo, hi = g.min().item(), g.max().item()
    assert counts == torch.histc(g, HIST_BINS, min=lo, max=hi).tolist()
    assert edges[0] == pytest.approx(lo) and edges[-1] == pytest.approx(hi)


def test_watch_adds_no_host_sync_between_log_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count device-to-host copies (Tensor.tolist/item) made by the hooks: none off the log steps."""
    model = cuda_mlp()
    run = trackwell.init(project="gpu", mode="offline")
    run.watch(model, log="all", log_freq=10)
    syncs: list[int] = []
    real_tolist = torch.Tensor.tolist

    def counting_tolist(self: torch.Tensor) -> Any:
        syncs.append(step)
        return real_tolist(self)

    monkeypatch.setattr(torch.Tensor, "tolist", counting_tolist)
    x = torch.randn(64, 256, device="cuda")
    for step in range(30):  # noqa: B007 (read by counting_tolist)
        model.zero_grad()
        model(x).square().mean().backward()
    monkeypatch.undo()
    run.finish()
    assert sorted(set(syncs)) == [9, 19, 29]


def test_watch_overhead_on_cuda_is_small() -> None:
    def timed(watch: bool) -> float:
        model = cuda_mlp()
        run = trackwell.init(project="gpu", mode="offline", reinit="create_new")
        if watch:
            run.watch(model, log="gradients", log_freq=100)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(256, 256, device="cuda")
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(300):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        run.finish()
        return elapsed

    timed(False)  # warm-up
    base = min(timed(False) for _ in range(3))
    watched = min(timed(True) for _ in range(3))
    assert watched < base * 1.25, (base, watched)


def test_ddp_with_nccl_world_size_one(tmp_path: Any) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from trackwell_torch import distributed as twd

    if not dist.is_nccl_available():
        pytest.skip("this torch has no NCCL")
    dist.init_process_group("nccl", init_method=f"file://{tmp_path}/rdv", rank=0, world_size=1)
    try:
        model = DistributedDataParallel(cuda_mlp(), device_ids=[0])
        run = twd.init_rank_zero(project="gpu", mode="offline")
        run.watch(model, log_freq=2)
        for _ in range(4):
            model(torch.randn(8, 256, device="cuda")).sum().backward()
            run.log({"x": 1})
        run.finish()
        rows = list(LocalApi().run(f"{run.project}/{run.id}").scan_history())
        grads = [r["gradients/module.0.weight"] for r in rows if "gradients/module.0.weight" in r]
        assert len(grads) == 2 and all(
            g["_type"] == "histogram" and len(g["values"]) == HIST_BINS for g in grads
        )
    finally:
        dist.destroy_process_group()


def test_gpu_system_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pynvml")
    monkeypatch.setenv("TRACKWELL_X_DISABLE_STATS", "false")
    monkeypatch.setenv("TRACKWELL_X_STATS_SAMPLING_INTERVAL", "0.2")
    run = trackwell.init(project="gpu", mode="offline")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run.log({"x": 1})
        run.flush()
        system = LocalApi().run(f"{run.project}/{run.id}").system_metrics
        if any(k.startswith("system/gpu") for k in system):
            break
        time.sleep(0.2)
    run.finish()
    assert any(k.startswith("system/gpu") for k in system), sorted(system)
