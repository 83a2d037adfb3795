"""Read-only endpoints behind the dashboard's media, table and sweep views.

* ``GET /runs/{e}/{p}/{id}/media/{path}``: a run file with the content type its
  extension names (the files route answers ``application/octet-stream``, which an
  ``<audio>`` may sniff but an ``<iframe>`` downloads). Every answer carries a CSP with
  ``sandbox`` (no forms, no top navigation, no popups): an HTML file logged by a run
  runs its scripts in an opaque origin, so it can never act as the dashboard. Opened
  directly (a top-level navigation, ``Sec-Fetch-Dest: document``) a page that can run
  script (HTML, SVG) is a download instead: at the top, a sandbox still lets a page
  send itself elsewhere, with the dashboard's address in the history.
* ``GET /runs/{e}/{p}/{id}/table?path=``: a logged table (Parquet) as JSON pages,
  sorted and filtered here with pyarrow: the browser never parses Parquet.
* ``GET /projects/{e}/{p}/sweeps/{id}/importance``: each parameter's correlation with
  the sweep's metric and its permutation importance under a small quadratic model.
"""

from __future__ import annotations

import importlib
import json
import math
import threading
from collections import OrderedDict
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from trackwell_server.db.engine import read
from trackwell_server.deps import Caller, Entity, Project, RunId, Server, Srv
from trackwell_server.errors import ApiError
from trackwell_server.names import NAME_PATTERN, check_file_path
from trackwell_server.responses import JSONResponse
from trackwell_server.storage import files as run_files
from trackwell_server.storage import runs as store
from trackwell_server.storage import sweeps as sweep_store
from trackwell_server.storage.blobs import BlobNotFound

router = APIRouter(tags=["dashboard"])

#: What the media route will name; anything else is served as a download.
MEDIA_TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "bmp": "image/bmp", "svg": "image/svg+xml",
    "wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac", "m4a": "audio/mp4",
    "mp4": "video/mp4", "webm": "video/webm", "ogv": "video/ogg", "mov": "video/quicktime",
    "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
    "json": "application/json", "txt": "text/plain; charset=utf-8",
}  # fmt: skip
#: An HTML file runs scripts (a Plotly figure needs them) in a unique opaque origin: no
#: cookies, no storage, no reaching the parent; nothing loads from the network.
MEDIA_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; media-src data: blob:; font-src data:; frame-ancestors 'self'"
)
#: Extensions whose files can run script when a browser renders them.
_SCRIPTABLE = frozenset(("html", "htm", "svg"))
#: Rows one table page may hold.
MAX_PAGE = 500
#: Parsed tables kept in memory (keyed by content digest, so never stale).
_CACHE_SIZE = 16
_FILTER_OPS = ("=", "!=", "<", ">", "<=", ">=", "~")


def _file_bytes(
    srv: Server, who: Any, entity: str, project: str, run_id: str, path: str
) -> tuple[Any, bytes]:
    check_file_path(path)
    with read(srv.engine) as conn:
        _, run = store.readable_run(conn, who, entity, project, run_id)
        row = run_files.find(conn, run.pk, path)
    if row is None:
        raise ApiError(404, f"file {path!r} not found in run {run_id}")
    try:
        data = b"".join(srv.blobs.get(d) for d in row.parts) if row.parts else srv.blobs.get(row.sha256)
    except BlobNotFound:
        raise ApiError(404, f"the bytes of file {path!r} are missing from the blob store") from None
    return row, data


@router.get("/runs/{entity}/{project}/{run_id}/media/{path:path}", response_class=Response)
def media_file(
    entity: Entity, project: Project, run_id: RunId, path: str, request: Request, who: Caller, srv: Srv
) -> Response:
    """A run file typed by its extension, sandboxed by CSP (see the module docstring)."""
    row, data = _file_bytes(srv, who, entity, project, run_id, path)
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    media_type = MEDIA_TYPES.get(ext, "application/octet-stream")
    headers = {
        "Content-Security-Policy": MEDIA_CSP, "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin", "ETag": f'"{row.sha256}"',
        "Cache-Control": "private, max-age=3600",
    }  # fmt: skip
    opened_directly = request.headers.get("sec-fetch-dest") == "document"
    if media_type == "application/octet-stream" or (opened_directly and ext in _SCRIPTABLE):
        headers["Content-Disposition"] = "attachment"
    return Response(data, media_type=media_type, headers=headers)


# -- tables ----------------------------------------------------------------------------


