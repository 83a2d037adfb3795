"""History as chunked columns (per-metric reads) plus chunked residual rows (scans).

See ``db/schema.py`` for why. One ingest batch becomes, per numeric key, one series
chunk (packed steps and float64 values), and one row chunk that holds only what the
series cannot: the non-numeric values (strings, bools, None, media refs) of its rows.
Numbers are not stored twice: a scan rebuilds full rows from both, window by window
(a row chunk's step range is its window). That halves the bytes an ingest writes and
spares it packing every row again, which is what lets a batch of 50,000 points go in
at a million points a second.

A small trailing chunk (a sender that posts a few rows at a time) absorbs the next
batch until it reaches its target size, so a run never ends up as thousands of tiny
chunks. Reads concatenate a key's chunks with numpy; a step range prunes chunks by
their ``min_step``/``max_step``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

import msgpack
import numpy as np
import sqlalchemy as sa

from trackwell.records import Kind
from trackwell_server.db.schema import row_chunks, series_chunks
from trackwell_server.storage.cache import series_cache

#: A tail chunk with fewer points than this is extended by the next batch.
SERIES_TARGET = 4096
ROWS_TARGET = 1024
LIVE = 0
#: The two streams of stored rows (``row_chunks.kind``): history rows, named as the SDK's
#: record kind, and system-metric samples (``Kind.STATS`` records), stored whole.
HISTORY = Kind.HISTORY
SYSTEM = "system"

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")

#: key -> (steps, values, whether every value is an int)
Columns = dict[str, tuple[list[int], list[Any], bool]]
_MISSING: Any = object()


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
_SIZED = (str, bytes, list)


def split_rows(
    rows: Sequence[Mapping[str, Any]], max_value_bytes: int, keys: set[str] | None = None
) -> tuple[Columns, list[dict[str, Any]], bool]:
    """A batch's numbers as columns, and its residual rows (``_step`` + non-numeric values).

    The flag says a value is a plain dict: the rows must be flattened first (and nothing
    else was computed), which this pass notices for free. Dicts with a ``_type`` (media,
    table and chart records) are values like strings, kept whole as W&B keeps them.

    Column by column, not value by value: a list comprehension and a set of types per
    key is several times cheaper in Python than a nested loop over every value. This
    is also the one pass that sees every value, so it enforces the size limit. A row
    with no value at all keeps an empty residual row, so the scan still yields it.
    """
    keys = set().union(*rows) if keys is None else set(keys)  # ``keys``: the caller has them
    keys.discard("_step")
    steps = list(map(itemgetter("_step"), rows))
    cols: Columns = {}
    residual: dict[int, dict[str, Any]] = {}
    for key in keys:
        try:  # map + itemgetter runs in C: about twice as fast as a comprehension of .get()
            col = list(map(itemgetter(key), rows))
        except KeyError:
            col = [row.get(key, _MISSING) for row in rows]
        types = set(map(type, col))
        missing = object in types  # _MISSING: the key is absent from some rows
        types.discard(object)
        if dict in types and any(type(v) is dict and "_type" not in v for v in col):
            return {}, [], True  # typed records (media, tables) stay whole, in the residual rows
        if types <= _NUMBER:
            if not missing:
                cols[key] = (steps, col, types == {int})
                continue
            picked = [(s, v) for s, v in zip(steps, col, strict=True) if v is not _MISSING]
            cols[key] = ([s for s, _ in picked], [v for _, v in picked], types == {int})
            continue
        numbers: list[tuple[int, Any]] = []
        for i, value in enumerate(col):
            t = type(value)
            if t is float or t is int:
                numbers.append((steps[i], value))
            elif value is not _MISSING:
                if t in _SIZED and value_size(value) > max_value_bytes:
                    raise ValueTooLarge(key, value_size(value), max_value_bytes)
                residual.setdefault(i, {"_step": steps[i]})[key] = value
        if numbers:
            cols[key] = (
                [s for s, _ in numbers],
                [v for _, v in numbers],
                all(type(v) is int for _, v in numbers),
            )
    if 1 in set(map(len, rows)):  # rows with nothing but _step: kept as empty rows
        for i, row in enumerate(rows):
            if len(row) == 1:
                residual[i] = {"_step": steps[i]}
    return cols, [residual[i] for i in sorted(residual)], False


def value_size(value: Any) -> int:
    """A value's size against the value limit: a string's or bytes' length, a list's
    msgpack encoding (``trackwell.limits.MAX_VALUE_BYTES``; the SDK sizes them alike)."""
    if type(value) is list:
        return len(msgpack.packb(value, use_bin_type=True, default=repr))
    return len(value)


def _value_range(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)] if not np.isfinite(values).all() else values
    if not len(finite):
        return None, None
    return float(finite.min()), float(finite.max())


def _steps_of(chunk: Any) -> np.ndarray:
    """A chunk's steps; an empty blob means every step from min_step to max_step."""
    if chunk.steps:
        return np.frombuffer(chunk.steps, _I8)
    return np.arange(chunk.min_step, chunk.max_step + 1, dtype=_I8)


