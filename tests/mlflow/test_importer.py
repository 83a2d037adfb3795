"""The MLflow importer against real MLflow stores and a real trackwell server."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import trackwell
from trackwell_mlflow import MlflowImporter, Namespace
from trackwell_mlflow.rows import history_rows
from trackwell_mlflow.source import parse_param


def _api(dst: Any) -> Any:
    return trackwell.Api(overrides={"base_url": dst.url}, api_key=dst.admin_key)


def test_parse_param_keeps_strings_and_restores_numbers() -> None:
    assert parse_param("0.001") == 0.001 and parse_param("10") == 10 and parse_param("True") is True
    assert parse_param("[64, 32]") == [64, 32] and parse_param("None") is None
    assert parse_param("adam") == "adam" and math.isnan(parse_param("nan"))
    assert parse_param("1e400") == "1e400" and parse_param("nanometer") == "nanometer"


def test_history_rows_same_step_and_timestamps() -> None:
    class P:
        def __init__(self, v: float, t: int, s: int) -> None:
            self.value, self.timestamp, self.step = v, t, s

    rows = history_rows({"a": [P(1, 1000, 0), P(2, 3000, 0)], "b": [P(5, 2000, 0)]}, 0.0)
    assert rows == [
        {
            "_step": 0,
            "_timestamp": 2.0,
            "_runtime": 2.0,
            "a": 2.0,
            "b": 5.0,
            "_mlflow_timestamp/a": 3.0,
            "_mlflow_points/a": [[1.0, 1.0]],
        }
    ]


def test_sqlite_store_imports_whole_and_validates(sqlite_store: Any, dst: Any, tmp_path: Path) -> None:
    uri, ids = sqlite_store
    importer = MlflowImporter(mlflow_tracking_uri=uri)
    runs = list(importer.collect_runs())
    assert {r.run_id() for r in runs} == {
        ids[k] for k in ("parent", "child", "running", "killed")
    }  # deleted skipped
    ns = Namespace("local", "mlflow-sqlite")
    report = importer.import_runs(runs, namespace=ns)
    assert report.failed == [] and report.runs == 4
    assert report.metric_points == 300 + 300 + 3 + 2 + 1 and report.links == 1
    assert importer.validate(runs, namespace=ns) == []

    api = _api(dst)
    parent = api.run(f"local/mlflow-sqlite/{ids['parent']}")
    assert parent.name == "parent ✓" and parent.state == "finished" and parent.notes == "notes ✓"
    assert parent.config["lr"] == 0.001 and parent.config["epochs"] == 10 and parent.config["use_bn"] is True
    assert parent.metadata["mlflow"]["params"]["lr"] == "0.001"
    assert parent.metadata["mlflow"]["experiment_name"] == "exp ünïcode/α"
    assert parent.metadata["git"]["commit"] == "abc123"
    assert sorted(parent.tags) == ["flag", "team=vision"]
    assert parent.start_time == pytest.approx(1_700_000_000.0) and parent.runtime == pytest.approx(10.0)
    rows = list(parent.scan_history())
    at1 = next(r for r in rows if r["_step"] == 1)
    odd = [at1["odd"], *(v for v, _ in at1["_mlflow_points/odd"])]
    assert (
        len(odd) == 3
        and sum(map(math.isnan, odd)) == 1
        and sorted(x for x in odd if not math.isnan(x))
        in ([-math.inf, math.inf], [-sys.float_info.max, sys.float_info.max])
    )  # MLflow's SQL stores clip Inf
    row0 = next(r for r in rows if r["_step"] == 0)
    assert row0["loss"] == 1.0 and row0["acc"] == 0.0  # two metrics of one step: one row
    at2 = next(r for r in rows if r["_step"] == 2)
    assert at2["same"] == 2.0 and at2["_mlflow_points/same"] == [[1.0, 1_700_000_000.007]]
    assert api.run(f"local/mlflow-sqlite/{ids['child']}").group == ids["parent"]
    assert api.run(f"local/mlflow-sqlite/{ids['child']}").state == "failed"
    assert api.run(f"local/mlflow-sqlite/{ids['killed']}").state == "killed"
    assert api.run(f"local/mlflow-sqlite/{ids['running']}").state == "running"
    arts = {a.type: a for a in parent.logged_artifacts()}
    assert set(arts["mlflow-artifacts"].manifest.entries) == {"big.bin", "plots/a.txt"}
    assert set(arts["model"].manifest.entries) == {"MLmodel", "weights.bin"}
    linked = api.artifact("local/model-registry/my-model:champion")
    assert linked.digest == arts["model"].digest and "mlflow-v1" in linked.aliases

    # idempotent: a second import stores nothing, new versions none
    again = MlflowImporter(mlflow_tracking_uri=uri)
    report2 = again.import_runs(list(again.collect_runs()), namespace=ns)
    assert report2.runs == 0 and len(report2.skipped) == 4 and report2.failed == [] and report2.artifacts == 0
    assert [v.version for v in api.artifacts("model", "local/mlflow-sqlite/" + arts["model"].name)] == ["v0"]
    assert len(list(api.run(f"local/mlflow-sqlite/{ids['parent']}").scan_history())) == len(rows)
    assert again.validate(list(again.collect_runs()), namespace=ns) == []


def test_new_and_changed_runs_picked_up(sqlite_store: Any, dst: Any) -> None:
    from mlflow.tracking import MlflowClient

    uri, ids = sqlite_store
    ns = Namespace("local", "mlflow-pickup")
    first = MlflowImporter(mlflow_tracking_uri=uri)
    first.import_runs(list(first.collect_runs()), artifacts=False, namespace=ns)
    c = MlflowClient(tracking_uri=uri)
    c.log_metric(ids["running"], "late", 3.0, step=4)
    c.set_terminated(ids["running"], "FINISHED")
    second = MlflowImporter(mlflow_tracking_uri=uri)
    runs = list(second.collect_runs())
    report = second.import_runs(runs, artifacts=False, namespace=ns)
    assert report.runs == 1 and len(report.skipped) == 3
    run = _api(dst).run(f"local/mlflow-pickup/{ids['running']}")
    assert run.state == "finished" and run.summary["late"] == 3.0
    assert [r["late"] for r in run.scan_history()] == [3.0]


def test_cli_dry_run_writes_nothing_then_imports(sqlite_store: Any, dst: Any) -> None:
    from trackwell.cli import _register_all, cli

    uri, ids = sqlite_store
    _register_all()
    res = CliRunner().invoke(cli, ["import", "mlflow", "--uri", uri, "--project", "mlflow-cli", "--dry-run"])
    assert res.exit_code == 0, res.output
    points = sum(
        len(h) for r in MlflowImporter(mlflow_tracking_uri=uri).collect_runs() for h in r.history().values()
    )
    assert f"dry run: 4 runs, {points} metric points, 7 params" in res.output
    with pytest.raises(Exception, match="Could not find run"):
        _api(dst).run(f"local/mlflow-cli/{ids['parent']}").name  # noqa: B018
    res = CliRunner().invoke(cli, ["import", "mlflow", "--uri", uri, "--project", "mlflow-cli", "--no-artifacts",
                                   "--validate"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "runs imported:  4" in res.output and "validation: 0 difference(s) in 4 runs" in res.output


def test_documented_code_runs_under_import_trackwell_as_wandb(sqlite_store: Any, dst: Any) -> None:
    uri, ids = sqlite_store
    code = textwrap.dedent(f"""
        import sys
        import trackwell as wandb
        sys.modules["wandb"] = wandb
        from typing import Iterable
        import mlflow
        from wandb.apis.importers.mlflow import MlflowImporter, MlflowRun
        from wandb.apis.importers import Namespace
        mlflow_tracking_uri = {uri!r}
        importer = MlflowImporter(mlflow_tracking_uri=mlflow_tracking_uri)
        runs = importer.collect_runs()
        client = mlflow.tracking.MlflowClient(mlflow_tracking_uri)
        mlflow_client = client
        runs: Iterable[MlflowRun] = []
        for run in mlflow_client.search_runs(["1"]):
            runs.append(MlflowRun(run, client))
        importer.import_runs(runs, artifacts=False, namespace=Namespace("local", "mlflow-doc"))
        assert wandb.apis.importers.mlflow.MlflowImporter is MlflowImporter
        print("imported", len(runs))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "imported 4" in out.stdout
    assert _api(dst).run(f"local/mlflow-doc/{ids['child']}").group == ids["parent"]


