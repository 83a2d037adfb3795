"""History reads: sampled rows, paged scans, columns for DataFrames, system metrics."""

from __future__ import annotations

from typing import Annotated, Any

import msgpack
import numpy as np
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from trackwell_server.db.engine import read
from trackwell_server.deps import Caller, Entity, Project, RunId, Srv
from trackwell_server.errors import ApiError
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import history
from trackwell_server.storage import runs as store

router = APIRouter(tags=["history"])

MSGPACK = "application/x-msgpack"
_MAX = 2**62
Step = Annotated[int | None, Query(ge=-_MAX, le=_MAX)]
Keys = Annotated[str | None, Query(max_length=200_000, description="comma-separated keys; default all")]
Samples = Annotated[int | None, Query(ge=1, le=100_000)]
Rewind = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


class Rows(BaseModel):
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _keys(keys: str | None) -> list[str] | None:
    """The ``keys`` parameter as a list; ``_step`` is in every row anyway, so it is dropped
    (asked for alone, it means every key)."""
    if keys is None:
        return None
    out = [k for k in (part.strip() for part in keys.split(",")) if k and k != "_step"]
    return list(dict.fromkeys(out)) or None


def _wants_msgpack(request: Request) -> bool:
    return MSGPACK in request.headers.get("accept", "")


def _encode(request: Request, content: Any) -> Response:
    if _wants_msgpack(request):
        return Response(msgpack.packb(content, use_bin_type=True, default=repr), media_type=MSGPACK)
    return JSONResponse(content)


def _evenly(count: int, samples: int) -> list[int]:
    """Up to ``samples`` indices into ``count`` rows, evenly spaced, the first and last included."""
    return np.unique(np.linspace(0, count - 1, min(samples, count)).astype(np.int64)).tolist()


def _archive(conn: sa.Connection, run_pk: int, rewind: int | None) -> int:
    if rewind is None:
        return history.LIVE
    if not store.has_rewind(conn, run_pk, rewind):
        raise ApiError(404, f"rewind {rewind} not found")
    return rewind


