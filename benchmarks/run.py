"""trackwell's performance benchmarks: one command, the figures beside their targets.

usage: python benchmarks/run.py [--quick] [--json FILE] [--python PYTHON] [--seed N] [--no-server]

Every SDK figure comes from a fresh interpreter (``workloads.py``), so import costs
and start-up are paid for real; server figures (``server.py``) come from a real
``trackwell server`` subprocess on 127.0.0.1, SQLite and, when it is reachable,
PostgreSQL. The exit status is 1 when a target is missed and 2 when
a workload crashed; ``--quick`` (the CI smoke test) runs smaller workloads and fails
only on a crash, because a shared CI machine's timings are too noisy to gate on.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import artifacts
import dashboard
import durability
import media
import mlflow_import
import server
import sweeps
import tables
import torch_watch
from harness import Outcome, WorkloadError, repeat
from report import Check, fmt, table, write_json


@dataclass(frozen=True)
class Plan:
    """How much work each benchmark does."""

    steps: int  # rows of 10 scalars
    wide_rows: int  # rows of 1000 scalars
    log_runs: int  # fresh processes timing log() calls
    script_runs: int  # fresh processes running the whole script
    import_runs: int  # fresh processes timing the import alone
    kill_trials: int  # kill -9 trials
    flush_interval: float = 0.2


FULL = Plan(steps=20_000, wide_rows=2_000, log_runs=3, script_runs=5, import_runs=7, kill_trials=4)
QUICK = Plan(steps=2_000, wide_rows=200, log_runs=1, script_runs=2, import_runs=3, kill_trials=2)


def _median_run(outcomes: list[Outcome], key: str) -> dict[str, Any]:
    """The run whose ``key`` is the median, so its other figures stay consistent with it."""
    ordered = sorted(outcomes, key=lambda o: o.result[key])
    return ordered[len(ordered) // 2].result


def _med(outcomes: list[Outcome], key: str) -> float:
    return float(statistics.median(o.result[key] for o in outcomes))


def _runs(n: int) -> str:
    return "one run" if n == 1 else f"median of {n} runs"


def ms(outcomes: list[Outcome], key: str) -> str:
    """The median of a figure the workloads report in seconds, printed in ms."""
    return fmt(_med(outcomes, key) * 1e3, "ms")


def bench_log(python: str, plan: Plan, raw: dict[str, Any]) -> list[Check]:
    """Caller-side cost of ``log()`` with 10 scalars, and process CPU per row."""
    outs = repeat(python, "log", plan.log_runs, {"steps": plan.steps, "metrics": 10})
    raw["log10"] = [o.result for o in outs]
    mid = _median_run(outs, "median_us")
    n = f"{plan.steps:,} steps"
    return [
        Check(
            f"log() 10 scalars: caller median ({n})",
            mid["median_us"],
            "us",
            5.0,
            detail=f"p90 {fmt(mid['p90_us'], 'us')}, p99 {fmt(mid['p99_us'], 'us')}, "
            f"mean {fmt(mid['mean_us'], 'us')}; {_runs(len(outs))}; each figure includes "
            f"a perf_counter_ns pair (~{mid['timer_overhead_ns']:.0f} ns)",
        ),
        Check(
            "log() 10 scalars: process CPU per row",
            _med(outs, "cpu_per_row_us"),
            "us",
            20.0,
            detail="process_time() over the loop and finish() / rows: caller and writer thread; "
            f"finish() with the writer's backlog after a tight loop: {ms(outs, 'finish_s')}",
        ),
    ]


def bench_hooks(python: str, plan: Plan, raw: dict[str, Any]) -> list[Check]:
    """What the on_log hook costs: log() with no plugin implementing it, and with one.

    With no implementer the writer never builds the batch, so the first line matches
    the plain log() benchmark. One trivial implementer shows what dispatching the hook
    costs; it runs on the writer thread, so the caller's median does not move.
    """
    params = {"steps": plan.steps, "metrics": 10}
    none = repeat(python, "log", plan.log_runs, {**params, "on_log": 0})
    one = repeat(python, "log", plan.log_runs, {**params, "on_log": 1})
    raw["hooks"] = {"no_on_log": [o.result for o in none], "one_on_log": [o.result for o in one]}
    seen = {o.result["on_log_rows"] for o in one}
    if seen != {plan.steps}:
        raise WorkloadError(f"the on_log plugin saw {seen} rows, expected {plan.steps}")
    cpu_none, cpu_one = _med(none, "cpu_per_row_us"), _med(one, "cpu_per_row_us")
    med_none, med_one = _median_run(none, "median_us"), _median_run(one, "median_us")
    return [
        Check(
            "log() 10 scalars, no on_log plugin: caller median",
            med_none["median_us"],
            "us",
            5.0,
            detail=f"process CPU per row {fmt(cpu_none, 'us')}; {_runs(len(none))}",
        ),
        Check(
            "log() 10 scalars, one on_log plugin: caller median",
            med_one["median_us"],
            "us",
            5.0,
            detail=f"process CPU per row {fmt(cpu_one, 'us')} ({fmt(cpu_one - cpu_none, 'us')} more: "
            "building the batch and calling the hook, on the writer thread); "
            f"{_runs(len(one))}",
        ),
    ]


def bench_wide(python: str, plan: Plan, raw: dict[str, Any]) -> list[Check]:
    """Caller-side cost of ``log()`` with a 1000-scalar row."""
    outs = repeat(python, "log", plan.log_runs, {"steps": plan.wide_rows, "metrics": 1000, "prebuild": 0})
    raw["log1000"] = [o.result for o in outs]
    mid = _median_run(outs, "median_us")
    return [
        Check(
            f"log() 1000 scalars: caller median ({plan.wide_rows:,} rows)",
            mid["median_us"],
            "us",
            250.0,
            detail=f"p90 {fmt(mid['p90_us'], 'us')}, p99 {fmt(mid['p99_us'], 'us')}; "
            f"process CPU per row incl. building it {fmt(mid['cpu_per_row_us'], 'us')}",
        ),
    ]


def bench_script(python: str, plan: Plan, raw: dict[str, Any]) -> list[Check]:
    """A user's whole script, with default settings (system metrics on)."""
    outs = repeat(python, "script", plan.script_runs, {"steps": plan.steps, "metrics": 10}, stats=True)
    raw["script"] = [{**o.result, "subprocess_wall_s": o.wall_s} for o in outs]
    n = f"{plan.steps:,} × log(10)"
    runs = _runs(len(outs))
    return [
        Check(
            f"script import→init→{n}→finish: wall",
            _med(outs, "total_s"),
            "s",
            0.5,
            detail=f"{runs}: import {ms(outs, 'import_s')}, init {ms(outs, 'init_s')}, "
            f"loop {ms(outs, 'loop_s')}, finish {ms(outs, 'finish_s')}",
        ),
        Check(
            "script: whole subprocess wall (start-up, exit)", statistics.median(o.wall_s for o in outs), "s"
        ),
        Check("script: peak RSS (largest run)", max(o.result["maxrss_mb"] for o in outs), "MB", 40.0),
        Check("init() offline (in the script)", _med(outs, "init_s") * 1e3, "ms", 50.0),
        Check(
            f"finish() after {plan.steps:,} rows (in the script)", _med(outs, "finish_s") * 1e3, "ms", 100.0
        ),
    ]