def test_interrupted_import_resumes(sqlite_store: Any, dst: Any, tmp_path: Path) -> None:
    """Kill an import in a subprocess mid-way, import again: everything once, validates."""
    uri, _ = sqlite_store
    code = textwrap.dedent(f"""
        import os, signal
        from trackwell_mlflow import MlflowImporter, Namespace
        from trackwell_mlflow.importer import Hooks
        class Kill(Hooks):
            def artifact_progress(self, n):
                os.kill(os.getpid(), signal.SIGKILL)  # mid artifact upload, after the first run log
        imp = MlflowImporter(mlflow_tracking_uri={uri!r})
        imp.hooks = Kill()
        imp.import_runs(list(imp.collect_runs()), namespace=Namespace("local", "mlflow-resume"))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=300
    )
    assert out.returncode == -9, out.stderr[-3000:]
    importer = MlflowImporter(mlflow_tracking_uri=uri)
    runs = list(importer.collect_runs())
    report = importer.import_runs(runs, namespace=Namespace("local", "mlflow-resume"))
    assert report.failed == []
    assert importer.validate(runs, namespace=Namespace("local", "mlflow-resume")) == []


def test_tracking_server_store(mlflow_server: str, dst: Any, tmp_path: Path) -> None:
    from tests.mlflow.conftest import fill_store

    ids = fill_store(mlflow_server, tmp_path, big_bytes=20_000)
    importer = MlflowImporter(mlflow_tracking_uri=mlflow_server)
    runs = list(importer.collect_runs())
    ns = Namespace("local", "mlflow-http")
    report = importer.import_runs(runs, namespace=ns)
    assert report.failed == [] and report.runs == 4
    assert importer.validate(runs, namespace=ns) == []
    assert _api(dst).run(f"local/mlflow-http/{ids['parent']}").config["layers"] == [64, 32]
