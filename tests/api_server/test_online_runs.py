"""End to end: runs logged with ``trackwell.init(mode="online")`` read back with ``trackwell.Api()``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import trackwell


def test_an_online_run_reads_back_through_the_public_api(
    server: Any, trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_API_KEY", server.user("analyst"))
    run = trackwell.init(
        project="online", config={"lr": 0.1, "arch": {"depth": 3}}, tags=["e2e"], mode="online"
    )
    for step in range(100):
        run.log({"loss": 1 / (step + 1), "acc": step / 100})
    run.log({"loss": math.nan})
    run.summary["best"] = 0.99
    run_id = run.id
    run.finish()

    api = trackwell.Api()
    read = api.run(f"online/{run_id}")
    assert (read.entity, read.state, read.tags) == ("analyst", "finished", ["e2e"])
    assert read.config == {"lr": 0.1, "arch": {"depth": 3}}
    assert read.summary["best"] == 0.99 and read.summary["acc"] == 0.99
    assert math.isnan(read.summary["loss"])
    df = read.history(keys=["loss"], samples=None)
    assert len(df) == 101 and df["loss"][0] == 1.0 and math.isnan(df["loss"][100])
    assert [r["acc"] for r in read.scan_history(keys=["acc"], min_step=98)] == [0.98, 0.99]
    assert "config.yaml" in {f.name for f in read.files()}
    assert [r.id for r in api.runs("online", filters={"tags": "e2e"})] == [run_id]
