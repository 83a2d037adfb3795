"""trackwell-torch benchmark: what ``watch()`` and DDP rank-0 logging add to a training step.

Two fresh-interpreter workloads, both on the CPU with torch on one thread:

- **watch**: a small MLP (64-128-128-10, batch 32) trained with SGD, logging its loss
  every step. One process alternates blocks of steps without a watch and with
  ``watch(model, log_freq=100)`` (``unwatch`` in between), so machine noise hits both
  alike; the overhead is the median over the rounds of (watched / unwatched - 1).
  Clocks: the training thread's CPU time (what the hooks cost the loop, histograms
  included) and the process's CPU time with a ``flush()`` at the end of each block
  (the writer thread's encoding of the histogram rows included). Target: ≤ 5 %.
- **DDP rank 0**: two gloo processes train a DDP MLP; rank 0 has a run from
  ``init_rank_zero`` (rank 1 a disabled one) and alternates blocks that call
  ``run.log`` every step with blocks that do not. Reported: rank 0's caller CPU per
  step added by logging, and the wall time per step of both variants (the all-reduce
  makes rank 1 wait for rank 0, so wall time is what the job pays).

Runs are offline in a scratch directory, system metrics off. Skipped when torch or
trackwell-torch is not installed.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from report import Check

_COMMON = r"""
import json, os, sys, time
import torch
torch.set_num_threads(1)
torch.manual_seed(0)

def mlp():
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                               torch.nn.ReLU(), torch.nn.Linear(128, 10))
"""

_WATCH = (
    _COMMON
    + r"""
import trackwell
rounds, block = int(sys.argv[1]), int(sys.argv[2])
model = mlp()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(32, 64), torch.randint(0, 10, (32,))
run = trackwell.init(project="bench-torch", mode="offline")

def steps(n):
    for _ in range(n):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        run.log({"loss": loss.item()})

def timed(watched):
    if watched:
        run.watch(model, log="gradients", log_freq=100)
    t, p = time.thread_time(), time.process_time()
    steps(block)
    t1 = time.thread_time()
    run.flush()
    p1 = time.process_time()
    if watched:
        run.unwatch(model)
    return (t1 - t) / block, (p1 - p) / block

timed(True); timed(False)  # warm-up: first histograms, allocator, bytecode
out = []
for r in range(rounds):
    order = (False, True) if r % 2 == 0 else (True, False)
    got = {w: timed(w) for w in order}
    out.append({"base_thread": got[False][0], "watch_thread": got[True][0],
                "base_proc": got[False][1], "watch_proc": got[True][1]})
run.finish()
hist = sum(1 for p in model.parameters() if p.requires_grad)
print(json.dumps({"rounds": out, "histogram_keys": hist}))
"""
)

_DDP = (
    _COMMON
    + r"""
from datetime import timedelta
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from trackwell_torch.distributed import init_rank_zero
rounds, block = int(sys.argv[1]), int(sys.argv[2])
rank = int(os.environ["RANK"])
dist.init_process_group("gloo", init_method=os.environ["BENCH_INIT"], rank=rank, world_size=2,
                        timeout=timedelta(seconds=60))
model = DistributedDataParallel(mlp())
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(32, 64), torch.randint(0, 10, (32,))
run = init_rank_zero(project="bench-torch-ddp", mode="offline")

def timed(logging):
    dist.barrier()
    w, t = time.perf_counter(), time.thread_time()
    for i in range(block):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if logging:
            run.log({"loss": loss.item(), "step_in_block": i})
    return (time.perf_counter() - w) / block, (time.thread_time() - t) / block

timed(True); timed(False)
out = []
for r in range(rounds):
    order = (False, True) if r % 2 == 0 else (True, False)
    got = {lg: timed(lg) for lg in order}
    out.append({"base_wall": got[False][0], "log_wall": got[True][0],
                "base_thread": got[False][1], "log_thread": got[True][1]})
