"""Media values read back through a real server (rows holding nothing but media), the
end-of-run terminal summary, and media under define_metric summary rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackwell

pd = pytest.importorskip("pandas")
pytest.importorskip("PIL.Image")


def _media_only_run(run: trackwell.Run) -> dict[str, Any]:
    """Three rows, each holding one typed record and no number of the user's."""
    run.log({"img": trackwell.Image(np.full((4, 6, 3), 9, np.uint8))})
    run.log({"hist": trackwell.Histogram([1.0, 2.0, 2.0, 3.0], num_bins=4)})
    run.log({"tab": trackwell.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])})
    run.finish()
    return {"img": 0, "hist": 1, "tab": 2}


def _user_keys(row: dict[str, Any]) -> set[str]:
    return {k for k in row if not k.startswith("_")}


def test_rows_holding_only_media_come_back_from_the_server(online_run: trackwell.Run) -> None:
    steps = _media_only_run(online_run)
    remote = trackwell.Api().run(f"{online_run.entity}/test/{online_run.id}")
    types = {"img": "image-file", "hist": "histogram", "tab": "table-file"}

    for rows in (list(remote.scan_history()), remote.history(pandas=False), remote.history(samples=2)):
        rows = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
        by_step = {r["_step"]: r for r in rows}
        assert sorted(by_step) == [0, 1, 2], rows
        for key, step in steps.items():
            assert by_step[step][key]["_type"] == types[key]
    full = {r["_step"]: r for r in remote.scan_history()}
    assert [_user_keys(full[s]) for s in range(3)] == [{"img"}, {"hist"}, {"tab"}]
    assert full[0]["img"]["width"] == 6 and full[0]["img"]["height"] == 4
    assert full[1]["hist"]["values"] == [1, 0, 2, 1]

    for key, step in steps.items():
        scanned = list(remote.scan_history(keys=[key]))
        assert scanned == [{key: full[step][key]}]
        sampled = remote.history(keys=[key], pandas=False)
        assert [r["_step"] for r in sampled] == [step] and sampled[0][key] == full[step][key]
        frame = remote.history(keys=[key])
        assert list(frame["_step"]) == [step] and frame[key][0] == full[step][key]
    assert list(remote.scan_history(keys=["img", "hist"])) == []  # no row holds both


def test_sparse_media_survive_sampling(online_run: trackwell.Run) -> None:
    # a number every step, an image every 100: the sampled read must not keep only the
    # images that happen to sit at a step the loss's samples chose
    for step in range(1000):
        row: dict[str, Any] = {"loss": float((step * 7919) % 1000)}
        if step % 100 == 0:
            row["img"] = trackwell.Image(np.full((2, 2), step // 100, np.uint8))
        online_run.log(row)
    online_run.finish()
    remote = trackwell.Api().run(f"{online_run.entity}/test/{online_run.id}")
    rows = remote.history(samples=50, pandas=False)
    assert [r["_step"] for r in rows if "img" in r] == list(range(0, 1000, 100))
    assert len(rows) < 200  # still sampled: about 50 steps per numeric key, not 1,000 rows
    picked = remote.history(keys=["img"], samples=5, pandas=False)
    assert [r["_step"] for r in picked] == [0, 200, 400, 600, 900]  # evenly, first and last kept


def test_finish_prints_media_as_short_names(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_SILENT", "false")
    run = trackwell.init(project="test", mode="offline")
    table = trackwell.Table(columns=["a", "b", "c"], data=[[i, i, i] for i in range(5)])
    for i in range(3):
        run.log(
            {
                "img": trackwell.Image(np.zeros((32, 16, 3), np.uint8)),
                "pair": [trackwell.Image(np.zeros((2, 2), np.uint8))] * 2,
                "hist": trackwell.Histogram(list(range(100))),
                "tab": table,
                "loss": 1.0 / (i + 1),
            }
        )
    run.finish()
    err = capfd.readouterr().err
    history_block = err.split("Run history", 1)[1].split("Run summary", 1)[0]
    summary = dict(
        line.removeprefix("trackwell:").split(None, 1)
        for line in err.split("Run summary:", 1)[1].splitlines()
        if line.startswith("trackwell:   ")
    )
    assert "loss" in history_block
    assert not {"img", "pair", "hist", "tab"} & set(history_block.split())  # no sparkline for media
    assert summary["img"] == "Image 16x32"
    assert summary["pair"] == "Images x2"
    assert summary["hist"] == "Histogram"
    assert summary["tab"] == "Table 5x3"
    assert "_type" not in err and "sha256" not in err


@pytest.mark.parametrize("rule", ["min", "max", "mean"])
def test_histograms_under_a_summary_rule_keep_the_last_record(online_run: trackwell.Run, rule: str) -> None:
    run = online_run
    run.define_metric("hist", summary=rule)
    run.define_metric("loss", summary=rule)
    last = None
    for i in range(3):
        hist = trackwell.Histogram([float(i), float(i + 1), float(i + 2)], num_bins=3)
        last = hist.to_record()
        run.log({"hist": hist, "loss": float(3 - i)})
    assert run.summary["hist"] == last  # the run's own summary, before the writer flushes too
    run.finish()
    expected = {"min": 1.0, "max": 3.0, "mean": 2.0}[rule]
    local = trackwell.Api(root=str(Path.cwd())).run(f"test/{run.id}").summary
    remote = trackwell.Api().run(f"{run.entity}/test/{run.id}").summary
    for summary in (local, remote):
        assert summary["hist"]["_type"] == "histogram"
        assert summary["hist"]["values"] == last["values"] and summary["hist"]["bins"] == last["bins"]
        assert summary["loss"] == {rule: expected}
