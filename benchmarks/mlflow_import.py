"""MLflow import throughput: metric points/s and runs/s from a sqlite MLflow store to a real server.

The store is made with MLflow's own client (log_batch, 1,000 points a call, MLflow's
limit); only the import is timed (reading MLflow, building the run logs, uploading).
The issue names the workload (100 runs x 10 metrics x 10,000 steps) but no target, so
the lines are for information. ``python benchmarks/mlflow_import.py --quick`` runs it alone.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import Check


@dataclass
class ImportPlan:
    runs: int
    metrics: int
    steps: int


FULL = ImportPlan(runs=100, metrics=10, steps=10_000)
QUICK = ImportPlan(runs=4, metrics=10, steps=500)


def make_store(uri: str, plan: ImportPlan) -> None:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    exp = c.create_experiment("bench")
    t0 = 1_700_000_000_000
    for r in range(plan.runs):
        rid = c.create_run(exp, run_name=f"run-{r}", start_time=t0).info.run_id
        c.log_batch(rid, params=[Param("lr", "0.01"), Param("seed", str(r))])
        batch: list[Any] = []
        for s in range(plan.steps):
            batch += [Metric(f"m{k}", (s * 31 + k) % 97 / 97.0, t0 + s, s) for k in range(plan.metrics)]
            if len(batch) >= 1000:
                c.log_batch(rid, metrics=batch)
                batch = []
        if batch:
            c.log_batch(rid, metrics=batch)
        c.set_terminated(rid, "FINISHED", end_time=t0 + plan.steps)


def bench_mlflow_import(plan: ImportPlan, raw: dict[str, Any]) -> list[Check]:
    from trackwell_mlflow import MlflowImporter, Namespace
    from trackwell_server.testing import start_server

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        t = time.perf_counter()
        make_store(uri, plan)
        built = time.perf_counter() - t
        server = start_server(Path(tmp) / "server")
        try:
            imp = MlflowImporter(
                mlflow_tracking_uri=uri, dst_base_url=server.url, dst_api_key=server.admin_key
            )
            t = time.perf_counter()
            report = imp.import_runs(
                list(imp.collect_runs()), artifacts=False, namespace=Namespace(None, "bench")
            )
            took = time.perf_counter() - t
            t = time.perf_counter()
            again = imp.import_runs(
                list(imp.collect_runs()), artifacts=False, namespace=Namespace(None, "bench")
            )
            took_again = time.perf_counter() - t
        finally:
            server.stop()
    points = plan.runs * plan.metrics * plan.steps
    assert report.metric_points == points and not report.failed, str(report)
    assert len(again.skipped) == plan.runs
    raw["mlflow_import"] = {"plan": plan.__dict__, "seconds": took, "reimport_seconds": took_again,
                            "store_build_seconds": built}  # fmt: skip
    where = f"{plan.runs} runs x {plan.metrics} metrics x {plan.steps:,} steps"
    return [
        Check("mlflow import: metric points/s", points / took, "pts/s", measured=f"{points / took:,.0f}",
              target="info", detail=f"{where}: {took:.1f} s (store built in {built:.1f} s)"),
        Check("mlflow import: runs/s", plan.runs / took, "runs/s",
              measured=f"{plan.runs / took:.2f}", target="info"),
        Check("mlflow re-import (nothing new): runs/s", plan.runs / took_again, "runs/s",
              measured=f"{plan.runs / took_again:.1f}", target="info"),
    ]  # fmt: skip


if __name__ == "__main__":
    from report import table

    checks = bench_mlflow_import(QUICK if "--quick" in sys.argv else FULL, {})
    print(table(checks))
