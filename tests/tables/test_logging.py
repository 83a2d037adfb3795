"""Tables and charts through log(): run files, log modes, the Public API (local and server), sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trackwell
from trackwell.api.local import LocalApi
from trackwell.table import Table


def local_run(root: Path, run: trackwell.Run) -> Any:
    return LocalApi(root).run(f"{run.project_name()}/{run.id}")


def table_records(api_run: Any, key: str) -> list[dict[str, Any]]:
    return [row[key] for row in api_run.scan_history(keys=[key])]


def test_logged_table_reads_back_as_a_dataframe(trackwell_dir: Path) -> None:
    df = pd.DataFrame({"epoch": [1, 2, 3], "acc": [0.5, 0.75, 0.9], "note": ["a", "b", None]})
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"preds": Table(dataframe=df), "loss": 0.1})
    api_run = local_run(trackwell_dir, run)
    [record] = table_records(api_run, "preds")
    assert record["_type"] == "table-file"
    assert record["nrows"] == 3
    assert (Path(run._run_dir) / "files" / record["path"]).is_file()
    assert api_run.history(pandas=False)[0]["loss"] == 0.1
    pd.testing.assert_frame_equal(api_run.table("preds").get_dataframe(), df)
    assert api_run.summary["preds"]["path"] == record["path"]


def test_a_dataframe_passed_to_log_is_a_table(trackwell_dir: Path) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"df": df})
    api_run = local_run(trackwell_dir, run)
    assert table_records(api_run, "df")[0]["_type"] == "table-file"
    pd.testing.assert_frame_equal(api_run.table("df").get_dataframe(), df)


def test_the_logged_content_is_what_it_was_at_the_call(trackwell_dir: Path) -> None:
    t = Table(columns=["i"], data=[[0]], log_mode="MUTABLE")
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"t": t})
        for i in range(1, 50):  # changes right after log(), while the writer may be encoding
            t.add_data(i)
        t.add_column("sq", [i * i for i in range(50)])
        run.log({"t": t})
    api_run = local_run(trackwell_dir, run)
    assert api_run.table("t", step=0).data == [[0]]
    assert api_run.table("t", step=1).data == [[i, i * i] for i in range(50)]


def test_immutable_relog_reuses_the_first_file_and_warns_on_change(trackwell_dir: Path) -> None:
    t = Table(columns=["a"], data=[[1]])
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"t": t})
        run.log({"t": t})
        with pytest.warns(UserWarning, match="log_mode='IMMUTABLE' that has been logged already"):
            t.add_data(2)
        run.log({"t": t})
    api_run = local_run(trackwell_dir, run)
    records = table_records(api_run, "t")
    assert len(records) == 3
    assert len({r["path"] for r in records}) == 1
    assert len(list((Path(run._run_dir) / "files" / "media" / "table").glob("*.parquet"))) == 1
    assert api_run.table("t").data == [[1]]


def test_mutable_relog_writes_a_new_file(trackwell_dir: Path) -> None:
    t = Table(columns=["a"], data=[[1]], log_mode="MUTABLE")
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"t": t})
        run.log({"t": t})  # unchanged: same content, same file
        t.add_data(2)
        run.log({"t": t})
    records = table_records(local_run(trackwell_dir, run), "t")
    assert [r["nrows"] for r in records] == [1, 1, 2]
    assert records[0]["path"] == records[1]["path"] != records[2]["path"]
    assert all(r["log_mode"] == "MUTABLE" for r in records)


def test_incremental_logs_only_new_rows_and_readers_concatenate(trackwell_dir: Path) -> None:
    t = Table(columns=["step", "val"], log_mode="INCREMENTAL")
    expected = []
    with trackwell.init(project="tables", mode="offline") as run:
        for step in range(4):
            for j in range(3):
                t.add_data(step, step * 10 + j)
                expected.append([step, step * 10 + j])
            run.log({"t": t})
    api_run = local_run(trackwell_dir, run)
    records = table_records(api_run, "t")
    assert [r["_type"] for r in records] == ["incremental-table-file"] * 4
    assert [r["increment_num"] for r in records] == [0, 1, 2, 3]
    assert [r["nrows"] for r in records] == [3, 6, 9, 12]
    assert [r["increment_nrows"] for r in records] == [3, 3, 3, 3]
    assert records[3]["previous_increments_paths"] == [r["path"] for r in records[:3]]
    read = lambda p: (Path(run._run_dir) / "files" / p).read_bytes()  # noqa: E731
    assert [len(Table.from_record({**r, "previous_increments_paths": []}, read)) for r in records] == [
        3,
        3,
        3,
        3,
    ]
    assert api_run.table("t").data == expected
    assert api_run.table("t", step=1).data == expected[:6]
    with pytest.raises(trackwell.UsageError, match="not supported for tables with log_mode='INCREMENTAL'"):
        t.add_column("x", list(range(12)))


def test_type_error_loses_nothing_logged_before(trackwell_dir: Path) -> None:
    t = Table(columns=["a"])
    with trackwell.init(project="tables", mode="offline") as run:
        t.add_data(1)
        run.log({"t": t, "x": 1})
        with pytest.raises(TypeError, match="row 1, column 'a'"):
            t.add_data("oops")
        run.log({"x": 2})
    api_run = local_run(trackwell_dir, run)
    assert [r["x"] for r in api_run.history(pandas=False)] == [1, 2]
    assert api_run.table("t").data == [[1]]


def test_chart_logged_and_read_back(trackwell_dir: Path) -> None:
    table = Table(columns=["x", "y"], data=[[i, i * i] for i in range(5)])
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"curve": trackwell.plot.line(table, "x", "y", title="Squares")})
    api_run = local_run(trackwell_dir, run)
    [record] = table_records(api_run, "curve")
    assert record["_type"] == "plot-table"
    assert record["spec"] == {
        "name": "wandb/line/v0",
        "fields": {"x": "x", "y": "y", "stroke": None},
        "string_fields": {"title": "Squares"},
    }
    assert record["title"] == "Squares"
    assert api_run.table("curve") == table
    with pytest.raises(KeyError, match="logged no 'nothing'"):
        api_run.table("nothing")


def test_media_cells_through_a_run(trackwell_dir: Path) -> None:
    pixels = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    t = Table(columns=["img", "label"], data=[[trackwell.Image(pixels), "a"]])
    with trackwell.init(project="tables", mode="offline") as run:
        run.log({"t": t})
    back = local_run(trackwell_dir, run).table("t")
    assert isinstance(back.data[0][0], trackwell.Image)
    assert back.data[0][1] == "a"


def test_server_round_trip(trackwell_online_dir: Path) -> None:
    df = pd.DataFrame(
        {"id": list(range(1000)), "score": np.linspace(0, 1, 1000), "name": [f"r{i}" for i in range(1000)]}
    )
    inc = Table(columns=["k"], log_mode="INCREMENTAL")
    with trackwell.init(project="tables-online", mode="online") as run:
        run.log({"table": Table(dataframe=df)})
        for k in range(3):
            inc.add_data(k)
            run.log({"inc": inc})
        run.log(
            {"roc": trackwell.plot.roc_curve([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])}
        )
        pixels = np.full((6, 6, 3), 200, dtype=np.uint8)
        run.log({"images": Table(columns=["img"], data=[[trackwell.Image(pixels)]])})
    api_run = trackwell.Api().run(run.path)
    pd.testing.assert_frame_equal(api_run.table("table").get_dataframe(), df)
    [cell] = api_run.table("images").get_column("img", convert_to="numpy")  # the PNG, from the server
    np.testing.assert_array_equal(cell, pixels)
    assert api_run.table("inc").data == [[0], [1], [2]]
    assert api_run.table("roc").columns == ["class", "fpr", "tpr"]


def test_offline_then_sync_delivers_tables(trackwell_online_dir: Path, trackwell_server: Any) -> None:
    t = Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    with trackwell.init(project="tables-sync", mode="offline") as run:
        run.log({"t": t})
    proc = subprocess.run(
        [sys.executable, "-m", "trackwell", "sync", str(run._run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    api_run = trackwell.Api().run(f"{run.project_name()}/{run.id}")
    assert api_run.table("t") == t