def _series_row(steps: np.ndarray, values: np.ndarray, ints: bool) -> dict[str, Any]:
    lo, hi = _value_range(values)
    # A key logged at every step (the usual case) needs no step array at all: half the
    # bytes to write and to read back.
    contiguous = int(steps[-1]) - int(steps[0]) == len(steps) - 1 and bool(np.all(np.diff(steps) == 1))
    return {
        "n": len(steps),
        "min_step": int(steps[0]),
        "max_step": int(steps[-1]),
        "min_value": lo,
        "max_value": hi,
        "ints": ints,
        "rev": random.getrandbits(62),  # a new one on every write: the cache's key
        "steps": b"" if contiguous else steps.astype(_I8, copy=False).tobytes(),
        "vals": values.astype(_F8, copy=False).tobytes(),
    }


def _to_arrays(
    steps: list[int], values: list[Any], converted: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """numpy arrays of one column; ``converted`` remembers step lists shared by several keys."""
    try:
        s = converted.get(id(steps))
        if s is None:
            s = converted[id(steps)] = np.array(steps, dtype=_I8)
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
        sa.select(t.id, t.key, t.n, t.min_step, t.max_step, t.ints, t.steps, t.vals).where(
            t.run_pk == run_pk, t.archive == LIVE, t.n < SERIES_TARGET
        )
    ):
        best = tails.get(tail.key)
        if best is None or tail.max_step > best.max_step:
            tails[tail.key] = tail
    inserts: list[dict[str, Any]] = []
    converted: dict[int, np.ndarray] = {}
    for key, (steps, values, ints) in cols.items():
        arrays = _to_arrays(steps, values, converted)
        if arrays is None:
            continue
        s, v = arrays
        last = tails.get(key)
        if last is not None and last.max_step < s[0]:
            s = np.concatenate([_steps_of(last), s])
            v = np.concatenate([np.frombuffer(last.vals, _F8), v])
            row = _series_row(s, v, ints and bool(last.ints))
            conn.execute(sa.update(series_chunks).where(t.id == last.id).values(**row))
        else:
            inserts.append({"run_pk": run_pk, "archive": LIVE, "key": key, **_series_row(s, v, ints)})
    if inserts:
        conn.execute(sa.insert(series_chunks), inserts)


