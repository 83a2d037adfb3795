"""One rank of the DDP tests, started by tests/torch/test_ddp.py (never collected by pytest).

``python ddp_worker.py SPEC_JSON`` with ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set as
torchrun sets them. One process group serves a list of ``phases``, run in order (each
spawned pair of processes costs seconds of imports on a small machine, so one pair
does several tests' work). A phase trains with gloo for ``steps`` steps (real
all-reduces: a ``DistributedDataParallel`` model when the spec says ``ddp``, else the
gradients all-reduced by hand, which spares importing torch._dynamo) while logging
through one of trackwell_torch.distributed's three ways, then meets the other ranks at
a barrier; what follows is logging only, so a rank killed there (``kill_rank``)
leaves the others nothing to wait for. Prints one JSON line per phase.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

import trackwell
from trackwell_torch import distributed as twd


def report(**fields: Any) -> None:
    print(json.dumps({"rank": int(os.environ["RANK"]), **fields}), flush=True)


def wait_until_on_server(run: trackwell.Run, rows: int, deadline: float) -> None:
    """Poll the server until the run holds ``rows`` history rows (the kill must find it there)."""
    api = trackwell.Api()
    while time.monotonic() < deadline:
        try:
            if len(list(api.run(f"{run.project}/{run.id}").scan_history())) >= rows:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"run {run.id} did not reach the server in time")


def wait_for_system_metrics(run: trackwell.Run, rank: int, deadline: float) -> None:
    """Log until the server holds a system sample of this rank (a short phase can end before one)."""
    api, prefix, i = trackwell.Api(), f"system.rank_{rank}/", 0
    while time.monotonic() < deadline:
        run.log({"waiting": i, "rank": rank})
        run.flush()
        i += 1
        try:
            rows = api.run(f"{run.project}/{run.id}").history(stream="events", pandas=False, samples=None)
            if any(k.startswith(prefix) for row in rows for k in row):
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit(f"no system metrics of rank {rank} reached the server in time")


def model_for(spec: dict[str, Any]) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    if spec.get("ddp"):
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)
    for p in model.parameters():  # identical start on every rank, as DDP's broadcast gives
        dist.broadcast(p.data, src=0)
    return model


def step(model: torch.nn.Module, opt: torch.optim.Optimizer, ddp: bool) -> float:
    loss = model(torch.randn(8, 4)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    if not ddp:
        for p in model.parameters():
            assert p.grad is not None
            dist.all_reduce(p.grad)
            p.grad.div_(dist.get_world_size())
    opt.step()
    return float(loss.item())


def cycles(phase: dict[str, Any], project: str, rank: int) -> None:
    """Many short runs in one job: every start and finish must return."""
    for cycle in range(phase["cycles"]):
        run = twd.init_per_rank(group=phase["group"], project=project, name=f"cycle{cycle}")
        run.log({"cycle": cycle, "rank": rank})
        run.finish()
    dist.barrier()
    report(phase="cycles", cycles=phase["cycles"])


def train(phase: dict[str, Any], spec: dict[str, Any], model: torch.nn.Module, rank: int) -> None:
    mode, project = phase["mode"], spec["project"]
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    if mode == "rank_zero":
        run = twd.init_rank_zero(project=project)
    elif mode == "per_rank":
        run = twd.init_per_rank(group=phase["group"], job_type="train", project=project)
    elif mode == "shared":
        settings = {"disable_stats": False, "stats_sampling_interval": 0.5}  # system metrics per rank
        run = twd.init_shared(id=phase["run_id"], project=project, name=phase.get("name"), settings=settings)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    if phase.get("watch"):
        run.watch(model, log="gradients", log_freq=2)
    for i in range(phase["steps"]):
        loss = step(model, opt, bool(spec.get("ddp")))
        run.log({"loss": loss, "rank": rank, "rank_step": i})
    dist.barrier()  # the last collective of the phase: what follows is logging only
    if phase.get("kill_rank") == rank:
        wait_until_on_server(run, phase["steps"], time.monotonic() + 30)
        os.kill(os.getpid(), signal.SIGKILL)
    for i in range(phase.get("after", 0)):
        run.log({"after": i, "rank": rank})
    if mode == "shared":
        wait_for_system_metrics(run, rank, time.monotonic() + 60)
        dist.barrier()  # neither rank finishes while the other still logs into the run
    if phase.get("exit_unfinished"):
        dist.destroy_process_group()
        report(phase=mode, id=run.id, disabled=run.disabled, name=run.name, exit_at=time.time())
        sys.exit(0)  # the interpreter's exit finishes the run
    run.finish()
    report(phase=mode, id=run.id, disabled=run.disabled, name=run.name)


def main() -> None:
    spec = json.loads(sys.argv[1])
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    dist.init_process_group(
        "gloo", init_method=spec["init_method"], rank=rank, world_size=world, timeout=timedelta(seconds=60)
    )
    model = model_for(spec)
    for phase in spec["phases"]:
        if phase["mode"] == "cycles":
            cycles(phase, spec["project"], rank)
        else:
            train(phase, spec, model, rank)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
