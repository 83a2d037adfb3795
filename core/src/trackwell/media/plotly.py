"""``trackwell.Plotly``: a plotly figure stored as its JSON (W&B's ``wandb.Plotly``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, require, write_file


class Plotly(Media):
    """A plotly figure (``plotly.graph_objects.Figure`` or its dict form).

    The JSON is taken in the constructor, since the figure may change after ``log()``.
    """

    _type = "plotly-file"

    def __init__(self, val: Any) -> None:
        if _util.is_matplotlib_figure(val):
            tools = require("plotly.tools", "trackwell.Plotly from a matplotlib figure", "plotly")
            val = tools.mpl_to_plotly(val)
        if _util.is_plotly_figure(val):
            self.json = val.to_json()
        elif isinstance(val, Mapping):
            self.json = json.dumps(val)
        else:
            raise TypeError(f"trackwell.Plotly takes a plotly figure or its dict, got {type(val).__name__}")

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        return write_file(ctx, self._type, self.json.encode("utf-8"), "plotly", ".plotly.json")

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Plotly:
        return cls(json.loads(read(record["path"])))

    def figure(self) -> dict[str, Any]:
        """The figure as plain data (``{"data": [...], "layout": {...}}``)."""
        out: dict[str, Any] = json.loads(self.json)
        return out