def _arrow() -> tuple[Any, Any, Any]:
    """pyarrow, pyarrow.parquet, pyarrow.compute; a 501 naming the package when it is missing."""
    try:
        return tuple(importlib.import_module(m) for m in ("pyarrow", "pyarrow.parquet", "pyarrow.compute"))  # type: ignore[return-value]
    except ImportError:
        raise ApiError(501, "reading tables needs pyarrow on the server (pip install pyarrow)") from None


_tables: OrderedDict[str, Any] = OrderedDict()
_tables_lock = threading.Lock()


def _arrow_table(sha256: str, data: bytes) -> Any:
    """The Parquet bytes as a pyarrow Table, cached by digest (an LRU of a few tables)."""
    pa, pq, _ = _arrow()
    with _tables_lock:
        if sha256 in _tables:
            _tables.move_to_end(sha256)
            return _tables[sha256]
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # a corrupt or foreign file: say so rather than 500
        raise ApiError(422, f"not a readable Parquet table: {exc}") from None
    with _tables_lock:
        _tables[sha256] = table
        while len(_tables) > _CACHE_SIZE:
            _tables.popitem(last=False)
    return table


def _column_kinds(table: Any) -> dict[str, tuple[str, str]]:
    """Column name -> (kind, encoding) from trackwell's schema metadata (media cells are JSON text)."""
    raw = (table.schema.metadata or {}).get(b"trackwell.table")
    kinds: dict[str, tuple[str, str]] = {}
    if raw:
        for col in json.loads(raw).get("columns", []):
            kinds[col["name"]] = (col.get("kind", ""), col.get("encoding", "plain"))
    return kinds


def _filter_mask(column: Any, op: str, value: str) -> Any:
    pa, _, pc = _arrow()
    if op == "~":
        return pc.match_substring(pc.cast(column, pa.string()), value, ignore_case=True)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        try:
            scalar: Any = float(value)
        except ValueError:
            raise ApiError(422, f"column is numeric: {value!r} is not a number") from None
    elif pa.types.is_boolean(column.type):
        scalar = value.lower() in ("1", "true", "yes")
    else:
        column, scalar = pc.cast(column, pa.string()), value
    fn = {"=": pc.equal, "!=": pc.not_equal, "<": pc.less, ">": pc.greater,
          "<=": pc.less_equal, ">=": pc.greater_equal}[op]  # fmt: skip
    return fn(column, scalar)


def _cell(value: Any, encoding: str) -> Any:
    if encoding == "media" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


@router.get("/runs/{entity}/{project}/{run_id}/table")
def table_rows(
    entity: Entity,
    project: Project,
    run_id: RunId,
    who: Caller,
    srv: Srv,
    path: Annotated[str, Query(max_length=1024, description="the run file of a table-file record")],
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    sort: Annotated[str | None, Query(max_length=1000)] = None,
    desc: bool = False,
    where: Annotated[str | None, Query(max_length=1000, description="column to filter on")] = None,
    op: Annotated[str, Query(max_length=2)] = "=",
    value: Annotated[str, Query(max_length=1000)] = "",
) -> Any:
    """One page of a logged table: ``{"columns", "column_types", "nrows", "total", "offset", "rows"}``.

    ``nrows`` counts the whole table, ``total`` the rows left by the filter
    (``where`` ``op`` ``value``; ``op`` one of ``= != < > <= >= ~``, ``~`` contains,
    case-insensitive). Media cells come back as their records (the browser draws
    thumbnails from their ``path``); NaN is null.
    """
    if op not in _FILTER_OPS:
        raise ApiError(422, f"op must be one of {' '.join(_FILTER_OPS)}, got {op!r}")
    row, data = _file_bytes(srv, who, entity, project, run_id, path)
    table = _arrow_table(row.sha256, data)
    kinds = _column_kinds(table)
    names = table.column_names
    for col in (c for c in (sort, where) if c):
        if col not in names:
            raise ApiError(422, f"no column {col!r} in this table (columns: {', '.join(names)})")
    nrows = table.num_rows
    if where:
        table = table.filter(_filter_mask(table.column(where), op, value))
    if sort:
        table = table.sort_by([(sort, "descending" if desc else "ascending")])
    page = table.slice(offset, limit).to_pylist()
    enc = {n: kinds.get(n, ("", "plain"))[1] for n in names}
    return JSONResponse({
        "columns": names,
        "column_types": {n: kinds.get(n, (str(table.schema.field(n).type), ""))[0] for n in names},
        "nrows": nrows, "total": table.num_rows, "offset": offset,
        "rows": [[_cell(r[n], enc[n]) for n in names] for r in page],
    })  # fmt: skip


