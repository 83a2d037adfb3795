"""A Table logged under a key is also artifact ``run-<run id>-<key>`` of type ``run_table``,
as in W&B: ``api.artifact(...).get(key)`` gives the table back, online and after a sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

import trackwell
from trackwell._pipeline.sync import LocalRun, sync_run
from trackwell._pipeline.transport import Transport


def _table(rows: int) -> trackwell.Table:
    return trackwell.Table(
        columns=["id", "score", "label"], data=[[i, i / 10, f"c{i % 3}"] for i in range(rows)]
    )


def test_logged_table_is_a_run_table_artifact(trackwell_online_dir: Path) -> None:
    run = trackwell.init(project="runtables", mode="online")
    table = _table(5)
    run.log({"preds": table, "loss": 0.5})
    run.log({"preds": _table(5)})  # the same content again: no new version
    run.log({"eval/preds": _table(7)})
    run.finish()
    api = trackwell.Api()
    art = api.artifact(f"{run.entity}/runtables/run-{run.id}-preds:latest")
    assert art.type == "run_table"
    assert art.version == "v0"
    assert [a.version for a in api.artifacts("run_table", f"{run.entity}/runtables/run-{run.id}-preds")] == [
        "v0"
    ]
    got = art.get("preds")
    assert isinstance(got, trackwell.Table)
    pd.testing.assert_frame_equal(got.get_dataframe(), table.get_dataframe())
    other = api.artifact(f"{run.entity}/runtables/run-{run.id}-eval_preds:latest").get("eval/preds")
    assert other is not None and len(other.get_dataframe()) == 7
    assert art.logged_by().id == run.id


def test_changed_table_is_a_new_version(trackwell_online_dir: Path) -> None:
    run = trackwell.init(project="runtables", mode="online")
    table = trackwell.Table(columns=["a"], data=[[1]], log_mode="MUTABLE")
    run.log({"t": table})
    table.add_data(2)
    run.log({"t": table})
    run.finish()
    api = trackwell.Api()
    name = f"{run.entity}/runtables/run-{run.id}-t"
    assert api.artifact(f"{name}:v0").get("t").get_dataframe()["a"].tolist() == [1]
    assert api.artifact(f"{name}:latest").get("t").get_dataframe()["a"].tolist() == [1, 2]


def test_offline_table_artifact_arrives_at_sync(trackwell_online_dir: Path, trackwell_server: Any) -> None:
    run = trackwell.init(project="runtables-off", mode="offline")
    table = _table(3)
    run.log({"preds": table})
    run.finish()
    up = sync_run(LocalRun(run._run_dir), Transport(trackwell_server.url, trackwell_server.admin_key))
    assert up.error is None and up.done
    api = trackwell.Api()
    art = api.artifact(f"{api.default_entity}/runtables-off/run-{run.id}-preds:latest")
    assert art.type == "run_table"
    pd.testing.assert_frame_equal(art.get("preds").get_dataframe(), table.get_dataframe())
