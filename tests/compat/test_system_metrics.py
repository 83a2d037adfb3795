"""System metrics read back through W&B's Public API: ``run.history(stream="system")`` names
columns as W&B does (``system.cpu``, ``system.memory``, ...), offline and from a real server.

Runs store samples under ``system/<name>``; the Api renames them at read time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import trackwell as wandb

DEADLINE = 30.0
#: Columns W&B documents for every host (its "System metrics" page), as history names them.
WANDB_COLUMNS = (
    "system.cpu",
    "system.cpu.0.cpu_percent",
    "system.proc.cpu.threads",
    "system.memory",
    "system.proc.memory.rssMB",
    "system.proc.memory.percent",
    "system.proc.memory.availableMB",
    "system.disk./.usagePercent",
    "system.disk./.usageGB",
    "system.network.sent",
    "system.network.recv",
    "_runtime",
    "_timestamp",
)


def sampled_run(root: Path, **init: Any) -> wandb.Run:
    """A finished run whose system metrics were sampled at least once (awaited, not slept for)."""
    run = wandb.init(
        project="sysmetrics",
        settings=wandb.Settings(x_disable_stats=False, x_stats_sampling_interval=0.05),
        **init,
    )
    run.log({"loss": 0.5})
    local = wandb.Api(root=root).run(run.id)
    deadline = time.monotonic() + DEADLINE
    while not local.history(stream="system", pandas=False):  # the first sample reaches the log
        assert time.monotonic() < deadline, "no system metrics sample was recorded"
        local.load(force=True)
    run.finish()
    return run


def check_columns(rows: list[dict[str, Any]]) -> None:
    assert rows
    first = rows[0]
    for column in WANDB_COLUMNS:
        assert column in first, column
    assert not [k for k in first if k.startswith("system/")]  # the stored names never leak
    assert "system.memory_percent" not in first  # W&B calls system memory use "memory"
    assert 0 <= first["system.memory"] <= 100
    assert first["system.proc.memory.rssMB"] > 0
    assert first["system.proc.cpu.threads"] >= 2  # the main thread and the sampler


def test_offline_system_stream_uses_wandb_names(trackwell_dir: Path) -> None:
    run = sampled_run(trackwell_dir, mode="offline")
    api_run = wandb.Api(root=trackwell_dir).run(run.id)
    for stream in ("system", "events"):
        check_columns(api_run.history(stream=stream, pandas=False))
    frame = api_run.history(stream="events", keys=["system.memory"])
    assert list(frame.columns) == ["_runtime", "system.memory"]
    assert len(frame) >= 1


def test_online_system_stream_uses_wandb_names(trackwell_online_dir: Path) -> None:
    run = sampled_run(trackwell_online_dir)
    api_run = wandb.Api().run(f"{run.entity}/{run.project}/{run.id}")
    check_columns(api_run.history(stream="system", pandas=False))
    frame = api_run.history(stream="events", keys=["system.memory"])
    assert list(frame.columns) == ["_runtime", "system.memory"]
    assert len(frame) >= 1
    assert (frame["system.memory"] <= 100).all()
