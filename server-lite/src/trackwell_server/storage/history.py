"""History as chunked columns (per-metric reads) plus chunked full rows (scans).

See ``db/schema.py`` for why. Writes: one ingest batch becomes one row chunk and one
series chunk per numeric key; a small trailing chunk (a sender that posts a few rows
at a time) absorbs the next batch until it reaches ``SERIES_TARGET`` points, so a run
never ends up as thousands of tiny chunks. Reads concatenate a key's chunks with
numpy; a step range prunes chunks by their ``min_step``/``max_step``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import msgpack
import numpy as np
import sqlalchemy as sa

from trackwell_server.db.schema import row_chunks, series_chunks

#: A tail chunk with fewer points than this is extended by the next batch.
SERIES_TARGET = 4096
ROWS_TARGET = 1024
LIVE = 0

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")

Columns = dict[str, tuple[list[int], list[float]]]


def pack_rows(rows: Sequence[Mapping[str, Any]]) -> bytes:
    data: bytes = msgpack.packb(list(rows), use_bin_type=True)
    return data


def unpack_rows(data: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = msgpack.unpackb(data, raw=False, strict_map_key=False)
    return rows


# -- writing ------------------------------------------------------------------------


class ValueTooLarge(ValueError):
    """A logged value over the size limit (the caller answers 413)."""

    def __init__(self, key: str, size: int, limit: int) -> None:
        super().__init__(f"the value of {key!r} is {size:,} bytes, over the {limit:,}-byte limit")


_NUMBER = frozenset((float, int))
_NUMBER_OR_NONE = frozenset((float, int, type(None)))
_SIZED = (str, bytes, list)


def numeric_columns(rows: Sequence[Mapping[str, Any]], max_value_bytes: int) -> Columns:
    """Per key, the steps and values of its numbers (bools and the rest stay in the rows).

    Column by column, not value by value: a list comprehension and a set of types per
    key is several times cheaper in Python than a nested loop over every value. This
    is also the one pass that sees every value, so it enforces the size limit.
    """
    keys = set().union(*rows)
    keys.discard("_step")
    steps = [row["_step"] for row in rows]
    cols: Columns = {}
    for key in keys:
        col: list[Any] = [row.get(key) for row in rows]
        types = {type(v) for v in col}
        if types <= _NUMBER:
            cols[key] = (steps, col)
            continue
        if not types <= _NUMBER_OR_NONE:
            for value in col:
                if type(value) in _SIZED and _size(value) > max_value_bytes:
                    raise ValueTooLarge(key, _size(value), max_value_bytes)
        if types & _NUMBER:
            picked = [(s, v) for s, v in zip(steps, col, strict=True) if type(v) in _NUMBER]
            cols[key] = ([s for s, _ in picked], [v for _, v in picked])
    return cols


def _size(value: Any) -> int:
    if type(value) is list:
        return len(msgpack.packb(value, use_bin_type=True, default=repr))
    return len(value)


def _value_range(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)] if not np.isfinite(values).all() else values
    if not len(finite):
        return None, None
    return float(finite.min()), float(finite.max())


def _series_row(steps: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    lo, hi = _value_range(values)
    return {
        "n": len(steps),
        "min_step": int(steps[0]),
        "max_step": int(steps[-1]),
        "min_value": lo,
        "max_value": hi,
        "steps": steps.astype(_I8, copy=False).tobytes(),
        "vals": values.astype(_F8, copy=False).tobytes(),
    }


def _to_arrays(steps: list[int], values: list[float]) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        s = np.array(steps, dtype=_I8)
        v = np.array(values, dtype=_F8)
    except OverflowError:  # an int past 64 bits: keep what fits as floats
        s = np.array([int(x) for x in steps], dtype=_I8)
        v = np.array([float(x) for x in values], dtype=_F8)
    if not len(s):
        return None
    if len(s) > 1 and not bool(np.all(s[1:] >= s[:-1])):
        order = np.argsort(s, kind="stable")
        s, v = s[order], v[order]
    return s, v


def write_series(conn: sa.Connection, run_pk: int, cols: Columns) -> None:
    """Append one batch's numeric columns, extending each key's small tail chunk."""
    if not cols:
        return
    t = series_chunks.c
    tails: dict[str, Any] = {}
    for tail in conn.execute(
        sa.select(t.id, t.key, t.n, t.max_step, t.steps, t.vals).where(
            t.run_pk == run_pk, t.archive == LIVE, t.n < SERIES_TARGET
        )
    ):
        best = tails.get(tail.key)
        if best is None or tail.max_step > best.max_step:
            tails[tail.key] = tail
    inserts: list[dict[str, Any]] = []
    for key, (steps, values) in cols.items():
        arrays = _to_arrays(steps, values)
        if arrays is None:
            continue
        s, v = arrays
        last = tails.get(key)
        if last is not None and last.max_step < s[0]:
            s = np.concatenate([np.frombuffer(last.steps, _I8), s])
            v = np.concatenate([np.frombuffer(last.vals, _F8), v])
            conn.execute(sa.update(series_chunks).where(t.id == last.id).values(**_series_row(s, v)))
        else:
            inserts.append({"run_pk": run_pk, "archive": LIVE, "key": key, **_series_row(s, v)})
    if inserts:
        conn.execute(sa.insert(series_chunks), inserts)


def write_rows(
    conn: sa.Connection, run_pk: int, kind: str, rows: list[dict[str, Any]], steps: list[int]
) -> None:
    """Append full rows (``steps`` their order keys), extending a small tail chunk."""
    if not rows:
        return
    t = row_chunks.c
    tail = conn.execute(
        sa.select(t.id, t.n, t.min_step, t.max_step, t.rows)
        .where(t.run_pk == run_pk, t.kind == kind, t.archive == LIVE, t.n < ROWS_TARGET)
        .order_by(t.max_step.desc(), t.id.desc())
        .limit(1)
    ).first()
    lo, hi = min(steps), max(steps)
    if tail is not None and tail.max_step < lo:
        merged = unpack_rows(tail.rows) + rows
        conn.execute(
            sa.update(row_chunks)
            .where(t.id == tail.id)
            .values(n=len(merged), max_step=hi, rows=pack_rows(merged))
        )
        return
    conn.execute(
        sa.insert(row_chunks).values(
            run_pk=run_pk,
            kind=kind,
            archive=LIVE,
            n=len(rows),
            min_step=lo,
            max_step=hi,
            rows=pack_rows(rows),
        )
    )


# -- reading ------------------------------------------------------------------------


def series_keys(conn: sa.Connection, run_pk: int, archive: int = LIVE) -> list[str]:
    t = series_chunks.c
    query = sa.select(t.key).where(t.run_pk == run_pk, t.archive == archive).distinct()
    return sorted(conn.execute(query).scalars())


def read_series(
    conn: sa.Connection,
    run_pk: int,
    keys: Sequence[str],
    archive: int = LIVE,
    min_step: int | None = None,
    max_step: int | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each key's (steps, values), sorted by step, one value per step (the last logged)."""
    if not keys:
        return {}
    t = series_chunks.c
    query = sa.select(t.key, t.steps, t.vals).where(
        t.run_pk == run_pk, t.archive == archive, t.key.in_(list(keys))
    )
    if min_step is not None:
        query = query.where(t.max_step >= min_step)
    if max_step is not None:
        query = query.where(t.min_step <= max_step)
    parts: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for key, steps, values in conn.execute(query.order_by(t.key, t.min_step, t.id)):
        part = parts.setdefault(key, ([], []))
        part[0].append(np.frombuffer(steps, _I8))
        part[1].append(np.frombuffer(values, _F8))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in keys:
        if key not in parts:
            continue
        s_parts, v_parts = parts[key]
        s = s_parts[0] if len(s_parts) == 1 else np.concatenate(s_parts)
        v = v_parts[0] if len(v_parts) == 1 else np.concatenate(v_parts)
        if min_step is not None or max_step is not None:
            keep = np.ones(len(s), dtype=bool)
            if min_step is not None:
                keep &= s >= min_step
            if max_step is not None:
                keep &= s <= max_step
            s, v = s[keep], v[keep]
        out[key] = _ordered(s, v)
    return out