def bench_import(python: str, plan: Plan, raw: dict[str, Any]) -> list[Check]:
    """``import trackwell`` alone, in fresh processes."""
    outs = repeat(python, "import", plan.import_runs)
    raw["import"] = [o.result for o in outs]
    times = [o.result["import_s"] * 1e3 for o in outs]
    heavy = sorted({m for o in outs for m in o.result["heavy_modules"]})
    return [
        Check(
            "import trackwell",
            statistics.median(times),
            "ms",
            100.0,
            detail=f"median of {len(outs)} fresh processes (min {fmt(min(times), 'ms')}, "
            f"max {fmt(max(times), 'ms')}); heavy modules pulled in: {', '.join(heavy) or 'none'}",
        ),
    ]


def bench_kill(python: str, plan: Plan, raw: dict[str, Any], seed: int | None) -> list[Check]:
    """kill -9 at random moments: what the run log keeps."""
    trials = durability.run_trials(python, plan.kill_trials, plan.flush_interval, seed=seed)
    raw["durability"] = [{**asdict(t), "lost": t.lost, "allowed": t.allowed, "ok": t.ok} for t in trials]
    worst = max(trials, key=lambda t: t.lost / max(1, t.allowed))
    notes = "; ".join(t.describe() for t in trials)
    interval = f"{plan.flush_interval:g} s"
    return [
        Check(
            f"kill -9: rows lost ({len(trials)} trials)",
            worst.lost,
            "rows",
            measured=f"worst {worst.lost:,} of {worst.allowed:,}",
            target=f"≤ rows of the last {interval}",
            ok=all(t.recovered >= t.required for t in trials),
            detail=notes,
        ),
        Check(
            "kill -9: recovered steps are 0..N, no gap",
            float(sum(not t.contiguous for t in trials)),
            "rows",
            measured="contiguous" if all(t.contiguous for t in trials) else "GAPS",
            target="all trials",
            ok=all(t.contiguous for t in trials),
        ),
    ]


