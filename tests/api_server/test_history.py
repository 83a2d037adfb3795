"""``run.history()`` and ``run.scan_history()`` against a server: sampling, packed columns, lazy scans."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest

from trackwell.api.remote import ServerApi

STEPS = 10_000
PEAK, DIP, NAN_AT, INF_AT = 5_432, 7_777, 100, 200


def loss_at(step: int) -> float:
    if step == PEAK:
        return 100.0
    if step == DIP:
        return -50.0
    if step == NAN_AT:
        return math.nan
    if step == INF_AT:
        return math.inf
    return 1.0 / (1 + step)


@pytest.fixture(scope="module")
def curves(seed: Any) -> None:
    """``analyst/curves/peaks``: ``loss`` at every step with one spike, one dip, a NaN and an Inf;
    ``val`` every 10th step; and three system-metrics samples."""
    rows = []
    for step in range(STEPS):
        row: dict[str, Any] = {"loss": loss_at(step)}
        if step % 10 == 0:
            row["val"] = step / 10
        rows.append(row)
    stats = [{"system/cpu": 10.0 * (i + 1)} for i in range(3)]
    seed.run("curves", "peaks", rows=rows, stats=stats)


pytestmark = pytest.mark.usefixtures("curves")


def test_sampling_keeps_peaks_and_dips(api: ServerApi) -> None:
    df = api.run("analyst/curves/peaks").history(keys=["loss"], samples=100)
    assert list(df.columns) == ["_step", "loss"]
    assert 50 <= len(df) <= 250  # about `samples` points, min and max of each bucket
    by_step = dict(zip(df["_step"], df["loss"], strict=True))
    assert by_step[PEAK] == 100.0 and by_step[DIP] == -50.0  # one point each among 10,000
    assert by_step[INF_AT] == math.inf  # the largest value of its bucket
    assert df["_step"].is_monotonic_increasing


def test_default_history_has_every_column(api: ServerApi) -> None:
    df = api.run("analyst/curves/peaks").history()
    assert {"_step", "_runtime", "_timestamp", "loss", "val"} <= set(df.columns)
    assert len(df) <= 1_100


def test_rows_without_pandas(api: ServerApi) -> None:
    rows = api.run("analyst/curves/peaks").history(keys=["val"], samples=20, pandas=False)
    assert isinstance(rows, list) and rows and all(set(r) == {"_step", "val"} for r in rows)
    assert all(r["val"] == r["_step"] / 10 for r in rows)


def test_every_point_as_packed_columns_with_nan_and_inf(api: ServerApi, watch: Any) -> None:
    run = api.run("analyst/curves/peaks")
    seen = watch(api)
    df = run.history(keys=["loss"], samples=None)
    assert seen and seen[-1].endswith("/history/columns")
    assert list(df.columns) == ["_step", "loss"] and len(df) == STEPS
    assert df["_step"].dtype == np.int64 and df["loss"].dtype == np.float64
    expected = np.array([loss_at(s) for s in range(STEPS)])
    np.testing.assert_array_equal(df["loss"].to_numpy(), expected)  # NaN matches NaN here
    assert math.isnan(df["loss"][NAN_AT]) and df["loss"][INF_AT] == math.inf


def test_more_samples_than_steps_is_unsampled(api: ServerApi) -> None:
    df = api.run("analyst/curves/peaks").history(keys=["loss", "val"], samples=50_000)
    assert list(df.columns) == ["_step", "loss", "val"] and len(df) == STEPS
    assert df["val"][10] == 1.0 and math.isnan(df["val"][11])  # val was logged every 10th step


def test_every_row_without_pandas(api: ServerApi, watch: Any) -> None:
    run = api.run("analyst/curves/peaks")
    seen = watch(api)
    rows = run.history(samples=None, pandas=False)
    assert [r["_step"] for r in rows] == list(range(STEPS)) and len(seen) == 1  # big pages
    assert rows[PEAK]["loss"] == 100.0 and rows[10]["val"] == 1.0 and "val" not in rows[11]


def test_every_point_of_a_text_metric_comes_from_rows(seed: Any, api: ServerApi, watch: Any) -> None:
    seed.run(
        "curves", "text", rows=[{"phase": "warmup" if s < 3 else "train", "loss": s / 10} for s in range(6)]
    )
    run = api.run("analyst/curves/text")
    seen = watch(api)
    df = run.history(keys=["phase", "loss"], samples=None)
    assert (
        list(df.columns) == ["_step", "phase", "loss"] and list(df["phase"]) == ["warmup"] * 3 + ["train"] * 3
    )
    assert list(df["loss"]) == [s / 10 for s in range(6)]
    assert seen[0].endswith("/history/columns") and seen[1].endswith("/history")  # packed numbers only


def test_other_x_axis(api: ServerApi) -> None:
    df = api.run("analyst/curves/peaks").history(keys=["val"], x_axis="_runtime", samples=100)
    assert list(df.columns) == ["_runtime", "val"] and len(df) > 10


def test_system_metrics_stream(api: ServerApi) -> None:
    df = api.run("analyst/curves/peaks").history(stream="events")
    assert list(df["system.cpu"]) == [10.0, 20.0, 30.0]


def test_scan_history_pages_lazily_within_step_bounds(api: ServerApi, watch: Any) -> None:
    run = api.run("analyst/curves/peaks")
    seen = watch(api)
    scan = run.scan_history(page_size=1000, min_step=2_500, max_step=7_500)
    assert seen == []
    first = next(scan)
    assert first["_step"] == 2_500 and len(seen) == 1
    rest = list(scan)
    steps = [first["_step"]] + [r["_step"] for r in rest]
    assert steps == list(range(2_500, 7_500))  # max_step is exclusive, as in W&B
    assert 5 <= len(seen) <= 6  # one request per page (a last empty page is allowed)
    peak = next(r for r in rest if r["_step"] == PEAK)
    assert peak["loss"] == 100.0 and "_runtime" in peak


def test_scan_history_keys_and_non_finite_values(api: ServerApi) -> None:
    rows = list(api.run("analyst/curves/peaks").scan_history(keys=["loss"], page_size=64, max_step=300))
    assert len(rows) == 300 and all(set(r) == {"loss"} for r in rows)
    assert math.isnan(rows[NAN_AT]["loss"]) and rows[INF_AT]["loss"] == math.inf
    vals = list(api.run("analyst/curves/peaks").scan_history(keys=["val"], max_step=100))
    assert vals == [{"val": float(i)} for i in range(10)]


def test_a_million_points_load_in_well_under_a_second(seed: Any, api: ServerApi) -> None:
    # 4 metrics x 250,000 steps: a million points, at a quarter of the rows to ingest
    steps, keys = 250_000, ["a", "b", "c", "d"]
    values = np.random.default_rng(0).standard_normal((steps, len(keys)))
    seed.run("big", "million", rows=[dict(zip(keys, row, strict=True)) for row in values.tolist()])
    run = api.run("analyst/big/million")
    run.history(keys=keys, samples=None)  # warm: pandas imported, the server's pages cached
    start = time.perf_counter()
    df = run.history(keys=keys, samples=None)
    elapsed = time.perf_counter() - start
    assert df.shape == (steps, 5) and np.array_equal(df[keys].to_numpy(), values)
    assert elapsed < 0.5, f"{steps * len(keys)} points took {elapsed:.2f}s"
