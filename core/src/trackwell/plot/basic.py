"""The basic charts of ``trackwell.plot``: line, scatter, bar, histogram, line_series.

Signatures, spec ids, field names and table columns are W&B's, so a chart logged by
a W&B script draws the same and reads back the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from trackwell.plot.custom_chart import CustomChart, plot_table
from trackwell.table import Table


def _has(table: Table, *columns: str | None) -> None:
    if not isinstance(table, Table):
        raise TypeError(f"expected a trackwell.Table, got {type(table).__name__}")
    for col in columns:
        if col is not None and col not in table.columns:
            raise ValueError(f"column {col!r} is not in the table; its columns: {table.columns}")


def line(
    table: Table, x: str, y: str, stroke: str | None = None, title: str = "", split_table: bool = False
) -> CustomChart:
    """A line through the table's (``x``, ``y``) points; one line per value of ``stroke``."""
    _has(table, x, y, stroke)
    return plot_table(
        "wandb/line/v0", table, {"x": x, "y": y, "stroke": stroke}, {"title": title}, split_table=split_table
    )


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> CustomChart:
    """The table's (``x``, ``y``) points."""
    _has(table, x, y)
    return plot_table("wandb/scatter/v0", table, {"x": x, "y": y}, {"title": title}, split_table=split_table)


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> CustomChart:
    """One bar per row: ``label`` names it, ``value`` is its length."""
    _has(table, label, value)
    return plot_table(
        "wandb/bar/v0", table, {"label": label, "value": value}, {"title": title}, split_table=split_table
    )


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> CustomChart:
    """A histogram of the ``value`` column (binned by the chart)."""
    _has(table, value)
    return plot_table(
        "wandb/histogram/v0", table, {"value": value}, {"title": title}, split_table=split_table
    )


def line_series(
    xs: Iterable[Any] | Iterable[Iterable[Any]],
    ys: Iterable[Iterable[Any]],
    keys: Iterable[str] | None = None,
    title: str = "",
    xname: str = "x",
    split_table: bool = False,
) -> CustomChart:
    """Several lines on shared axes: ``ys[i]`` against ``xs`` (one list for all lines) or
    ``xs[i]``; ``keys[i]`` names line i (default ``key_0``, ``key_1``, ...).

    The table has W&B's columns ``step``, ``lineKey``, ``lineVal``, one row per point.
    """
    y_lists = [_values(y, f"ys[{i}]") for i, y in enumerate(ys)]
    x_in = _values(xs, "xs")
    if x_in and all(_is_seq(x) for x in x_in):
        x_lists = [_values(x, f"xs[{i}]") for i, x in enumerate(x_in)]
        if len(x_lists) != len(y_lists):
            raise ValueError(f"line_series: {len(x_lists)} lists of xs for {len(y_lists)} lists of ys")
    else:
        x_lists = [x_in] * len(y_lists)
    names = [f"key_{i}" for i in range(len(y_lists))] if keys is None else [str(k) for k in keys]
    if len(names) != len(y_lists):
        raise ValueError(f"line_series: {len(names)} keys for {len(y_lists)} lines")
    data: list[list[Any]] = []
    for i, (x, y, key) in enumerate(zip(x_lists, y_lists, names, strict=False)):
        if len(x) != len(y):
            raise ValueError(f"line_series: line {i} ({key!r}) has {len(y)} ys for {len(x)} xs")
        data.extend([xv, key, yv] for xv, yv in zip(x, y, strict=False))
    table = Table(columns=["step", "lineKey", "lineVal"], data=data)
    return plot_table(
        "wandb/lineseries/v0",
        table,
        {"step": "step", "lineKey": "lineKey", "lineVal": "lineVal"},
        {"title": title, "xname": xname},
        split_table=split_table,
    )


def _is_seq(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str)) or hasattr(value, "tolist")


def _values(value: Any, what: str) -> list[Any]:
    if hasattr(value, "tolist"):  # numpy arrays, torch tensors
        value = value.tolist()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"line_series: {what} must be a list of values, got {type(value).__name__}")
    return list(value)