def machine_speed() -> Check:
    """A fixed pure-Python loop, timed here: it says how fast this machine was in this sitting.

    Shared 2-core machines vary by 2-4x from one hour to the next; a figure is only
    comparable with another taken when this loop took about as long.
    """
    best = math.inf
    for _ in range(50):
        t0 = time.perf_counter()
        sum(range(10_000))
        best = min(best, time.perf_counter() - t0)
    return Check(
        "machine speed: sum(range(10_000)), best of 50",
        best * 1e6,
        "us",
        detail="for comparing sittings only: a typical modern x86 core takes about 60-100 µs",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small workloads; fail only on a crash (CI)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the workloads")
    parser.add_argument("--seed", type=int, help="seed for the random kill moments")
    parser.add_argument("--no-server", action="store_true", help="skip the server benchmarks")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    splan = server.QUICK if args.quick else server.FULL

    raw: dict[str, Any] = {}
    checks: list[Check] = []
    stages: list[tuple[str, Callable[[], list[Check]]]] = [
        ("log() 10 scalars", lambda: bench_log(args.python, plan, raw)),
        ("log() 1000 scalars", lambda: bench_wide(args.python, plan, raw)),
        ("on_log hook cost", lambda: bench_hooks(args.python, plan, raw)),
        ("whole script", lambda: bench_script(args.python, plan, raw)),
        ("import trackwell", lambda: bench_import(args.python, plan, raw)),
        ("kill -9 durability", lambda: bench_kill(args.python, plan, raw, args.seed)),
        ("media", lambda: media.bench_media(args.python, media.QUICK if args.quick else media.FULL, raw)),
        (
            "tables",
            lambda: tables.bench_tables(args.python, tables.QUICK if args.quick else tables.FULL, raw),
        ),
        ("sweeps", lambda: sweeps.bench_sweeps(sweeps.QUICK if args.quick else sweeps.FULL, raw)),
        (
            "torch watch, DDP",
            lambda: torch_watch.bench_torch(
                args.python, torch_watch.QUICK if args.quick else torch_watch.FULL, raw
            ),
        ),
    ]
    if not args.no_server:
        if importlib.util.find_spec("trackwell_server") is None:
            print("trackwell-server is not installed: server benchmarks skipped", file=sys.stderr)
        else:
            stages.append(("server ingest (SQLite)", lambda: server.bench_ingest(splan, raw, "SQLite")))
            if server.pg_available():
                stages.append(
                    ("server ingest (PostgreSQL)", lambda: server.bench_ingest(splan, raw, "PostgreSQL"))
                )
            stages.append(("server history reads", lambda: server.bench_history(splan, raw)))
            stages.append(("log() online", lambda: server.bench_online_log(args.python, splan, raw)))
            if importlib.util.find_spec("trackwell_mlflow") is not None:
                mplan = mlflow_import.QUICK if args.quick else mlflow_import.FULL
                stages.append(("mlflow import", lambda: mlflow_import.bench_mlflow_import(mplan, raw)))
            aplan = artifacts.QUICK if args.quick else artifacts.FULL
            stages.append(("artifacts", lambda: artifacts.bench_artifacts(aplan, raw)))
            dplan = dashboard.QUICK if args.quick else dashboard.FULL
            stages.append(("dashboard", lambda: dashboard.bench_dashboard(dplan, raw)))
    for name, stage in stages:
        print(f"running: {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            checks.extend(stage())
        except (WorkloadError, OSError) as exc:
            checks.append(Check(name, None, "s", detail=str(exc).splitlines()[0]))
            raw.setdefault("errors", {})[name] = str(exc)
            print(exc, file=sys.stderr)
        print(f"         {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)

    checks.append(machine_speed())
    mode = "quick smoke run: targets are shown, only crashes fail" if args.quick else "full run"
    print(f"\ntrackwell benchmarks ({mode}; Python {sys.version.split()[0]})\n")
    print(table(checks, gated=not args.quick))
    if args.json:
        write_json(args.json, checks, args.quick, raw)
    if any(c.value is None for c in checks):
        return 2
    failed = [c.metric for c in checks if c.ok is False]
    if failed and not args.quick:
        print(f"\n{len(failed)} target(s) missed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
