"""``trackwell.data_types``: W&B's ``wandb.data_types`` module, the types ``log()`` and
artifacts store, under the names W&B code imports them by
(``from wandb.data_types import PartitionedTable``). Each loads on first use."""

from __future__ import annotations

from trackwell.lazy import lazy_exports

_EXPORTS = {
    "Audio": ("media.audio", "Audio"),
    "Histogram": ("media.histogram", "Histogram"),
    "Html": ("media.html", "Html"),
    "Image": ("media.image", "Image"),
    "JoinedTable": ("table.joined", "JoinedTable"),
    "Molecule": ("media.molecule", "Molecule"),
    "Object3D": ("media.object3d", "Object3D"),
    "PartitionedTable": ("table.partitioned", "PartitionedTable"),
    "Plotly": ("media.plotly", "Plotly"),
    "Table": ("table.table", "Table"),
    "Video": ("media.video", "Video"),
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports("trackwell", globals(), _EXPORTS, __all__)
