"""``CustomChart`` and ``plot_table``: a Table plus the Vega-Lite chart that draws it.

``log({"key": chart})`` stores one ``plot-table`` record in the history row: the
table's own record (a Parquet file, as any logged Table), the chart's spec id
(``wandb/line/v0`` style), how the chart's fields map to the table's columns, and its
strings (title, axis titles). The Vega-Lite templates of the built-in charts ship in
``specs/`` beside this module; ``builtin_spec(name)`` reads one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any, ClassVar

from trackwell.media.base import Media, MediaContext, register_media_type
from trackwell.table import Table

#: Spec ids of the charts ``trackwell.plot`` builds, and their template files.
BUILTIN_SPECS = {
    "wandb/line/v0": "line.json",
    "wandb/scatter/v0": "scatter.json",
    "wandb/bar/v0": "bar.json",
    "wandb/histogram/v0": "histogram.json",
    "wandb/lineseries/v0": "lineseries.json",
    "wandb/area-under-curve/v0": "area-under-curve.json",
    "wandb/confusion_matrix/v1": "confusion_matrix.json",
}


@cache
def _spec_text(name: str) -> str:
    return (
        resources.files("trackwell.plot").joinpath("specs").joinpath(BUILTIN_SPECS[name]).read_text(encoding="utf-8")
    )


def builtin_spec(name: str) -> dict[str, Any]:
    """The Vega-Lite template of a built-in chart (``"wandb/line/v0"``). Fields appear as
    ``${field:x}`` and strings as ``${string:title}``, to be replaced by the record's
    ``fields`` and ``string_fields``. Raises ``KeyError`` for an unknown id."""
    if name not in BUILTIN_SPECS:
        raise KeyError(f"no built-in chart {name!r}; built-in charts: {', '.join(BUILTIN_SPECS)}")
    spec: dict[str, Any] = json.loads(_spec_text(name))
    return spec


class CustomChart(Media):
    """A chart logged with ``log()``: ``table`` drawn by the Vega spec ``spec_name``."""

    _type: ClassVar[str] = "plot-table"

    def __init__(
        self,
        table: Table,
        spec_name: str,
        fields: Mapping[str, Any],
        string_fields: Mapping[str, Any] | None = None,
        split_table: bool = False,
    ) -> None:
        self.table = table
        self.spec_name = spec_name
        self.fields = dict(fields)
        self.string_fields = dict(string_fields or {})
        self.split_table = bool(split_table)

    @property
    def title(self) -> str:
        return str(self.string_fields.get("title") or "")

    def _for_log(self) -> CustomChart:
        """Snapshot the table on the caller's thread, as ``log()`` does for a Table."""
        return CustomChart(
            self.table._for_log(), self.spec_name, self.fields, self.string_fields, self.split_table
        )

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        return {
            "_type": self._type,
            "table": self.table.to_record(ctx),
            "spec": {"name": self.spec_name, "fields": self.fields, "string_fields": self.string_fields},
            "title": self.title,
            "split_table": self.split_table,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> CustomChart:
        spec = record["spec"]
        return cls(
            Table.from_record(record["table"], read),
            spec["name"],
            spec.get("fields", {}),
            spec.get("string_fields", {}),
            bool(record.get("split_table", False)),
        )

    def __repr__(self) -> str:
        return f"<CustomChart {self.spec_name} {self.title!r} {self.table!r}>"


def plot_table(
    vega_spec_name: str,
    data_table: Table,
    fields: dict[str, Any],
    string_fields: dict[str, Any] | None = None,
    split_table: bool = False,
) -> CustomChart:
    """A custom chart: ``data_table`` drawn by the Vega spec ``vega_spec_name``.

    ``fields`` maps the chart's fields to the table's columns (``{"x": "step", "value":
    "height"}``), ``string_fields`` gives its strings (``{"title": "Height"}``).
    ``split_table`` is kept in the record (W&B shows such tables in their own section).
    """
    if not isinstance(data_table, Table):
        raise TypeError(
            f"plot_table expects a trackwell.Table as data_table, got {type(data_table).__name__}"
        )
    if not isinstance(vega_spec_name, str) or not vega_spec_name:
        raise ValueError("vega_spec_name must be a chart id such as 'wandb/line/v0'")
    missing = sorted(str(col) for col in fields.values() if col is not None and col not in data_table.columns)
    if missing:
        raise ValueError(
            f"fields name columns {missing} that the table does not have; its columns: {data_table.columns}"
        )
    return CustomChart(data_table, vega_spec_name, fields, string_fields, split_table)


register_media_type(CustomChart)