def _ordered(s: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by step and keep the last value of a repeated step (chunks of two streams may overlap)."""
    if len(s) < 2 or bool(np.all(s[1:] > s[:-1])):
        return s, v
    order = np.argsort(s, kind="stable")
    s, v = s[order], v[order]
    last = np.append(s[1:] != s[:-1], True)
    return s[last], v[last]


def align(series: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One step axis for several keys; NaN where a key has no value at a step."""
    if not series:
        return np.empty(0, _I8), {}
    items = list(series.items())
    first = items[0][1][0]
    if all(len(s) == len(first) and np.array_equal(s, first) for _, (s, _) in items):
        return first, {k: v for k, (_, v) in items}
    axis = np.unique(np.concatenate([s for _, (s, _) in items]))
    out: dict[str, np.ndarray] = {}
    for key, (s, v) in items:
        col = np.full(len(axis), np.nan)
        col[np.searchsorted(axis, s)] = v
        out[key] = col
    return axis, out


def sample_indices(values: np.ndarray, samples: int) -> np.ndarray:
    """About ``samples`` indices: first, last, and each bucket's min and max, so peaks survive."""
    n = len(values)
    if n <= samples:
        return np.arange(n)
    buckets = max(1, (samples - 2) // 2)
    size = -(-n // buckets)
    pad = buckets * size - n
    nan = np.isnan(values)
    lo = np.where(nan, np.inf, values)
    hi = np.where(nan, -np.inf, values)
    if pad:
        lo = np.concatenate([lo, np.full(pad, np.inf)])
        hi = np.concatenate([hi, np.full(pad, -np.inf)])
    offsets = np.arange(buckets) * size
    mins = lo.reshape(buckets, size).argmin(axis=1) + offsets
    maxs = hi.reshape(buckets, size).argmax(axis=1) + offsets
    picked = np.concatenate([[0, n - 1], mins, maxs])
    return np.unique(picked[picked < n])


def iter_rows(
    conn: sa.Connection,
    run_pk: int,
    kind: str = "history",
    archive: int = LIVE,
    after: int | None = None,
    max_step: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Full rows in step order, those with a step above ``after`` and up to ``max_step``."""
    t = row_chunks.c
    query = sa.select(t.rows).where(t.run_pk == run_pk, t.kind == kind, t.archive == archive)
    if after is not None:
        query = query.where(t.max_step > after)
    if max_step is not None:
        query = query.where(t.min_step <= max_step)
    order_key = "_step" if kind == "history" else "_timestamp"
    for (data,) in conn.execute(query.order_by(t.min_step, t.id)):
        for row in unpack_rows(data):
            step = row.get(order_key)
            if not isinstance(step, (int, float)):
                continue
            if after is not None and step <= after:
                continue
            if max_step is not None and step > max_step:
                return
            yield row


# -- rewind and fork ----------------------------------------------------------------


def archive_after(conn: sa.Connection, run_pk: int, step: int, archive: int) -> None:
    """Move the live history after ``step`` into archive ``archive`` (splitting straddling chunks)."""
    s, r = series_chunks.c, row_chunks.c
    conn.execute(
        sa.update(series_chunks)
        .where(s.run_pk == run_pk, s.archive == LIVE, s.min_step > step)
        .values(archive=archive)
    )
    straddling = conn.execute(
        sa.select(series_chunks).where(s.run_pk == run_pk, s.archive == LIVE, s.max_step > step)
    ).all()
    for chunk in straddling:
        steps, values = np.frombuffer(chunk.steps, _I8), np.frombuffer(chunk.vals, _F8)
        cut = int(np.searchsorted(steps, step, side="right"))
        conn.execute(
            sa.update(series_chunks).where(s.id == chunk.id).values(**_series_row(steps[:cut], values[:cut]))
        )
        conn.execute(
            sa.insert(series_chunks).values(
                run_pk=run_pk, archive=archive, key=chunk.key, **_series_row(steps[cut:], values[cut:])
            )
        )
    conn.execute(
        sa.update(row_chunks)
        .where(r.run_pk == run_pk, r.kind == "history", r.archive == LIVE, r.min_step > step)
        .values(archive=archive)
    )
    for chunk in conn.execute(
        sa.select(row_chunks).where(
            r.run_pk == run_pk, r.kind == "history", r.archive == LIVE, r.max_step > step
        )
    ).all():
        rows = unpack_rows(chunk.rows)
        keep = [row for row in rows if row.get("_step", step) <= step]
        moved = [row for row in rows if row.get("_step", step) > step]
        conn.execute(sa.update(row_chunks).where(r.id == chunk.id).values(**_rows_values(keep)))
        conn.execute(
            sa.insert(row_chunks).values(
                run_pk=run_pk, kind="history", archive=archive, **_rows_values(moved)
            )
        )


def _rows_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    steps = [row.get("_step", 0) for row in rows]
    return {"n": len(rows), "min_step": min(steps), "max_step": max(steps), "rows": pack_rows(rows)}


def copy_until(conn: sa.Connection, src_pk: int, dst_pk: int, step: int) -> None:
    """Give run ``dst_pk`` the live history of ``src_pk`` up to and including ``step`` (a fork)."""
    s, r = series_chunks.c, row_chunks.c
    whole = [s.archive, s.key, s.n, s.min_step, s.max_step, s.min_value, s.max_value, s.steps, s.vals]
    conn.execute(
        sa.insert(series_chunks).from_select(
            ["run_pk", *[c.name for c in whole]],
            sa.select(sa.literal(dst_pk), *whole).where(
                s.run_pk == src_pk, s.archive == LIVE, s.max_step <= step
            ),
        )
    )
    for chunk in conn.execute(
        sa.select(series_chunks).where(
            s.run_pk == src_pk, s.archive == LIVE, s.min_step <= step, s.max_step > step
        )
    ).all():
        steps, values = np.frombuffer(chunk.steps, _I8), np.frombuffer(chunk.vals, _F8)
        cut = int(np.searchsorted(steps, step, side="right"))
        conn.execute(
            sa.insert(series_chunks).values(
                run_pk=dst_pk, archive=LIVE, key=chunk.key, **_series_row(steps[:cut], values[:cut])
            )
        )
    rcols = [r.kind, r.archive, r.n, r.min_step, r.max_step, r.rows]
    conn.execute(
        sa.insert(row_chunks).from_select(
            ["run_pk", *[c.name for c in rcols]],
            sa.select(sa.literal(dst_pk), *rcols).where(
                r.run_pk == src_pk, r.kind == "history", r.archive == LIVE, r.max_step <= step
            ),
        )
    )
    for chunk in conn.execute(
        sa.select(row_chunks).where(
            r.run_pk == src_pk, r.kind == "history", r.archive == LIVE, r.min_step <= step, r.max_step > step
        )
    ).all():
        keep = [row for row in unpack_rows(chunk.rows) if row.get("_step", step) <= step]
        conn.execute(
            sa.insert(row_chunks).values(run_pk=dst_pk, kind="history", archive=LIVE, **_rows_values(keep))
        )
