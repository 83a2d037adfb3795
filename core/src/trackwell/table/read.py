"""Tables back from a finished or running run, through the Public API (local or server).

``run.table(key, step=None)`` on ``trackwell.Api()`` runs (``LocalApi`` run
directories and ``ServerApi`` runs alike) lands here: it finds the history record,
reads the files it names through the run's file listing, and rebuilds the Table
(for an incremental table, every increment up to that step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell.table.table import INCREMENTAL_TYPE, Table

TABLE_TYPES = ("table-file", INCREMENTAL_TYPE)


def file_reader(run: Any) -> Callable[[str], bytes]:
    """``read(path)`` for records of ``run``: a path relative to the run's files,
    read from the run directory (LocalApi) or downloaded from the server (ServerApi)."""
    listing: dict[str, Any] = {}

    def read(path: str) -> bytes:
        if not listing:
            listing.update((f.name, f) for f in run.files())
        found = listing.get(path)
        if found is None:
            found = run.file(path)  # raises FileNotFoundError naming the run
        read_bytes = getattr(found, "read_bytes", None)
        if read_bytes is not None:
            data: bytes = read_bytes()
            return data
        return Path(found.path).read_bytes()

    return read


def table_record(value: Any, key: str) -> Mapping[str, Any]:
    """The table record in a history value: a table's own, or a chart's table."""
    if isinstance(value, Mapping):
        if value.get("_type") in TABLE_TYPES:
            return value
        inner = value.get("table")
        if value.get("_type") == "plot-table" and isinstance(inner, Mapping):
            return inner
    raise ValueError(f"history key {key!r} holds {_describe(value)}, not a table or chart")


def _describe(value: Any) -> str:
    if isinstance(value, Mapping) and "_type" in value:
        return f"a {value['_type']!r} record"
    return f"a {type(value).__name__}"


def run_table(run: Any, key: str, step: int | None = None) -> Table:
    """The Table logged under ``key`` at ``step`` (the last one logged when None)."""
    rows = run.scan_history(keys=[key], min_step=step, max_step=None if step is None else step + 1)
    last = None
    for row in rows:
        last = row
    if last is None:
        where = "" if step is None else f" at step {step}"
        raise KeyError(f"run {run.id} logged no {key!r}{where}")
    return Table.from_record(table_record(last[key], key), file_reader(run))