# -- sweeps: parameter importance --------------------------------------------------------

SweepId = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64)]


@router.get("/projects/{entity}/{project}/sweeps/{sweep_id}/importance")
def sweep_importance(entity: Entity, project: Project, sweep_id: SweepId, who: Caller, srv: Srv) -> Any:
    """``{"metric", "goal", "runs": n, "params": [{"name", "correlation", "importance"}]}``.

    Parameters come most important first.

    Uses the sweep's finished-or-running runs that have a numeric metric. See
    :func:`importance` for the method; with fewer than 3 such runs every value is null.
    """
    with read(srv.engine) as conn:
        proj = store.readable_project(conn, who, entity, project)
        info = sweep_store.info(conn, proj, sweep_store.get(conn, proj, sweep_id))
    metric = (info["config"].get("metric") or {}) if isinstance(info["config"], dict) else {}
    runs = [r for r in info["runs"] if isinstance(r.get("metric"), int | float)]
    runs = [r for r in runs if math.isfinite(r["metric"])]
    names = sorted({k for r in info["runs"] for k in (r.get("config") or {})})
    rows = importance(names, [r["config"] or {} for r in runs], [float(r["metric"]) for r in runs])
    return JSONResponse(
        {"metric": metric.get("name"), "goal": metric.get("goal"), "runs": len(runs), "params": rows}
    )


def _encode(values: list[Any]) -> tuple[np.ndarray, bool]:
    """A parameter's values as columns: one standardised column if numeric, else one-hot."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        x = np.asarray(values, dtype=np.float64)
        sd = x.std()
        return ((x - x.mean()) / sd if sd > 0 else np.zeros_like(x))[:, None], True
    labels = [json.dumps(v, sort_keys=True) for v in values]
    levels = sorted(set(labels))
    return np.asarray([[lab == lev for lev in levels] for lab in labels], dtype=np.float64), False


def importance(
    names: list[str], configs: list[dict[str, Any]], metric: list[float], seed: int = 0
) -> list[dict[str, Any]]:
    """Correlation and permutation importance of each parameter for ``metric``.

    * correlation: Pearson's r between a numeric parameter and the metric (null for a
      categorical one, or a constant one).
    * importance: fit a ridge regression of the metric on every parameter (numeric ones
      standardised, with their squares; categorical ones one-hot), then shuffle one
      parameter's columns at a time and measure how much the model's R² drops (mean of
      several shuffles). The drops are scaled to sum to 1. A model-based permutation
      importance like W&B's, with a model small enough to fit in microseconds.
    """
    n = len(metric)
    if n < 3 or not names:
        return [{"name": k, "correlation": None, "importance": None} for k in names]
    y = np.asarray(metric, dtype=np.float64)
    blocks: list[np.ndarray] = []
    corr: dict[str, float | None] = {}
    for k in names:
        values = [c.get(k) for c in configs]
        block, numeric = _encode(values)
        if numeric:
            x = block[:, 0]
            corr[k] = float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else None
            block = np.column_stack([x, x * x])
        else:
            corr[k] = None
        blocks.append(block)
    design = np.column_stack([np.ones(n), *blocks])
    reg = np.eye(design.shape[1]) * 1e-3
    reg[0, 0] = 0.0
    coef = np.linalg.solve(design.T @ design + reg, design.T @ y)
    var = float(((y - y.mean()) ** 2).sum())

    def r2(matrix: np.ndarray) -> float:
        return 1.0 - float(((y - matrix @ coef) ** 2).sum()) / var if var > 0 else 0.0

    base = r2(design)
    rng = np.random.default_rng(seed)
    drops: list[float] = []
    start = 1
    for block in blocks:
        stop = start + block.shape[1]
        losses = []
        for _ in range(8):
            shuffled = design.copy()
            shuffled[:, start:stop] = block[rng.permutation(n)]
            losses.append(base - r2(shuffled))
        drops.append(max(0.0, float(np.mean(losses))))
        start = stop
    total = sum(drops)
    rows = [
        {"name": k, "correlation": corr[k], "importance": d / total if total > 0 else 0.0}
        for k, d in zip(names, drops, strict=True)
    ]
    return sorted(rows, key=lambda r: -(r["importance"] or 0.0))
