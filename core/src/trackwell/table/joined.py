"""``trackwell.JoinedTable``: W&B's ``wandb.JoinedTable``, two tables and the key joining them.

Added to an artifact (``artifact.add(joined, "name")``), as W&B documents: each side is
a Table (stored beside the record as its own ``.table.json``) or the path of a table
entry already in that artifact. ``artifact.get("name")`` gives it back with both tables
read; ``join()`` computes the inner join on the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trackwell.media.base import Media, MediaContext
from trackwell.table.table import Table


class JoinedTable(Media):
    """``JoinedTable(table1, table2, join_key)``: ``join_key`` is a column name both tables
    have, or ``[name in table1, name in table2]``."""

    _type = "joined-table"

    def __init__(self, table1: Table | str, table2: Table | str, join_key: str | Sequence[str]) -> None:
        if isinstance(join_key, str):
            keys = [join_key, join_key]
        else:
            keys = [str(k) for k in join_key]
            if len(keys) != 2:
                raise ValueError(f"JoinedTable: join_key is a column name or two of them, got {join_key!r}")
        self._join_key: str | list[str] = join_key if isinstance(join_key, str) else keys
        self._keys = keys
        self._table1 = _side(table1, keys[0], "table1")
        self._table2 = _side(table2, keys[1], "table2")

    @property
    def join_key(self) -> str | list[str]:
        return self._join_key

    @property
    def table1(self) -> Table | str:
        """The first table (an entry path until the record is read back from an artifact)."""
        return self._table1

    @property
    def table2(self) -> Table | str:
        return self._table2

    def join(self) -> Table:
        """The inner join: each pair of rows whose keys are equal, table1's columns then
        table2's (its key column left out)."""
        t1, t2 = self._table1, self._table2
        if not isinstance(t1, Table) or not isinstance(t2, Table):
            raise ValueError("JoinedTable.join() needs both tables; read it back with artifact.get(name)")
        i1, i2 = t1.columns.index(self._keys[0]), t2.columns.index(self._keys[1])
        by_key: dict[Any, list[list[Any]]] = {}
        for row in t2.data:
            by_key.setdefault(_hashable(row[i2]), []).append(row)
        right = [c for j, c in enumerate(t2.columns) if j != i2]
        names = [*t1.columns, *(c if c not in t1.columns else f"{c}_2" for c in right)]
        rows = [
            [*row, *(v for j, v in enumerate(other) if j != i2)]
            for row in t1.data
            for other in by_key.get(_hashable(row[i1]), ())
        ]
        return Table(columns=names, data=rows, allow_mixed_types=True)

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        return {
            "_type": self._type,
            "table1": _side_path(self._table1, ctx),
            "table2": _side_path(self._table2, ctx),
            "join_key": self._join_key,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> JoinedTable:
        def table(path: str) -> Table:
            return Table.from_record(json.loads(read(path)), read)

        return cls(table(str(record["table1"])), table(str(record["table2"])), record["join_key"])


def _side(table: Any, key: str, name: str) -> Table | str:
    if isinstance(table, Table):
        if key not in table.columns:
            raise ValueError(f"JoinedTable: {name} has no column {key!r} (its columns: {table.columns})")
        return table
    if isinstance(table, str):
        return table if table.endswith(".json") else f"{table}.table.json"
    raise TypeError(
        f"JoinedTable: {name} is a trackwell.Table or a table's path in the artifact, got {table!r}"
    )


def _side_path(table: Table | str, ctx: MediaContext) -> str:
    """A Table is stored as its own record file; a path names an entry already there."""
    if isinstance(table, str):
        return table
    record = table.to_record(ctx)
    return ctx.write_bytes(json.dumps(record, sort_keys=True).encode("utf-8"), "joined", ".table.json")


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=repr) if isinstance(value, (list, dict)) else value
