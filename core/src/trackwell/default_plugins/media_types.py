"""The built-in media types, registered through ``register_media_types`` like a plugin's.

Each by import path (``"module:Class"``), imported the first time a record of its
type is read back: registering them costs no import, so neither does reading plain
history (and ``import trackwell`` stays free of every media module).
"""

from __future__ import annotations

from collections.abc import Callable

from trackwell.plugins import hookimpl

#: a record's ``_type`` -> the class that reads it back
BUILT_IN_TYPES: dict[str, str] = {
    "image-file": "trackwell.media.image:Image",
    "images/separated": "trackwell.media.image:Image",
    "audio-file": "trackwell.media.audio:Audio",
    "video-file": "trackwell.media.video:Video",
    "histogram": "trackwell.media.histogram:Histogram",
    "html-file": "trackwell.media.html:Html",
    "object3D-file": "trackwell.media.object3d:Object3D",
    "plotly-file": "trackwell.media.plotly:Plotly",
    "molecule-file": "trackwell.media.molecule:Molecule",
    "table-file": "trackwell.table.table:Table",
    "incremental-table-file": "trackwell.table.table:Table",
    "joined-table": "trackwell.table.joined:JoinedTable",
    "partitioned-table": "trackwell.table.partitioned:PartitionedTable",
    "plot-table": "trackwell.plot.custom_chart:CustomChart",
}


@hookimpl(trylast=True)
def register_media_types(register: Callable[..., None]) -> None:
    for type_name, path in BUILT_IN_TYPES.items():
        register(type_name, path)
