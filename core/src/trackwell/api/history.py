"""Selecting, sampling and shaping history rows for ``Run.history`` and ``Run.scan_history``.

pandas is imported here only inside ``to_frame``: ``import trackwell`` must stay light
for training scripts, and only a caller who asked for a DataFrame pays for pandas.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from trackwell.errors import UsageError


def select(
    rows: Sequence[dict[str, Any]], keys: Sequence[str] | None, x_axis: str | None
) -> list[dict[str, Any]]:
    """Copies of ``rows``; with ``keys``, only rows holding all of them, cut to x_axis + keys."""
    if not keys:
        return [dict(row) for row in rows]
    names = columns(keys, x_axis)
    return [{k: row[k] for k in names} for row in rows if all(k in row for k in names)]


def columns(keys: Sequence[str], x_axis: str | None) -> list[str]:
    """The column names a ``keys`` query returns: ``x_axis`` first, then each key once."""
    names = [x_axis] if x_axis else []
    for key in keys:
        if key not in names:
            names.append(key)
    return names


def sample(rows: Sequence[dict[str, Any]], samples: int | None) -> list[dict[str, Any]]:
    """At most ``samples`` rows spread evenly over ``rows``, always keeping the first and last
    (every row with ``None``, as the server-backed API reads ``samples=None``).

    Even spacing (not W&B's random buckets) keeps a chart's shape and makes results
    repeatable, which tests and users comparing two calls both rely on.
    """
    n = len(rows)
    if samples is None or n <= samples:
        return list(rows)
    if samples == 1:  # one point can't be both ends: the latest says more
        return [rows[-1]]
    picked = sorted({round(i * (n - 1) / (samples - 1)) for i in range(samples)})
    return [rows[i] for i in picked]


def check_samples(samples: Any) -> int | None:
    if samples is None:
        return None
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise UsageError(
            f"history(samples=...) must be a positive integer or None (every row), got {samples!r}"
        )
    return samples


def check_page_size(page_size: Any) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise UsageError(f"scan_history(page_size=...) must be a positive integer, got {page_size!r}")
    return page_size


def check_keys(keys: Any, where: str) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return [keys]  # a lone string is a common slip; W&B takes a list
    names: list[str] = list(keys)
    if not all(isinstance(k, str) for k in names):
        raise UsageError(f"{where}(keys=...) must be a list of metric names")
    return names


def scan(
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str] | None,
    min_step: int | None,
    max_step: int | None,
) -> Iterator[dict[str, Any]]:
    """Every row with ``min_step <= _step < max_step`` (W&B's bounds), copied."""
    for row in rows:
        step = row.get("_step")
        if min_step is not None and (step is None or step < min_step):
            continue
        if max_step is not None and (step is None or step >= max_step):
            continue
        if keys:
            if all(k in row for k in keys):
                yield {k: row[k] for k in keys}
        else:
            yield dict(row)


def to_frame(rows: list[dict[str, Any]], keys: Sequence[str] | None, x_axis: str | None) -> Any:
    """A pandas DataFrame of ``rows``; missing values become NaN, as in W&B."""
    pd = import_pandas()
    if keys:
        return pd.DataFrame(rows, columns=columns(keys, x_axis))
    return pd.DataFrame(rows)


def import_pandas() -> Any:
    """The pandas module, or an ``ImportError`` that says how to get it or do without."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "run.history(pandas=True) needs pandas, which is not installed: "
            "run `pip install pandas` (or `pip install 'trackwell[pandas]'`), "
            "or call run.history(pandas=False) for a list of dicts"
        ) from exc
    return pd