def write_rows(
    conn: sa.Connection, run_pk: int, kind: str, rows: list[dict[str, Any]], n: int, lo: int, hi: int
) -> None:
    """Append the row chunk of one batch of ``n`` rows covering steps ``lo..hi``.

    For history the chunk holds the residual rows and its range is the window a scan
    rebuilds from the series; for system metrics (few, and never read per key) it
    holds the whole samples. A small tail chunk is extended instead.
    """
    t = row_chunks.c
    tail = conn.execute(
        sa.select(t.id, t.n, t.max_step, t.rows)
        .where(t.run_pk == run_pk, t.kind == kind, t.archive == LIVE, t.n < ROWS_TARGET)
        .order_by(t.max_step.desc(), t.id.desc())
        .limit(1)
    ).first()
    if tail is not None and tail.max_step < lo:
        merged = unpack_rows(tail.rows) + rows if rows else None
        values: dict[str, Any] = {"n": tail.n + n, "max_step": hi}
        if merged is not None:
            values["rows"] = pack_rows(merged)
        conn.execute(sa.update(row_chunks).where(t.id == tail.id).values(**values))
        return
    conn.execute(
        sa.insert(row_chunks).values(
            run_pk=run_pk, kind=kind, archive=LIVE, n=n, min_step=lo, max_step=hi, rows=pack_rows(rows)
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
    """Each key's (steps, values), sorted by step, one value per step (the last logged).

    The arrays may be shared with the cache: read-only. A key's chunks are listed
    first (ids and revs, no blobs); only a key the cache does not hold is fetched.
    """
    if not keys:
        return {}
    t = series_chunks.c
    listing = conn.execute(
        sa.select(t.key, t.id, t.rev)
        .where(t.run_pk == run_pk, t.archive == archive, t.key.in_(list(keys)))
        .order_by(t.key, t.min_step, t.id)
    ).all()
    fingerprints: dict[str, list[tuple[int, int]]] = {}
    for key, chunk_id, rev in listing:
        fingerprints.setdefault(key, []).append((chunk_id, rev))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    missing: list[str] = []
    for key, chunks in fingerprints.items():
        hit = series_cache.get((run_pk, archive, key, tuple(chunks)))
        if hit is None:
            missing.append(key)
        else:
            out[key] = hit
    if missing:
        parts: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        query = sa.select(t.key, t.min_step, t.max_step, t.steps, t.vals).where(
            t.run_pk == run_pk, t.archive == archive, t.key.in_(missing)
        )
        for chunk in conn.execute(query.order_by(t.key, t.min_step, t.id)):
            part = parts.setdefault(chunk.key, ([], []))
            part[0].append(_steps_of(chunk))
            part[1].append(np.frombuffer(chunk.vals, _F8))
        for key, (s_parts, v_parts) in parts.items():
            s = s_parts[0] if len(s_parts) == 1 else np.concatenate(s_parts)
            v = v_parts[0] if len(v_parts) == 1 else np.concatenate(v_parts)
            out[key] = _ordered(s, v)
            series_cache.put((run_pk, archive, key, tuple(fingerprints[key])), out[key])
    if min_step is not None or max_step is not None:
        for key, (s, v) in out.items():
            start = 0 if min_step is None else int(np.searchsorted(s, min_step, side="left"))
            stop = len(s) if max_step is None else int(np.searchsorted(s, max_step, side="right"))
            out[key] = (s[start:stop], v[start:stop])
    return {key: out[key] for key in keys if key in out}


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
    """About ``samples`` indices: first, last, and each bucket's min and max, so peaks survive.

    Buckets are equal slices viewed as a 2-D array (no copy when there is no NaN); the
    remainder past the last whole bucket is one more bucket.
    """
    n = len(values)
    if n <= samples:
        return np.arange(n)
    buckets = max(1, (samples - 2) // 2)
    size = n // buckets
    whole = buckets * size
    nan = np.isnan(values)
    if nan.any():  # NaN would win every argmin/argmax: rank it last in both
        lo, hi = np.where(nan, np.inf, values), np.where(nan, -np.inf, values)
    else:
        lo = hi = values
    offsets = np.arange(buckets) * size
    picked = [
        np.array([0, n - 1]),
        lo[:whole].reshape(buckets, size).argmin(axis=1) + offsets,
        hi[:whole].reshape(buckets, size).argmax(axis=1) + offsets,
    ]
    if whole < n:
        picked.append(np.array([whole + int(lo[whole:].argmin()), whole + int(hi[whole:].argmax())]))
    return np.unique(np.concatenate(picked))


def iter_rows(
    conn: sa.Connection,
    run_pk: int,
    kind: str = HISTORY,
    archive: int = LIVE,
    after: int | None = None,
    max_step: int | None = None,
    keys: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows in step order with a step above ``after`` and up to ``max_step``.

    History rows are rebuilt window by window from the series and the residual rows;
    with ``keys`` only those keys are read, and rows holding none of them are skipped.
    System samples are stored whole (their order key is ``_timestamp``).
    """
    t = row_chunks.c
    query = sa.select(t.rows, t.min_step, t.max_step).where(
        t.run_pk == run_pk, t.kind == kind, t.archive == archive
    )
    if after is not None:
        query = query.where(t.max_step > after)
    if max_step is not None:
        query = query.where(t.min_step <= max_step)
    windows = conn.execute(query.order_by(t.min_step, t.id)).all()
    if kind != HISTORY:
        for window in windows:
            yield from unpack_rows(window.rows)
        return
    wanted = None if keys is None else set(keys)
    for group in _overlapping(windows):
        lo = group[0].min_step if after is None else max(group[0].min_step, after + 1)
        top = max(w.max_step for w in group)
        hi = top if max_step is None else min(top, max_step)
        rows: dict[int, dict[str, Any]] = {}
        for window in group:
            for row in unpack_rows(window.rows):
                step = row.get("_step")
                if type(step) is int and lo <= step <= hi:
                    if wanted is not None:
                        row = {k: v for k, v in row.items() if k in wanted or k == "_step"}
                    merged = rows.get(step)
                    if merged is None:
                        rows[step] = row
                    else:
                        merged.update(row)
        _fill_from_series(conn, run_pk, archive, lo, hi, keys, rows)
        for step in sorted(rows):
            row = rows[step]
            if wanted is None or len(row) > 1:
                yield row


def _overlapping(windows: Sequence[Any]) -> Iterator[list[Any]]:
    """Windows (sorted by ``min_step``) grouped where their step ranges overlap.

    One writer's windows never overlap, but in shared mode every process has its own
    stream, so two windows can cover the same steps: a group is read as one window,
    and a step that several processes wrote comes back as one merged row (as in W&B).
    """
    group: list[Any] = []
    top = 0
    for window in windows:
        if group and window.min_step > top:
            yield group
            group = []
        if not group:
            top = window.max_step
        group.append(window)
        top = max(top, window.max_step)
    if group:
        yield group


def _fill_from_series(
    conn: sa.Connection, run_pk: int, archive: int, lo: int, hi: int, keys: Sequence[str] | None,
    rows: dict[int, dict[str, Any]],
) -> None:  # fmt: skip
    """Put each key's numbers at steps ``lo..hi`` into ``rows`` (creating rows as needed)."""
    t = series_chunks.c
    query = sa.select(t.key, t.ints, t.min_step, t.max_step, t.steps, t.vals).where(
        t.run_pk == run_pk, t.archive == archive, t.max_step >= lo, t.min_step <= hi
    )
    if keys is not None:
        query = query.where(t.key.in_(list(keys)))
    for chunk in conn.execute(query.order_by(t.min_step, t.id)):
        key = chunk.key
        steps = _steps_of(chunk)
        start, stop = np.searchsorted(steps, lo, side="left"), np.searchsorted(steps, hi, side="right")
        values = np.frombuffer(chunk.vals, _F8)[start:stop]
        listed = values.astype(np.int64).tolist() if chunk.ints else values.tolist()
        for step, value in zip(steps[start:stop].tolist(), listed, strict=True):
            row = rows.get(step)
            if row is None:
                row = rows[step] = {"_step": step}
            row[key] = value


# -- rewind and fork ----------------------------------------------------------------


def _split_series(chunk: Any, step: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A series chunk cut after ``step``: the column values of both halves."""
    steps, values = _steps_of(chunk), np.frombuffer(chunk.vals, _F8)
    cut = int(np.searchsorted(steps, step, side="right"))
    return _series_row(steps[:cut], values[:cut], chunk.ints), _series_row(
        steps[cut:], values[cut:], chunk.ints
    )


def _split_rows(chunk: Any, step: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row chunk (window) cut after ``step``: both halves, each keeping its part of the range."""
    rows = unpack_rows(chunk.rows)
    keep = [row for row in rows if row.get("_step", step) <= step]
    moved = [row for row in rows if row.get("_step", step) > step]
    # the halves are not extended any more (n at the target): their sizes are unknown
    first = {"n": ROWS_TARGET, "min_step": chunk.min_step, "max_step": step, "rows": pack_rows(keep)}
    second = {"n": ROWS_TARGET, "min_step": step + 1, "max_step": chunk.max_step, "rows": pack_rows(moved)}
    return first, second


def archive_after(conn: sa.Connection, run_pk: int, step: int, archive: int) -> None:
    """Move the live history after ``step`` into archive ``archive`` (splitting straddling chunks)."""
    s, r = series_chunks.c, row_chunks.c
    conn.execute(
        sa.update(series_chunks)
        .where(s.run_pk == run_pk, s.archive == LIVE, s.min_step > step)
        .values(archive=archive)
    )
    for chunk in conn.execute(
        sa.select(series_chunks).where(s.run_pk == run_pk, s.archive == LIVE, s.max_step > step)
    ).all():
        keep, moved = _split_series(chunk, step)
        conn.execute(sa.update(series_chunks).where(s.id == chunk.id).values(**keep))
        conn.execute(sa.insert(series_chunks).values(run_pk=run_pk, archive=archive, key=chunk.key, **moved))
    live_history = (r.run_pk == run_pk) & (r.kind == HISTORY) & (r.archive == LIVE)
    conn.execute(sa.update(row_chunks).where(live_history, r.min_step > step).values(archive=archive))
    for chunk in conn.execute(sa.select(row_chunks).where(live_history, r.max_step > step)).all():
        keep_rows, moved_rows = _split_rows(chunk, step)
        conn.execute(sa.update(row_chunks).where(r.id == chunk.id).values(**keep_rows))
        conn.execute(
            sa.insert(row_chunks).values(run_pk=run_pk, kind=HISTORY, archive=archive, **moved_rows)
        )


def copy_until(conn: sa.Connection, src_pk: int, dst_pk: int, step: int) -> None:
    """Give run ``dst_pk`` the live history of ``src_pk`` up to and including ``step`` (a fork)."""
    s, r = series_chunks.c, row_chunks.c
    whole = [
        s.archive,
        s.key,
        s.n,
        s.min_step,
        s.max_step,
        s.min_value,
        s.max_value,
        s.ints,
        s.rev,
        s.steps,
        s.vals,
    ]
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
        keep, _ = _split_series(chunk, step)
        conn.execute(sa.insert(series_chunks).values(run_pk=dst_pk, archive=LIVE, key=chunk.key, **keep))
    rcols = [r.kind, r.archive, r.n, r.min_step, r.max_step, r.rows]
    src_history = (r.run_pk == src_pk) & (r.kind == HISTORY) & (r.archive == LIVE)
    conn.execute(
        sa.insert(row_chunks).from_select(
            ["run_pk", *[c.name for c in rcols]],
            sa.select(sa.literal(dst_pk), *rcols).where(src_history, r.max_step <= step),
        )
    )
    for chunk in conn.execute(
        sa.select(row_chunks).where(src_history, r.min_step <= step, r.max_step > step)
    ).all():
        keep_rows, _ = _split_rows(chunk, step)
        conn.execute(sa.insert(row_chunks).values(run_pk=dst_pk, kind=HISTORY, archive=LIVE, **keep_rows))
