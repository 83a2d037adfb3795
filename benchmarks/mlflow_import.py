"""MLflow import throughput: metric points/s and runs/s from a sqlite MLflow store to a real server.

The store is made with MLflow's own client and its ``metrics`` table (see ``make_store``);
only the import is timed (reading MLflow, building the run logs, uploading).
The workload is the issue's (100 runs x 10 metrics x 10,000 steps); the target,
200,000 metric points/s, is checked on it (the quick plan's figure is for information:
per-run round trips dominate 5,000-point runs). ``python benchmarks/mlflow_import.py --quick`` runs it alone.
"""

from __future__ import annotations

import os
import shutil
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
#: runs imported at once: reading one run's points overlaps another's upload
WORKERS = 4
#: the issue's throughput target (metric points/s); runs/s is for information
TARGET_POINTS_S = 200_000


def make_store(uri: str, plan: ImportPlan) -> None:
    """The store: runs, params and each metric's last point through MLflow's client,
    the other points inserted in bulk into MLflow's own ``metrics`` table.

    Why not ``log_batch`` for everything: MLflow's SQL store takes ~1.5 ms a point
    (checks for duplicates, updates latest metrics), ~4 hours for the full plan. The
    bulk rows are what ``log_batch`` would store (the table and columns of MLflow's
    ``SqlMetric``); the last step goes through the client, so MLflow itself computes
    the latest metrics (the runs' ``data.metrics``).
    """
    from mlflow.entities import Metric, Param
    from mlflow.store.tracking.dbmodels.models import SqlMetric
    from mlflow.tracking import MlflowClient

    _schema(uri)
    c = MlflowClient(tracking_uri=uri)
    engine = c._tracking_client.store.engine
    table = SqlMetric.__tablename__
    exp = c.create_experiment("bench")
    t0 = 1_700_000_000_000
    last = plan.steps - 1
    for r in range(plan.runs):
        rid = c.create_run(exp, run_name=f"run-{r}", start_time=t0).info.run_id
        c.log_batch(rid, params=[Param("lr", "0.01"), Param("seed", str(r))])
        with engine.begin() as conn:  # one executemany per metric, in the primary key's order
            for k in range(plan.metrics):
                conn.exec_driver_sql(
                    f"INSERT INTO {table} (key, value, timestamp, step, is_nan, run_uuid) "
                    "VALUES (?, ?, ?, ?, 0, ?)",
                    [(f"m{k}", _value(s, k), t0 + s, s, rid) for s in range(last)],
                )
        final = [Metric(f"m{k}", _value(last, k), t0 + last, last) for k in range(plan.metrics)]
        c.log_batch(rid, metrics=final)
        c.set_terminated(rid, "FINISHED", end_time=t0 + plan.steps)


def _schema(uri: str) -> None:
    """Put an empty MLflow database at a ``sqlite:///`` URI, made once per MLflow version.

    MLflow creates a store by running its ~60 migrations (5-25 s, more than a quick
    import takes); the empty result is kept in the temporary folder and copied.
    """
    import mlflow

    path = Path(uri.removeprefix("sqlite:///"))
    cached = Path(tempfile.gettempdir()) / f"trackwell-bench-mlflow-{mlflow.__version__}.db"
    if not cached.exists():
        from mlflow.tracking import MlflowClient

        with tempfile.TemporaryDirectory() as tmp:
            MlflowClient(tracking_uri=f"sqlite:///{tmp}/empty.db").search_experiments()
            shutil.copyfile(f"{tmp}/empty.db", f"{cached}.{os.getpid()}")
            os.replace(f"{cached}.{os.getpid()}", cached)
    shutil.copyfile(cached, path)


def _value(step: int, k: int) -> float:
    return (step * 31 + k) % 97 / 97.0


def bench_mlflow_import(plan: ImportPlan, raw: dict[str, Any]) -> list[Check]:
    from trackwell_mlflow import MlflowImporter, Namespace
    from trackwell_server.testing import start_server_process

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        t = time.perf_counter()
        make_store(uri, plan)
        built = time.perf_counter() - t
        server, _ = start_server_process(Path(tmp) / "server")  # its own process, as deployed
        try:
            imp = MlflowImporter(
                mlflow_tracking_uri=uri, dst_base_url=server.url, dst_api_key=server.admin_key
            )
            t = time.perf_counter()
            report = imp.import_runs(list(imp.collect_runs()), artifacts=False,
                                     namespace=Namespace(None, "bench"), max_workers=WORKERS)  # fmt: skip
            took = time.perf_counter() - t
            t = time.perf_counter()
            again = imp.import_runs(list(imp.collect_runs()), artifacts=False,
                                    namespace=Namespace(None, "bench"), max_workers=WORKERS)  # fmt: skip
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
              target=f">= {TARGET_POINTS_S:,}" + ("" if plan == FULL else " (full plan)"),
              ok=points / took >= TARGET_POINTS_S if plan == FULL else None,  # quick: fixed costs dominate
              detail=f"{where}, {WORKERS} workers: {took:.1f} s (store built in {built:.1f} s)"),
        Check("mlflow import: runs/s", plan.runs / took, "runs/s",
              measured=f"{plan.runs / took:.2f}", target="info"),
        Check("mlflow re-import (nothing new): runs/s", plan.runs / took_again, "runs/s",
              measured=f"{plan.runs / took_again:.1f}", target="info"),
    ]  # fmt: skip


if __name__ == "__main__":
    from report import table

    checks = bench_mlflow_import(QUICK if "--quick" in sys.argv else FULL, {})
    print(table(checks))
