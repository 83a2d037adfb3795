"""The parent side: start one workload in a fresh interpreter and read its result.

Fresh processes are the point of the benchmark suite: an import measured twice in
one process costs nothing the second time, and a writer thread left from a previous
workload would steal CPU from the next one.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKLOADS = Path(__file__).with_name("workloads.py")


class WorkloadError(RuntimeError):
    """A workload crashed or printed no result: the benchmark itself is broken."""


@dataclass
class Outcome:
    """What one child reported, plus what the parent saw from outside."""

    result: dict[str, Any]
    wall_s: float  # the whole subprocess: interpreter start-up and exit included


def child_env(stats: bool = False, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a workload: the caller's, minus any tracker settings.

    Inherited ``TRACKWELL_*``/``WANDB_*`` variables would make figures depend on who
    ran them. The terminal summary is silenced because stdout carries the result.
    System metrics stay on only where a workload is meant to be a user's default
    script; elsewhere their sampler would only add noise to a per-call figure.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    # A user's installed package has its bytecode cached; without the cache every
    # import compiles trackwell from source and the import figure measures the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["TRACKWELL_SILENT"] = "true"
    if not stats:
        env["TRACKWELL_X_DISABLE_STATS"] = "true"
    env.update(extra or {})
    return env


def spawn(
    python: str,
    workload: str,
    params: Mapping[str, object] | None = None,
    *,
    stats: bool = False,
    timeout: float = 300.0,
    extra: Mapping[str, str] | None = None,
) -> Outcome:
    """Run ``workloads.py WORKLOAD`` in a new interpreter, in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix=f"twbench-{workload}-") as out:
        args = [f"{k}={v}" for k, v in {"out": out, **(params or {})}.items()]
        t0 = time.perf_counter()
        proc = subprocess.run(
            [python, str(WORKLOADS), workload, *args],
            cwd=out,
            env=child_env(stats, extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        wall = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise WorkloadError(f"workload {workload!r} exited {proc.returncode}:\n{proc.stderr.strip()[-2000:]}")
    return Outcome(json.loads(lines[-1]), wall)


def repeat(
    python: str,
    workload: str,
    times: int,
    params: Mapping[str, object] | None = None,
    *,
    stats: bool = False,
    warmup: bool = True,
    extra: Mapping[str, str] | None = None,
) -> list[Outcome]:
    """``times`` fresh runs of a workload, after one discarded run that warms the
    OS page cache and writes the bytecode caches a user's second run would find."""
    if warmup:
        spawn(python, workload, params, stats=stats, extra=extra)
    return [spawn(python, workload, params, stats=stats, extra=extra) for _ in range(times)]
