"""``trackwell.Table``: W&B's ``wandb.Table`` (columns, rows, typed cells, log modes).

Rows are lists owned by the table: ``add_data`` appends a new list and
``add_column`` builds new row lists instead of changing the old ones, so the
snapshot ``log()`` takes (``_for_log``) is a shallow copy of the row list, never a deep
copy of the cells. The encoding (Parquet, media cells through the media context)
happens in ``to_record`` on the writer thread.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

from trackwell.errors import UsageError, warn_user
from trackwell.media.base import Media, MediaContext, register_media_type
from trackwell.table import columns as C

LogMode = Literal["IMMUTABLE", "MUTABLE", "INCREMENTAL"]
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
DEFAULT_COLUMNS = ["Input", "Output", "Expected"]  # W&B's default header
INCREMENTAL_TYPE = "incremental-table-file"


class Table(Media):
    """A table of typed columns, logged with ``run.log({"key": table})``.

    Build it from ``columns`` and ``data`` (a list of rows or a 2-D numpy array), from a
    pandas ``dataframe``, or row by row with ``add_data``. Each column's type is
    inferred from its first non-None value (number, string, bool, list, dict, or a media
    class such as ``trackwell.Image``) or given with ``dtype``; a later value of another
    type raises ``TypeError`` unless ``allow_mixed_types=True``.

    ``log_mode`` says what logging the same table object again does:
    ``"IMMUTABLE"`` (default) logs it as it was the first time (changing it afterwards
    warns), ``"MUTABLE"`` logs its current content each time, ``"INCREMENTAL"`` logs only
    the rows added since the previous log, as a new increment (W&B's
    ``incremental-table-file`` records; ``trackwell.Table.from_record`` joins them).
    """

    _type: ClassVar[str] = "table-file"
    #: W&B's limit on the rows ``log()`` keeps (the first ones, with a warning); set
    #: ``trackwell.Table.MAX_ROWS`` higher to log bigger tables. Artifacts keep every row.
    MAX_ROWS: ClassVar[int] = 10_000

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | Sequence[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: LogMode | None = "IMMUTABLE",
    ) -> None:
        mode = log_mode or "IMMUTABLE"
        if mode not in LOG_MODES:
            raise ValueError(f"log_mode must be one of {', '.join(LOG_MODES)}, got {log_mode!r}")
        self.log_mode: str = mode
        self._allow_mixed = bool(allow_mixed_types)
        self._lock = threading.Lock()
        self._logged: Table | None = None  # IMMUTABLE: the snapshot logged first
        self._changed_since_log = False
        self._increments = _Increments()
        self._frozen = False  # a snapshot taken by log(): never changes, so its record is cached
        self._record_cache: tuple[MediaContext, dict[str, Any]] | None = None
        # A snapshot of an INCREMENTAL table: (its log, increment number, rows logged in all)
        self._increment: tuple[_Increments, int, int] | None = None
        if rows is not None and data is None:
            data = rows
        if dataframe is not None:
            if data is not None:
                raise ValueError("pass either data/rows or dataframe to Table, not both")
            columns, data = _from_dataframe(dataframe, columns)
        elif data is not None and _is_ndarray(data):
            if data.ndim != 2:
                raise ValueError(
                    f"Table data as a numpy array must be 2-D (rows x columns), got shape {data.shape}"
                )
            if columns is None:
                columns = [f"Column_{i + 1}" for i in range(data.shape[1])]
            data = [list(row) for row in data] if data.dtype == object else data.tolist()
        if columns is None:
            columns = list(DEFAULT_COLUMNS)
        self.columns: list[str] = _check_names(columns)
        self.data: list[list[Any]] = []
        n = len(self.columns)
        self._optional = _per_column(optional, n, "optional")
        dtypes = dtype if isinstance(dtype, (list, tuple)) else [dtype] * n
        if len(dtypes) != n:
            raise ValueError(f"dtype has {len(dtypes)} entries for {n} columns")
        self._kinds: list[C.Kind | None] = [C.dtype_kind(d) for d in dtypes]
        if data is not None:
            rows_in = [list(r) for r in data]
            for i, row in enumerate(rows_in):
                if len(row) != n:
                    raise ValueError(f"row {i} has {len(row)} values for {n} columns {self.columns}")
            self.data = self._checked(rows_in, 0)

    # -- building ------------------------------------------------------------

    def _checked(self, rows: list[list[Any]], first_row: int) -> list[list[Any]]:
        """Check new rows column by column; return them (converted where needed).
        Nothing is stored on error, so a failed add leaves the table as it was."""
        if not rows:
            return rows
        kinds = list(self._kinds)
        cols = [[row[j] for row in rows] for j in range(len(self.columns))]
        changed = False
        for j, name in enumerate(self.columns):
            kind, values = C.check_column(
                cols[j], kinds[j], self._optional[j], self._allow_mixed, name, first_row
            )
            kinds[j] = kind
            if values is not cols[j]:
                cols[j] = values
                changed = True
        self._kinds = kinds
        if changed:
            return list(map(list, zip(*cols, strict=False)))
        return rows

    def add_data(self, *data: Any) -> None:
        """Append one row: ``table.add_data(1, "cat", trackwell.Image(img))``."""
        if len(data) != len(self.columns):
            raise ValueError(
                f"add_data got {len(data)} values for {len(self.columns)} columns {self.columns}; "
                "pass one value per column (use add_data(*row) for a list)"
            )
        row = list(data)
        kinds, optional, fast = self._kinds, self._optional, C.FAST_KINDS
        for j, value in enumerate(row):  # fast path: plain values of each column's known type
            plain = fast.get(type(value))
            if (plain is None or plain != kinds[j]) and not (value is None and optional[j]):
                [row] = self._checked([row], len(self.data))
                break
        self._mutated()
        self.data.append(row)

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Add a column with one value per existing row (a list or a numpy array)."""
        self._refuse_incremental("add_column")
        if not isinstance(name, str):
            raise TypeError(f"column names must be strings, got {name!r}")
        if name in self.columns:
            raise ValueError(f"column {name!r} already exists in {self.columns}")
        values = list(data) if not _is_ndarray(data) or data.ndim > 1 else data.tolist()
        if self.columns and len(values) != len(self.data):
            raise ValueError(f"column {name!r} has {len(values)} values; the table has {len(self.data)} rows")
        kind, values = C.check_column(values, None, True, self._allow_mixed, name)
        if not optional and any(v is None for v in values):
            raise ValueError(f"column {name!r} has None values but optional=False")
        self._mutated()
        if not self.columns:
            self.data = [[v] for v in values]
        else:
            self.data = [[*row, v] for row, v in zip(self.data, values, strict=False)]
        self.columns = [*self.columns, name]
        self._kinds = [*self._kinds, kind]
        self._optional = [*self._optional, bool(optional)]

    def add_computed_columns(self, fn: Callable[[int, dict[str, Any]], Mapping[str, Any]]) -> None:
        """Add the columns ``fn(ndx, row)`` returns for each row (``row`` maps column names
        to values): ``table.add_computed_columns(lambda ndx, row: {"img": Image(row["x"])})``."""
        self._refuse_incremental("add_computed_columns")
        results = [dict(fn(i, dict(zip(self.columns, row, strict=False)))) for i, row in enumerate(self.data)]
        if not results:
            return
        names = list(results[0])
        for i, res in enumerate(results):
            if list(res) != names:
                raise ValueError(
                    f"add_computed_columns: row {i} returned columns {list(res)}, row 0 returned {names}"
                )
        for name in names:
            self.add_column(name, [res[name] for res in results], optional=True)

    def cast(self, col_name: str, dtype: Any, optional: bool = False) -> None:
        """Fix the type of a column (``int``, ``str``, ``trackwell.Image``, ...): existing
        values must match it, later ones are checked against it."""
        j = self._index(col_name)
        kind = C.dtype_kind(dtype)
        column = [row[j] for row in self.data]
        kind, values = C.check_column(column, kind, optional, False, col_name)
        self._mutated()
        if values is not column:
            self.data = [[*row[:j], v, *row[j + 1 :]] for row, v in zip(self.data, values, strict=False)]
        self._kinds[j] = kind if kind is not None else C.dtype_kind(dtype)
        self._optional[j] = bool(optional)

    def _refuse_incremental(self, op: str) -> None:
        if self.log_mode == "INCREMENTAL":
            raise UsageError(
                f"Operation {op!r} is not supported for tables with log_mode='INCREMENTAL'. "
                "Use a different log mode like 'MUTABLE' or 'IMMUTABLE'."
            )

    def _mutated(self) -> None:
        if self._logged is not None and self.log_mode == "IMMUTABLE" and not self._changed_since_log:
            warn_user(
                "You are mutating a Table with log_mode='IMMUTABLE' that has been logged already. "
                "Subsequent log() calls will have no effect. "
                "Set log_mode='MUTABLE' to enable re-logging after mutations"
            )
        self._changed_since_log = True

    # -- reading -------------------------------------------------------------

    def _index(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise KeyError(f"no column {name!r} in {self.columns}") from None

    def get_column(self, name: str, convert_to: Literal["numpy"] | None = None) -> Any:
        """The values of one column as a list, or a numpy array with ``convert_to="numpy"``
        (media cells become their data arrays where the type has one)."""
        j = self._index(name)
        values = [row[j] for row in self.data]
        if convert_to is None:
            return values
        if convert_to != "numpy":
            raise ValueError(f"convert_to must be None or 'numpy', got {convert_to!r}")
        from trackwell.media.base import require

        np = require("numpy", "Table.get_column(convert_to='numpy')")
        if isinstance(self._kinds[j], type):
            arrays = [None if v is None else _data_array(np, v, name) for v in values]
            if all(a is not None for a in arrays):
                return np.array(arrays)
            out = np.empty(len(arrays), dtype=object)  # missing cells: an object array of arrays
            out[:] = arrays
            return out
        return np.array(values)

    def get_index(self) -> list[int]:
        """The row indices, ``[0, 1, ..., len - 1]``."""
        return list(range(len(self.data)))

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for each row, as W&B's ``for ndx, row in table.iterrows()``."""
        return iter(enumerate(self.data))

    def get_dataframe(self) -> Any:
        """A pandas DataFrame of the table (media cells stay objects)."""
        from trackwell.media.base import require

        pd = require("pandas", "Table.get_dataframe()")
        cols = list(zip(*self.data, strict=False)) if self.data else [() for _ in self.columns]
        return pd.DataFrame(
            {name: list(col) for name, col in zip(self.columns, cols, strict=False)}, columns=self.columns
        )

    @property
    def column_types(self) -> dict[str, str]:
        """Each column's type name: ``number``, ``string``, ``boolean``, ``list``, ``dict``,
        ``any`` (mixed), a media record type (``image-file``), or ``none`` (all None so far)."""
        return {name: C.kind_name(k) for name, k in zip(self.columns, self._kinds, strict=False)}

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        if self.columns != other.columns or len(self.data) != len(other.data):
            return False
        if self.data == other.data:
            return True
        # NaN is not equal to itself; a table read back holds new NaN objects
        return all(
            a == b or (type(a) is float and type(b) is float and a != a and b != b)
            for r1, r2 in zip(self.data, other.data, strict=True)
            for a, b in zip(r1, r2, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"<Table {len(self.data)} rows x {len(self.columns)} columns {self.columns}>"

    # -- logging -------------------------------------------------------------

    def _for_log(self) -> Table:
        """The object ``log()`` keeps for the writer, taken on the caller's thread.

        A copy of the row list (cells are shared, never copied): the caller may go on
        adding rows. IMMUTABLE tables (and MUTABLE ones not changed since) give the same
        snapshot again, so re-logging encodes and writes nothing new; INCREMENTAL ones give
        the rows added since the last call.
        """
        with self._lock:
            logged, mode = self._logged, self.log_mode
            if (
                logged is not None
                and mode != "INCREMENTAL"
                and (mode == "IMMUTABLE" or not self._changed_since_log)
            ):
                return logged  # IMMUTABLE, or unchanged since: encoded once, the same file
            snap = Table.__new__(Table)
            snap.__dict__.update(self.__dict__)
            snap._lock = threading.Lock()
            snap.columns = list(self.columns)
            snap._kinds = list(self._kinds)
            snap._optional = list(self._optional)
            snap._logged = None
            snap._frozen = True
            snap._record_cache = None
            if self.log_mode == "INCREMENTAL":
                start = self._increments.logged_rows
                snap.data = self.data[start:]
                snap._increment = (self._increments, self._increments.count, len(self.data))
                self._increments.count += 1
                self._increments.logged_rows = len(self.data)
            elif len(self.data) > self.MAX_ROWS:
                warn_user(
                    f"Truncating trackwell.Table object to {self.MAX_ROWS} rows (it has {len(self.data)}); "
                    "set trackwell.Table.MAX_ROWS higher to log them all"
                )
                snap.data = self.data[: self.MAX_ROWS]
            else:
                snap.data = list(self.data)
            self._logged = snap
            self._changed_since_log = False
            return snap

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        """Write the rows as one Parquet file through ``ctx``; return the history record
        (W&B's ``table-file``, or ``incremental-table-file`` for an increment)."""
        cached = self._record_cache
        if cached is not None and cached[0] is ctx:
            return dict(cached[1])
        from trackwell.table import parquet

        data = parquet.encode(self.columns, self._kinds, self.data, ctx)
        path = ctx.write_bytes(data, "table", ".table.parquet")
        record: dict[str, Any] = {
            "_type": self._type,
            "path": path,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "ncols": len(self.columns),
            "nrows": len(self.data),
            "columns": list(self.columns),
            "column_types": self.column_types,
            "format": "parquet",
            "log_mode": self.log_mode,
        }
        increment = self._increment
        if increment is not None:
            log, num, total = increment
            record.update(
                _type=INCREMENTAL_TYPE,
                nrows=total,
                increment_nrows=len(self.data),
                increment_num=num,
                previous_increments_paths=log.add(num, path),
            )
        if self._frozen:
            self._record_cache = (ctx, record)
        return dict(record)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Table:
        """The Table a record describes; ``read(path)`` returns a file's bytes (for example
        ``LocalApi``/``Api`` ``run.file(path)``). For an ``incremental-table-file``
        record, the increments listed in it are read and concatenated: the whole table
        as of that log call."""
        from trackwell.table import parquet

        paths = [*record.get("previous_increments_paths", ()), record["path"]]
        table = cls.__new__(cls)
        Table.__init__(table, columns=[], log_mode=record.get("log_mode") or "IMMUTABLE")
        rows: list[list[Any]] = []
        for path in paths:
            names, kinds, part = parquet.decode(read(path), read)
            if not table.columns:
                table.columns, table._kinds = names, kinds
                table._optional = [True] * len(names)
            elif names != table.columns:
                raise ValueError(f"increment {path} has columns {names}, the table has {table.columns}")
            else:
                table._kinds = [
                    k if k is not None else kk for k, kk in zip(table._kinds, kinds, strict=False)
                ]
            rows.extend(part)
        if not table.columns:
            table.columns = list(record.get("columns", []))
            table._kinds = [None] * len(table.columns)
            table._optional = [True] * len(table.columns)
        table.data = rows
        return table


class _Increments:
    """What the writer knows of an INCREMENTAL table's logged increments: their paths,
    in order (each record lists the earlier ones so a reader can concatenate)."""

    def __init__(self) -> None:
        self.count = 0  # increments handed to log() (caller's thread)
        self.logged_rows = 0  # rows handed to log() so far (caller's thread)
        self._paths: dict[int, str] = {}  # increment number -> path (writer thread)
        self._lock = threading.Lock()

    def add(self, num: int, path: str) -> list[str]:
        with self._lock:
            earlier = [self._paths[i] for i in sorted(self._paths) if i < num]
            self._paths[num] = path
        return earlier


def _data_array(np: Any, cell: Media, column: str) -> Any:
    """A media cell's data as an array: ``to_data_array()`` where the type has one, else
    the pixels of its ``image`` (``trackwell.Image``)."""
    to_array = getattr(cell, "to_data_array", None)
    if to_array is not None:
        return to_array()
    image = getattr(cell, "image", None)
    if callable(image):  # a method or a property, depending on the type
        image = image()
    if image is not None:
        return np.asarray(image)
    raise ValueError(f"column {column!r} holds {type(cell).__name__} objects, which have no array form")


def _is_ndarray(value: Any) -> bool:
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ == "ndarray"


def _check_names(columns: Sequence[Any]) -> list[str]:
    names = list(columns)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"column names must be strings, got {name!r} ({type(name).__name__})")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate column names {dupes}")
    return names


def _per_column(value: bool | Sequence[bool], n: int, what: str) -> list[bool]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{what} has {len(value)} entries for {n} columns")
        return [bool(v) for v in value]
    return [bool(value)] * n


def _from_dataframe(df: Any, columns: Sequence[str] | None) -> tuple[list[str], list[list[Any]]]:
    names = [str(c) for c in df.columns]
    if columns is not None and list(columns) != names:
        df = df[list(columns)]
        names = list(columns)
    cols = []
    for i in range(len(names)):
        series = df.iloc[:, i]
        values = series.tolist()  # numpy scalars become Python numbers here
        if series.dtype == object or str(series.dtype) in ("string", "str"):
            values = [None if _is_na(v) else v for v in values]
        cols.append(values)
    return names, [list(r) for r in zip(*cols, strict=False)] if cols else []


def _is_na(value: Any) -> bool:
    if value is None:
        return True
    kind = type(value)
    return kind.__name__ in ("NAType", "NaTType") or (kind is float and value != value)


register_media_type(Table)
register_media_type(INCREMENTAL_TYPE, Table)
