"""The history rows of an imported run, from MLflow's metric points: pure functions.

A leaf of the package (it imports nothing of it), so reading MLflow (``source``) and
building the run log (``records``) both use it without importing each other.
"""

from __future__ import annotations

from typing import Any

#: Changing the log layout changes every stream id: an older import is then replaced.
LOG_VERSION = 1


def history_rows(history: dict[str, list[Any]], start: float) -> list[dict[str, Any]]:
    """Metric points as history rows: one row per step holding every metric logged at it.

    A history row is one per step (the server merges rows of a step, as W&B does), so
    a metric logged several times at one step keeps its latest point (by timestamp, as
    MLflow's latest value) in the row and the earlier ones, in order, as
    ``[[value, timestamp], ...]`` under the hidden key ``_mlflow_points/<key>``. A row's
    ``_timestamp`` is its earliest point's; a point logged at another time keeps its
    own under ``_mlflow_timestamp/<key>``. So every value and timestamp survives exactly.

    Points are objects with ``value``, ``timestamp`` and ``step`` (MLflow's ``Metric``
    or ``Point``), each key's in MLflow's order.
    """
    flat = [(int(p.step), key, float(p.value), int(p.timestamp)) for key, pts in history.items() for p in pts]
    flat.sort(key=_step_key_time)  # stable: same-time points keep MLflow's order
    return rows_from_points(flat, start)


def rows_from_points(points: list[tuple[int, str, float, int]], start: float) -> list[dict[str, Any]]:
    """History rows (see ``history_rows``) from (step, key, value, timestamp) points sorted by
    step, key and time; one pass, the common case (each key once a step) without lists."""
    rows: list[dict[str, Any]] = []
    n = len(points)
    i = 0
    while i < n:
        step = points[i][0]
        j = i + 1
        while j < n and points[j][0] == step:
            j += 1
        group = points[i:j]
        i = j
        keys = [p[1] for p in group]
        if len(set(keys)) == len(keys):  # each key once at this step
            ts = min(p[3] for p in group)
            row: dict[str, Any] = {"_step": step, "_timestamp": ts / 1000.0,
                                   "_runtime": max(0.0, ts / 1000.0 - start)}  # fmt: skip
            for _, key, value, t in group:
                row[key] = value
                if t != ts:
                    row[f"_mlflow_timestamp/{key}"] = t / 1000.0
            rows.append(row)
            continue
        by_key: dict[str, list[tuple[int, float]]] = {}
        for _, key, value, t in group:
            by_key.setdefault(key, []).append((t, value))
        ts = min(pts[-1][0] for pts in by_key.values())
        row = {"_step": step, "_timestamp": ts / 1000.0, "_runtime": max(0.0, ts / 1000.0 - start)}
        for key, pts in by_key.items():
            t, value = pts[-1]
            row[key] = value
            if t != ts:
                row[f"_mlflow_timestamp/{key}"] = t / 1000.0
            if len(pts) > 1:
                row[f"_mlflow_points/{key}"] = [[v, pt / 1000.0] for pt, v in pts[:-1]]
        rows.append(row)
    return rows


def _step_key_time(p: tuple[int, str, float, int]) -> tuple[int, str, int]:
    return p[0], p[1], p[3]
