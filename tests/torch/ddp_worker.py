"""One rank of the DDP tests, started by tests/torch/test_ddp.py (never collected by pytest).

``python ddp_worker.py SPEC_JSON`` with ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set as
torchrun sets them. Trains a DDP model with gloo for ``steps`` steps (real all-reduces),
logging through one of trackwell_torch.distributed's three ways, then meets the other
ranks at a barrier; what follows is logging only, so a rank killed there (``kill_rank``)
leaves the others nothing to wait for. Prints one JSON line about its run at the end.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import trackwell
from trackwell_torch import distributed as twd


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


def main() -> None:
    spec = json.loads(sys.argv[1])
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    dist.init_process_group(
        "gloo", init_method=spec["init_method"], rank=rank, world_size=world, timeout=timedelta(seconds=30)
    )
    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mode = spec["mode"]
    project = spec["project"]
    if mode == "cycles":  # many short runs in one job: every start and finish must return
        for cycle in range(spec["cycles"]):
            run = twd.init_per_rank(group=spec["group"], project=project, name=f"cycle{cycle}")
            run.log({"cycle": cycle, "rank": rank})
            run.finish()
        dist.barrier()
        print(json.dumps({"rank": rank, "cycles": spec["cycles"]}), flush=True)
        dist.destroy_process_group()
        return
    if mode == "rank_zero":
        run = twd.init_rank_zero(project=project)
    elif mode == "per_rank":
        run = twd.init_per_rank(group=spec["group"], job_type="train", project=project)
    elif mode == "shared":
        run = twd.init_shared(id=spec["run_id"], project=project, name=spec.get("name"))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    if spec.get("watch"):
        run.watch(model, log="gradients", log_freq=2)
    for step in range(spec["steps"]):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log({"loss": loss.item(), "rank": rank, "rank_step": step})
    dist.barrier()  # the last collective: what follows is logging only
    if spec.get("kill_rank") == rank:
        wait_until_on_server(run, spec["steps"], time.monotonic() + 20)
        os.kill(os.getpid(), signal.SIGKILL)
    for step in range(spec.get("after", 0)):
        run.log({"after": step, "rank": rank})
    print(json.dumps({"rank": rank, "id": run.id, "disabled": run.disabled, "name": run.name}), flush=True)
    if spec.get("exit_unfinished"):
        dist.destroy_process_group()
        return  # the interpreter's exit finishes the run
    run.finish()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