run.finish()
dist.destroy_process_group()
print(json.dumps({"rank": rank, "disabled": run.disabled, "rounds": out}))
"""
)


@dataclass(frozen=True)
class TorchPlan:
    rounds: int
    block: int  # steps per block; a multiple of log_freq=100 so each block logs alike
    ddp_rounds: int
    ddp_block: int


FULL = TorchPlan(rounds=15, block=400, ddp_rounds=10, ddp_block=200)
QUICK = TorchPlan(rounds=3, block=100, ddp_rounds=2, ddp_block=50)


def _env(tmp: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRACKWELL_DIR": tmp,
        "TRACKWELL_CONFIG_DIR": tmp,
        "TRACKWELL_SILENT": "true",
        "TRACKWELL_X_DISABLE_STATS": "true",
        "TRACKWELL_LOAD_PLUGINS": "torch",
        "OMP_NUM_THREADS": "1",
    }


def available(python: str) -> bool:
    code = "import importlib.util as u; print(bool(u.find_spec('torch') and u.find_spec('trackwell_torch')))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() == "True"


def _overhead(rounds: list[dict[str, float]], base: str, other: str) -> float:
    """Median over the rounds of ``other / base - 1``, in percent."""
    return statistics.median(r[other] / r[base] - 1.0 for r in rounds) * 100


def bench_watch(python: str, plan: TorchPlan, raw: dict[str, Any]) -> list[Check]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [python, "-c", _WATCH, str(plan.rounds), str(plan.block)], capture_output=True, text=True,
            cwd=tmp, env=_env(tmp), timeout=600, check=False,
        )  # fmt: skip
    if proc.returncode:
        raise OSError(f"torch watch workload failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    raw["torch_watch"] = out
    rounds = out["rounds"]
    base_us = statistics.median(r["base_thread"] for r in rounds) * 1e6
    watch_us = statistics.median(r["watch_thread"] for r in rounds) * 1e6
    n = f"median of {len(rounds)} interleaved rounds of {plan.block} steps"
    return [
        Check(
            "watch(log_freq=100): training-thread CPU overhead",
            _overhead(rounds, "base_thread", "watch_thread"), "%", limit=5.0,
            detail=f"{n}; step (fwd+bwd+SGD+log) {base_us:.0f} µs unwatched, {watch_us:.0f} µs watched; "
            f"{out['histogram_keys']} gradient histograms per log step",
        ),
        Check(
            "watch(log_freq=100): process CPU overhead (writer incl.)",
            _overhead(rounds, "base_proc", "watch_proc"), "%",
            detail="the writer thread's encoding of the histogram rows included (flush() per block)",
        ),
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_ddp(python: str, plan: TorchPlan, raw: dict[str, Any]) -> list[Check]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**_env(tmp), "WORLD_SIZE": "2", "BENCH_INIT": f"tcp://127.0.0.1:{_free_port()}"}
        args = [python, "-c", _DDP, str(plan.ddp_rounds), str(plan.ddp_block)]
        procs = [
            subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp,
                env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            )
            for r in range(2)
        ]
        results = []
        try:
            for p in procs:
                stdout, stderr = p.communicate(timeout=600)
                if p.returncode:
                    raise OSError(f"torch DDP workload failed: {stderr.strip()[-500:]}")
                results.append(json.loads(stdout.strip().splitlines()[-1]))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    raw["torch_ddp"] = results
    zero = next(r for r in results if r["rank"] == 0)
    rounds = zero["rounds"]
    added_us = statistics.median(r["log_thread"] - r["base_thread"] for r in rounds) * 1e6
    base_wall = statistics.median(r["base_wall"] for r in rounds) * 1e6
    log_wall = statistics.median(r["log_wall"] for r in rounds) * 1e6
    n = f"median of {len(rounds)} interleaved rounds of {plan.ddp_block} steps, gloo, 2 processes"
    return [
        Check("DDP rank-0 log() per step: caller CPU added", added_us, "us",
              detail=f"{n}; rank 1's run is disabled: {results[1 - results.index(zero)]['disabled']}"),
        Check("DDP step wall time: rank 0 logging vs not", _overhead(rounds, "base_wall", "log_wall"), "%",
              detail=f"{base_wall:.0f} µs per step without logging, {log_wall:.0f} µs with"),
    ]  # fmt: skip


def bench_torch(python: str, plan: TorchPlan, raw: dict[str, Any]) -> list[Check]:
    if not available(python):
        print("torch or trackwell-torch is not installed: torch benchmarks skipped", file=sys.stderr)
        return []
    return bench_watch(python, plan, raw) + bench_ddp(python, plan, raw)
