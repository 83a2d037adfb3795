"""The child side of the benchmarks: one workload per fresh process.

Each workload runs in its own interpreter so that ``import trackwell`` is paid for
real, the way a user's script pays it. That is also why this module imports only
``sys`` and ``time`` before it starts a clock: anything imported earlier (json,
resource, statistics, ...) would be free for trackwell and flatter the import figure.

usage: python workloads.py NAME [key=value ...]    (values are ints, floats or strings)

Every workload prints one JSON object as the last line of stdout; the parent
(``harness.spawn``) parses it. ``out`` is the directory a run is written to.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # typing itself is not imported: trackwell must pay for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_CONFIG = {"lr": 1e-3, "batch_size": 64, "arch": "resnet50"}


def _keys(metrics: int) -> list[str]:
    return [f"train/m{i}" for i in range(metrics)]


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timer_overhead_ns() -> float:
    """What one ``perf_counter_ns()`` pair costs, so the reader can judge the floor."""
    ns = time.perf_counter_ns
    samples = []
    for _ in range(2000):
        a = ns()
        samples.append(ns() - a)
    return _median(samples)


def import_only(out: str) -> dict[str, Any]:
    """Time ``import trackwell`` alone, and say whether it dragged in a heavy library."""
    t0 = time.perf_counter()
    import trackwell  # noqa: F401 - the import is the measurement

    t1 = time.perf_counter()
    heavy = [m for m in ("numpy", "pandas", "torch", "requests", "trackwell_server") if m in sys.modules]
    return {"import_s": t1 - t0, "heavy_modules": heavy}


def script(out: str, steps: int = 20_000, metrics: int = 10) -> dict[str, Any]:
    """A user's whole script: import, init, a loop of log() calls, finish.

    The rows are built inline, as a training loop builds them, so the wall time is
    what a user would see. Peak RSS is the whole process's, interpreter included.
    """
    t0 = time.perf_counter()
    import trackwell

    t1 = time.perf_counter()
    run = trackwell.init(project="bench", mode="offline", dir=out, config=_CONFIG)
    t2 = time.perf_counter()
    keys = _keys(metrics)
    for s in range(steps):
        run.log({k: s * 0.001 + i for i, k in enumerate(keys)})
    t3 = time.perf_counter()
    run.finish()
    t4 = time.perf_counter()

    import resource

    return {
        "import_s": t1 - t0,
        "init_s": t2 - t1,
        "loop_s": t3 - t2,
        "finish_s": t4 - t3,
        "total_s": t4 - t0,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _register_on_log() -> Any:
    """A plugin with the cheapest possible ``on_log``: what any implementer costs at least."""
    import trackwell
    from trackwell.plugins import get_plugin_manager

    class OnLog:
        rows = 0

        @trackwell.hookimpl
        def on_log(self, run: Any, rows: Any) -> None:
            self.rows += len(rows)

    plugin = OnLog()
    get_plugin_manager().register(plugin, name="bench_on_log")
    return plugin


def log_calls(
    out: str,
    steps: int = 20_000,
    metrics: int = 10,
    prebuild: int = 1,
    mode: str = "offline",
    on_log: int = 0,
) -> dict[str, Any]:
    """Time each ``run.log`` call alone, and the process CPU that logging costs per row.

    With ``prebuild=1`` every row exists before the clock starts, so the CPU figure
    (process time over the loop and ``finish()``: caller and writer thread together)
    holds only trackwell's work. Wide rows (``prebuild=0``) are built one by one
    outside the timed region instead, to keep memory small; their CPU figure then
    includes building them and is reported for information only. ``on_log=1`` registers
    a plugin implementing the ``on_log`` hook first.
    """
    import trackwell

    plugin = _register_on_log() if on_log else None
    run = trackwell.init(project="bench", mode=mode, dir=out, config=_CONFIG)
    keys = _keys(metrics)
    log = run.log
    ns = time.perf_counter_ns
    times = [0] * steps
    if prebuild:
        rows = [{k: s * 0.001 + i for i, k in enumerate(keys)} for s in range(steps)]
        cpu0 = time.process_time()
        for s in range(steps):
            row = rows[s]
            a = ns()
            log(row)
            times[s] = ns() - a
    else:
        cpu0 = time.process_time()
        for s in range(steps):
            row = {k: s * 0.001 + i for i, k in enumerate(keys)}
            a = ns()
            log(row)
            times[s] = ns() - a
    f0 = time.perf_counter()
    run.finish()
    f1 = time.perf_counter()
    cpu = time.process_time() - cpu0
    return {
        "median_us": _median(times) / 1e3,
        "p90_us": _percentile(times, 0.90) / 1e3,
        "p99_us": _percentile(times, 0.99) / 1e3,
        "mean_us": sum(times) / steps / 1e3,
        "cpu_per_row_us": cpu / steps * 1e6,
        "finish_s": f1 - f0,
        "timer_overhead_ns": _timer_overhead_ns(),
        "on_log_rows": plugin.rows if plugin is not None else None,
    }


def durability(out: str, fd: int, rate: float = 0.0, report_s: float = 0.001, max_s: float = 60.0) -> None:
    """Log rows until killed, telling the parent through pipe ``fd`` how far it got.

    Each report is ``"<rows logged> <monotonic time>\\n"``, written right after a
    ``log()`` returns; CLOCK_MONOTONIC is shared by all processes on the machine, so
    the parent can compare it with the moment it sent SIGKILL. ``rate`` paces the
    loop in rows per second (0: as fast as possible); pacing sleeps, which releases
    the GIL the way a real training step does.
    """
    import os

    import trackwell

    run = trackwell.init(project="bench", mode="offline", dir=out, config=_CONFIG)
    os.write(fd, f"ready {time.monotonic()}\n".encode())
    keys = _keys(10)
    clock = time.monotonic
    start = next_report = clock()
    count = 0
    while True:
        run.log({k: count * 0.001 + i for i, k in enumerate(keys)})
        count += 1
        now = clock()
        if now >= next_report:
            os.write(fd, f"{count} {now}\n".encode())
            next_report = now + report_s
            if now - start > max_s:  # never outlive a parent that forgot us
                break
        if rate:
            ahead = start + count / rate - now
            if ahead > 0:
                time.sleep(ahead)
    run.finish()


WORKLOADS: dict[str, Callable[..., dict[str, Any] | None]] = {
    "import": import_only,
    "script": script,
    "log": log_calls,
    "durability": durability,
}


def _parse(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def main(argv: list[str]) -> None:
    name, params = argv[0], dict(arg.split("=", 1) for arg in argv[1:])
    result = WORKLOADS[name](**{k: _parse(v) for k, v in params.items()})
    if result is not None:
        import json

        print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