@router.get("/runs/{entity}/{project}/{run_id}/history", response_model=Rows)
def get_history(
    entity: Entity,
    project: Project,
    run_id: RunId,
    request: Request,
    who: Caller,
    srv: Srv,
    keys: Keys = None,
    samples: Samples = None,
    x_axis: Annotated[str, Query(max_length=1000)] = "_step",
    min_step: Step = None,
    max_step: Step = None,
    rewind: Rewind = None,
    page_size: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    """Sampled rows (``samples``: each bucket's min and max survive), or a paged scan of full rows."""
    wanted = _keys(keys)
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        archive = _archive(conn, run.pk, rewind)
        if samples is not None:
            logged = list(run.history_keys or ())
            rows = _sampled(conn, run.pk, archive, wanted, samples, x_axis, min_step, max_step, logged)
            return _encode(request, {"rows": rows, "next_cursor": None})
        after = None
        if cursor:
            try:
                after = int(cursor)
            except ValueError:
                raise ApiError(422, f"invalid cursor {cursor!r}") from None
        if min_step is not None and (after is None or after < min_step - 1):
            after = min_step - 1
        rows, next_cursor = _scan(conn, run.pk, archive, wanted, after, max_step, page_size)
    return _encode(request, {"rows": rows, "next_cursor": next_cursor})


def _scan(
    conn: sa.Connection, run_pk: int, archive: int, wanted: list[str] | None, after: int | None,
    max_step: int | None, page_size: int,
) -> tuple[list[dict[str, Any]], str | None]:  # fmt: skip
    rows: list[dict[str, Any]] = []
    for row in history.iter_rows(conn, run_pk, history.HISTORY, archive, after, max_step, wanted):
        rows.append(row)
        if len(rows) > page_size:
            break
    if len(rows) > page_size:
        rows.pop()
        return rows, str(rows[-1]["_step"])
    return rows, None


def _sampled(
    conn: sa.Connection, run_pk: int, archive: int, wanted: list[str] | None, samples: int, x_axis: str,
    min_step: int | None, max_step: int | None, logged: list[str],
) -> list[dict[str, Any]]:  # fmt: skip
    """Rows at the steps sampled per numeric key, plus the non-numeric keys' own values.

    Without ``wanted`` every key the run logged (``logged``) is read, not only the
    numeric series: a key that holds only media, tables or strings has no series, and
    W&B's ``run.history()`` returns those values too.
    """
    numeric_keys = history.series_keys(conn, run_pk, archive)
    numeric = set(numeric_keys)
    if wanted is not None:
        keys = wanted
    else:
        keys = [k for k in numeric_keys if k != x_axis]
        keys += [k for k in logged if k not in numeric and k != x_axis and k != "_step"]
    load = [k for k in keys if k in numeric]
    if x_axis != "_step" and x_axis in numeric and x_axis not in load:
        load.append(x_axis)
    series = history.read_series(conn, run_pk, load, archive, min_step, max_step)
    chosen: list[np.ndarray] = []
    for key, (steps, values) in series.items():
        if key != x_axis:
            chosen.append(steps[history.sample_indices(values, samples)])
    others = [k for k in keys if k not in numeric]
    if not chosen and not others:
        return []
    by_step: dict[int, dict[str, Any]] = {}
    if chosen:
        for step in np.unique(np.concatenate(chosen)).tolist():
            by_step[step] = {"_step": step}
        picked = np.fromiter(by_step, dtype=np.int64, count=len(by_step))
        for key, (steps, values) in series.items():
            pos = np.searchsorted(steps, picked)
            pos_ok = pos < len(steps)
            hit = np.zeros(len(picked), dtype=bool)
            hit[pos_ok] = steps[pos[pos_ok]] == picked[pos_ok]
            for step, value in zip(picked[hit].tolist(), values[pos[hit]].tolist(), strict=True):
                by_step[step][key] = value
    if others:
        _fill_others(conn, run_pk, archive, others, by_step, samples, min_step, max_step)
    return [by_step[s] for s in sorted(by_step)]


def _fill_others(
    conn: sa.Connection, run_pk: int, archive: int, others: list[str], by_step: dict[int, dict[str, Any]],
    samples: int, min_step: int | None, max_step: int | None,
) -> None:  # fmt: skip
    """Non-numeric keys (strings, media refs) come from the full rows: at the steps the
    numeric keys chose, and from up to ``samples`` of their own rows picked evenly, so a
    key logged at steps no numeric sample lands on (an image every 100 steps) still
    shows up."""
    after = None if min_step is None else min_step - 1
    found: list[dict[str, Any]] = []
    for row in history.iter_rows(conn, run_pk, history.HISTORY, archive, after, max_step, others):
        step = row["_step"]
        if step in by_step:
            by_step[step].update(row)
        else:
            found.append(row)
    if found:
        for i in _evenly(len(found), samples):
            by_step[found[i]["_step"]] = found[i]


@router.get("/runs/{entity}/{project}/{run_id}/history/columns")
def get_columns(
    entity: Entity,
    project: Project,
    run_id: RunId,
    request: Request,
    who: Caller,
    srv: Srv,
    keys: Keys = None,
    min_step: Step = None,
    max_step: Step = None,
    rewind: Rewind = None,
) -> Response:
    """Numeric history as columns on one step axis (NaN where a key has no value).

    With ``Accept: application/x-msgpack`` each column is raw little-endian bytes
    (``_step`` int64, the rest float64): ``np.frombuffer`` turns them into a
    DataFrame with no per-value work on either side.
    """
    wanted = _keys(keys)
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        archive = _archive(conn, run.pk, rewind)
        keys_ = wanted if wanted is not None else history.series_keys(conn, run.pk, archive)
        series = history.read_series(conn, run.pk, keys_, archive, min_step, max_step)
    steps, cols = history.align(series)
    if _wants_msgpack(request):
        body: dict[str, Any] = {"_step": steps.astype("<i8").tobytes()}
        body.update((k, v.astype("<f8").tobytes()) for k, v in cols.items())
        return Response(msgpack.packb(body, use_bin_type=True), media_type=MSGPACK)
    out: dict[str, Any] = {"_step": steps.tolist()}
    out.update((k, v.tolist()) for k, v in cols.items())
    return JSONResponse(out)


@router.get("/runs/{entity}/{project}/{run_id}/system", response_model=Rows)
def get_system(
    entity: Entity,
    project: Project,
    run_id: RunId,
    request: Request,
    who: Caller,
    srv: Srv,
    samples: Samples = None,
) -> Any:
    """System-metrics samples (their own time axis: ``_timestamp``, ``_runtime``)."""
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        rows = list(history.iter_rows(conn, run.pk, history.SYSTEM))
    if samples is not None and len(rows) > samples:
        rows = [rows[i] for i in _evenly(len(rows), samples)]
    return _encode(request, {"rows": rows, "next_cursor": None})
