"""The bucketed history the charts draw: long series cut down, extremes and the last value kept."""

from __future__ import annotations

import numpy as np

from trackwell_server.dashboard.routes import bucket


def test_short_series_come_back_whole() -> None:
    out = bucket(np.arange(5.0), np.array([1.0, np.nan, 3.0, np.inf, 5.0]), 10)
    assert out == {"x": [0.0, 2.0, 4.0], "y": [1.0, 3.0, 5.0], "min": None, "max": None, "count": 3}


def test_long_series_keep_spikes_and_the_last_value() -> None:
    n = 100_000
    ys = np.sin(np.arange(n) / 1000.0)
    ys[31_337] = 50.0
    ys[77_777] = -50.0
    out = bucket(np.arange(n, dtype=np.float64), ys, 1000)
    assert len(out["y"]) <= 1000
    assert max(out["max"]) == 50.0 and min(out["min"]) == -50.0
    assert out["y"][-1] == ys[-1] and out["x"][-1] == n - 1
    assert out["x"][0] == 0 and out["count"] == n
    assert all(lo <= y <= hi for lo, y, hi in zip(out["min"], out["y"], out["max"], strict=True))
