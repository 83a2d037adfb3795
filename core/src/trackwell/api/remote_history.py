"""History reads from a server: sampled rows, paged scans, and packed columns for big DataFrames.

Three shapes because they serve three uses: a chart wants a few hundred points per
key with peaks kept (the server samples), an export wants every row without holding
them all (``scan`` pages lazily), and an analysis wants a million points in a
DataFrame fast — msgpack'd float64 columns read with ``numpy.frombuffer`` cost no
per-value work in Python. numpy and pandas are imported only on that last path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from trackwell._pipeline.transport import MSGPACK, run_path
from trackwell.api import history as _history
from trackwell.api.remote_http import ServerClient, decode_floats
from trackwell.api.system_names import SYSTEM_STREAMS, api_rows, stored_keys, stored_name
from trackwell.errors import UsageError

_RunKey = tuple[str, str, str]
#: Rows per request when ``history(samples=None)`` reads every row: big pages, few round trips.
_FULL_READ_PAGE = 10_000


def history(
    client: ServerClient,
    key: _RunKey,
    last_step: int,
    logged: Sequence[str],
    samples: int | None,
    keys: Sequence[str] | None,
    x_axis: str,
    pandas: bool,
    stream: str,
) -> Any:
    """``run.history()`` for a server run; see ``ServerRun.history``."""
    if samples is not None:
        samples = _history.check_samples(samples)
    wanted = _history.check_keys(keys, "history")
    if stream in SYSTEM_STREAMS:
        endpoint = "system"
        if x_axis == "_step":  # system samples have no _step
            x_axis = "_runtime"
    elif stream == "default":
        endpoint = "history"
    else:
        raise UsageError(f"history(stream={stream!r}): use 'default', or 'events' for system metrics")
    unsampled = samples is None or samples > last_step  # more samples than steps: every row
    if endpoint == "history" and wanted and pandas and unsampled:
        frame = columns_frame(client, key, wanted, x_axis, logged)
        if frame is not None:
            return frame
        samples = None  # a key holds strings or other non-numbers: every row, as rows
    if endpoint == "history" and samples is None:
        rows = list(_pages(client, key, _query_keys(wanted, x_axis), _FULL_READ_PAGE, None, None))
    elif endpoint == "system":  # the server keeps stored names; the columns get W&B's
        query = _query_keys(stored_keys(wanted), stored_name(x_axis))
        params = {"keys": query, "samples": samples, "x_axis": stored_name(x_axis)}
        rows = api_rows(decode_floats(client.get(run_path(*key, endpoint), params)["rows"]))
    else:
        params = {"keys": _query_keys(wanted, x_axis), "samples": samples, "x_axis": x_axis}
        rows = decode_floats(client.get(run_path(*key, endpoint), params)["rows"])
    picked = _history.select(rows, wanted, x_axis)
    return _history.to_frame(picked, wanted, x_axis) if pandas else picked


def scan(
    client: ServerClient,
    key: _RunKey,
    keys: Sequence[str] | None,
    page_size: int,
    min_step: int | None,
    max_step: int | None,
) -> Iterator[dict[str, Any]]:
    """``run.scan_history()``: checks its arguments now, fetches pages only as rows are consumed."""
    _history.check_page_size(page_size)
    wanted = _history.check_keys(keys, "scan_history")
    # W&B's max_step is exclusive, the server's inclusive
    last = None if max_step is None else max_step - 1
    rows = _pages(client, key, ",".join(wanted) if wanted else None, page_size, min_step, last)
    if not wanted:
        return rows
    return ({k: row[k] for k in wanted} for row in rows if all(k in row for k in wanted))


def _pages(
    client: ServerClient,
    key: _RunKey,
    keys: str | None,
    page_size: int,
    min_step: int | None,
    max_step: int | None,
) -> Iterator[dict[str, Any]]:
    """Unsampled rows with ``min_step <= _step <= max_step``, one request per ``page_size`` rows,
    each made only when the previous page is used up."""
    params: dict[str, Any] = {
        "keys": keys,
        "page_size": page_size,
        "min_step": min_step,
        "max_step": max_step,
    }
    path = run_path(*key, "history")
    while True:
        page = client.get(path, params)
        yield from decode_floats(page["rows"])
        params["cursor"] = page.get("next_cursor")
        if not params["cursor"]:
            return


def columns_frame(
    client: ServerClient, key: _RunKey, keys: Sequence[str], x_axis: str, logged: Sequence[str]
) -> Any:
    """Every logged value of ``keys`` as a DataFrame, from the packed ``history/columns`` endpoint.

    Columns are ``x_axis`` then ``keys``, as ``history(keys=...)`` returns them, one
    row per step the server lists; NaN marks a step where a key has no value (or the
    run logged NaN: packed floats cannot tell the two apart). ``None`` when a key the
    run logged (``logged``) is not among the columns: the server packs numbers only,
    so that key holds something else and must be read from rows.
    """
    import msgpack

    pd = _history.import_pandas()
    import numpy as np

    names = _history.columns(keys, x_axis)
    fetch = [n for n in names if n != "_step"]
    body = client.get_bytes(run_path(*key, "history", "columns"), {"keys": ",".join(fetch)}, accept=MSGPACK)
    payload = msgpack.unpackb(body, raw=False)
    if any(name in logged and name not in payload for name in fetch):
        return None
    steps = _array(np, payload.get("_step"), "<i8")
    data: dict[str, Any] = {}
    for name in names:
        if name == "_step":
            data[name] = steps
        elif name in payload:
            data[name] = _array(np, payload[name], "<f8")
        else:  # never logged: a column of NaN, as a key missing from every row would give
            data[name] = np.full(len(steps), np.nan)
    return pd.DataFrame(data, columns=names)


def _array(np: Any, raw: Any, dtype: str) -> Any:
    """A column from packed little-endian bytes (msgpack) or a JSON-style list."""
    if raw is None:
        return np.empty(0, dtype=dtype)
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return np.frombuffer(raw, dtype=dtype)
    return np.asarray(decode_floats(list(raw)), dtype=dtype)


def _query_keys(keys: Sequence[str] | None, x_axis: str) -> str | None:
    """The ``keys`` query parameter: the wanted keys plus ``x_axis``, so every row can be placed."""
    if not keys:
        return None
    return ",".join(_history.columns(keys, x_axis))
