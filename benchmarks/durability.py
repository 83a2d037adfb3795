"""The kill -9 benchmark: how many logged rows a SIGKILL costs.

The promise (docs/design.md, "the write path"): the writer flushes every
``flush_interval`` seconds, so a process killed at time T keeps every row logged
before T - flush_interval. The child reports ``(rows logged, monotonic time)``
through a pipe while it logs; the parent kills it at a random moment, reads the run
log back with the same reader ``trackwell sync`` uses, and checks that

* the recovered history rows are exactly steps 0..N-1 (no gap, no duplicate, no
  corrupt record served as data), and
* N is at least the number of rows the child had logged by T - flush_interval.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import WORKLOADS, WorkloadError, child_env


@dataclass
class Trial:
    """One kill and what the reader found afterwards."""

    rate: float  # rows per second the child aimed for; 0: as fast as it could
    killed_after_s: float  # since the child's first progress report
    logged: int  # rows the child reported logged before it died (a lower bound)
    required: int  # rows logged by kill time - flush interval: these must survive
    recovered: int  # history rows the reader returned
    contiguous: bool  # recovered steps are exactly 0..recovered-1
    torn_bytes: int  # bytes of a torn tail the reader dropped

    @property
    def lost(self) -> int:
        return max(0, self.logged - self.recovered)

    @property
    def allowed(self) -> int:
        """Rows logged in the last flush interval before the kill."""
        return self.logged - self.required

    @property
    def ok(self) -> bool:
        return self.contiguous and self.recovered >= self.required

    def describe(self) -> str:
        pace = "flat out" if self.rate == 0 else f"{self.rate:,.0f} rows/s"
        torn = f", {self.torn_bytes} torn bytes dropped" if self.torn_bytes else ""
        return (
            f"[{pace}, kill at {self.killed_after_s:.2f} s] logged {self.logged:,}, kept {self.recovered:,} "
            f"(needed {self.required:,}), lost {self.lost:,} of {self.allowed:,} allowed{torn}"
        )


def _read_reports(fd: int, reports: list[tuple[int, float]], ready: threading.Event) -> None:
    with os.fdopen(fd, "rb") as pipe:
        for line in pipe:
            word, stamp = line.split()
            if word == b"ready":
                continue
            reports.append((int(word), float(stamp)))
            ready.set()


def _recover(out: str) -> tuple[list[int], int]:
    """Steps of the history rows in the run log under ``out``, and torn bytes."""
    from trackwell import rundir
    from trackwell._pipeline import runlog

    run_dir = Path(out) / "trackwell" / "latest-run"
    log = rundir.find_log(run_dir)
    if log is None:
        raise WorkloadError(f"the killed child left no run log in {run_dir}")
    size = log.stat().st_size
    if size < len(runlog.MAGIC):  # not even the header reached the disk: nothing survived
        return [], size
    result = runlog.read_log(log)
    steps = [r.body["_step"] for r in result.records if r.kind == "history"]
    return steps, result.torn_bytes


def trial(
    python: str, flush_interval: float, rate: float, kill_window: tuple[float, float], rng: random.Random
) -> Trial:
    """Start a logging child, SIGKILL it after a random delay, and read what survived."""
    with tempfile.TemporaryDirectory(prefix="twbench-kill-") as out:
        read_fd, write_fd = os.pipe()
        env = child_env(extra={"TRACKWELL_FLUSH_INTERVAL": str(flush_interval)})
        args = [python, str(WORKLOADS), "durability", f"out={out}", f"fd={write_fd}", f"rate={rate}"]
        proc = subprocess.Popen(
            args, cwd=out, env=env, pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        os.close(write_fd)
        reports: list[tuple[int, float]] = []
        started = threading.Event()
        reader = threading.Thread(target=_read_reports, args=(read_fd, reports, started), daemon=True)
        reader.start()
        try:
            if not started.wait(60):
                raise WorkloadError(
                    "the durability child never started logging: "
                    + (proc.stderr.read().decode() if proc.stderr else "")
                )
            first = time.monotonic()
            time.sleep(rng.uniform(*kill_window))
            killed_at = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            reader.join(10)
        if proc.returncode != -signal.SIGKILL:
            raise WorkloadError(f"the durability child exited {proc.returncode} before the kill")
        steps, torn = _recover(out)
    deadline = killed_at - flush_interval
    return Trial(
        rate=rate,
        killed_after_s=killed_at - first,
        logged=max(count for count, _ in reports),
        required=max((count for count, stamp in reports if stamp <= deadline), default=0),
        recovered=len(steps),
        contiguous=steps == list(range(len(steps))),
        torn_bytes=torn,
    )


def run_trials(
    python: str = sys.executable,
    trials: int = 3,
    flush_interval: float = 0.2,
    rates: Sequence[float] = (0.0, 10_000.0),
    seed: int | None = None,
) -> list[Trial]:
    """``trials`` kills at random moments between 2 and 6 flush intervals into the run,
    so that every trial has rows that must have reached the disk.

    The trials take turns over ``rates``: flat out (0) is the writer's worst case, a
    CPU-bound caller that holds the GIL; a paced loop that sleeps between rows is
    closer to training, where the step releases the GIL in native code.
    """
    rng = random.Random(seed)
    window = (2 * flush_interval, 6 * flush_interval)
    return [trial(python, flush_interval, rates[i % len(rates)], window, rng) for i in range(trials)]


if __name__ == "__main__":
    for t in run_trials(trials=int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(t, "lost", t.lost, "allowed", t.allowed, "ok", t.ok)
