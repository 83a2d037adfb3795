"""``trackwell.data_types.PartitionedTable``: W&B's table made of the tables in one
folder of an artifact (``artifact.add(part, "parts/0")``, ..., then
``artifact.add(PartitionedTable("parts"), "all")``).

The record keeps W&B's ``parts_path`` and also lists the part entries found when it
was added, so reading it back needs no listing of the artifact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trackwell.media.base import Media, MediaContext
from trackwell.table.table import Table

PART_SUFFIX = ".table.json"


class PartitionedTable(Media):
    """The tables under ``parts_path`` in an artifact, read as one: ``iterrows()`` goes
    through the parts in order (``parts/2`` before ``parts/10``)."""

    _type = "partitioned-table"

    def __init__(self, parts_path: str) -> None:
        self.parts_path = str(parts_path).strip("/")
        self._parts: list[Table] | None = None

    @property
    def parts(self) -> list[Table]:
        """The part tables (read back from an artifact)."""
        if self._parts is None:
            raise ValueError("PartitionedTable: the parts are read with artifact.get(name)")
        return self._parts

    @property
    def columns(self) -> list[str]:
        return list(self.parts[0].columns) if self.parts else []

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` over all parts' rows, the index counting across parts (as W&B)."""
        index = 0
        for part in self.parts:
            for row in part.data:
                yield index, row
                index += 1

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        entry_paths = getattr(ctx, "entry_paths", None)
        if entry_paths is None:
            raise ValueError(
                "a PartitionedTable names tables inside an artifact: add it with artifact.add(), "
                "not run.log()"
            )
        prefix = self.parts_path + "/"
        parts = sorted(
            (p for p in entry_paths() if p.startswith(prefix) and p.endswith(PART_SUFFIX)), key=_natural
        )
        if not parts:
            raise ValueError(
                f"PartitionedTable: the artifact has no tables under {self.parts_path!r}; add them first "
                f"(artifact.add(table, '{self.parts_path}/0'))"
            )
        return {"_type": self._type, "parts_path": self.parts_path, "parts": parts}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> PartitionedTable:
        out = cls(str(record["parts_path"]))
        out._parts = [Table.from_record(json.loads(read(path)), read) for path in record.get("parts", ())]
        return out


def _natural(path: str) -> list[Any]:
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", path)]
