"""``trackwell.Object3D``: W&B's ``wandb.Object3D``; point clouds become ``.pts.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, copy_file, write_file

SUFFIXES = (".obj", ".gltf", ".glb", ".babylon", ".stl", ".pts.json")


class Object3D(Media):
    """A 3-D object: a numpy point cloud ``(N, 3)`` (xyz), ``(N, 4)`` (xyz, category)
    or ``(N, 6)`` (xyz, rgb), a W&B point-cloud scene dict, or a file
    (.obj, .gltf, .glb, .babylon, .stl, .pts.json)."""

    _type = "object3D-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, file_type: str | None = None) -> None:
        self.caption = None if caption is None else str(caption)
        self._path: Path | None = None
        self._scene: Any = None  # JSON-able: a list of points, or a scene dict
        self._file: tuple[bytes, str] | None = None  # a file object's or a record's: (bytes, ".glb")
        if hasattr(data_or_path, "read"):  # an open file: W&B needs its file_type ("obj", "glb")
            suffix = "." + str(file_type or "").lower().lstrip(".")
            if suffix not in SUFFIXES:
                raise ValueError(
                    "trackwell.Object3D: pass file_type= (one of "
                    f"{', '.join(s.lstrip('.') for s in SUFFIXES)}) with a file object"
                )
            data = data_or_path.read()
            self._file = (data.encode("utf-8") if isinstance(data, str) else bytes(data), suffix)
            if suffix == ".pts.json":  # a point cloud: parsed, so points() works as for a path
                self._scene, self._file = json.loads(self._file[0]), None
        elif isinstance(data_or_path, (str, os.PathLike)):
            self._path = _util.existing_file(data_or_path, "trackwell.Object3D")
            if not self._path.name.lower().endswith(SUFFIXES):
                raise ValueError(
                    f"trackwell.Object3D: {str(self._path)!r} is not one of {', '.join(SUFFIXES)}"
                )
        elif isinstance(data_or_path, Mapping):
            if data_or_path.get("type") != "lidar/beta" or "points" not in data_or_path:
                raise ValueError(
                    "trackwell.Object3D: a dict must be a scene {'type': 'lidar/beta', 'points': ...}"
                )
            scene = dict(data_or_path)
            scene["points"] = _points(_util.to_numpy(scene["points"], "trackwell.Object3D"))
            self._scene = json.loads(json.dumps(scene, default=_plain))
        else:
            self._scene = _points(_util.to_numpy(data_or_path, "trackwell.Object3D"))

    @classmethod
    def from_file(cls, data_or_path: Any, file_type: str | None = None) -> Object3D:
        """W&B's ``Object3D.from_file``: a path, or an open file with its ``file_type``."""
        return cls(data_or_path, file_type=file_type)

    @classmethod
    def from_numpy(cls, data: Any) -> Object3D:
        """W&B's ``Object3D.from_numpy``: a point cloud ``(N, 3)``, ``(N, 4)`` or ``(N, 6)``."""
        if isinstance(data, (str, os.PathLike, Mapping)) or hasattr(data, "read"):
            raise TypeError(f"trackwell.Object3D.from_numpy takes an array, got {type(data).__name__}")
        return cls(data)

    @classmethod
    def from_point_cloud(
        cls,
        points: Any,
        boxes: Sequence[Mapping[str, Any]] = (),
        vectors: Sequence[Mapping[str, Any]] = (),
        point_cloud_type: str = "lidar/beta",
    ) -> Object3D:
        """A scene: points plus ``boxes`` (``{"corners": 8 x [x, y, z], "label", "color"}``)
        and ``vectors`` (``{"start": [x, y, z], "end": [x, y, z]}``), as in W&B."""
        return cls(
            {"type": point_cloud_type, "points": points, "boxes": list(boxes), "vectors": list(vectors)}
        )

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        if self._path is not None:
            name = self._path.name.lower()
            suffix = ".pts.json" if name.endswith(".pts.json") else self._path.suffix.lower()
            record = copy_file(ctx, self._type, self._path, "object3D", suffix)
        elif self._file is not None:
            record = write_file(ctx, self._type, self._file[0], "object3D", self._file[1])
        else:
            data = json.dumps(self._scene, separators=(",", ":")).encode("utf-8")
            record = write_file(ctx, self._type, data, "object3D", ".pts.json")
        if self.caption is not None:
            record["caption"] = self.caption
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Object3D:
        """The object a record names: a ``.pts.json`` point cloud is parsed (``points()``);
        a mesh file (.obj, .gltf, .glb, .babylon, .stl) is kept as its bytes and format
        (``file_bytes()``, ``format``), and logging it again stores it unchanged."""
        path = str(record["path"])
        name = path.lower()
        suffix = next((s for s in SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            raise ValueError(f"trackwell.Object3D.from_record: {path!r} is not one of {', '.join(SUFFIXES)}")
        out = cls.__new__(cls)
        out.caption, out._path, out._scene, out._file = record.get("caption"), None, None, None
        data = read(path)
        if suffix == ".pts.json":
            out._scene = json.loads(data)
        else:
            out._file = (data, suffix)
        return out

    @property
    def format(self) -> str:
        """``"pts.json"`` for a point cloud, else the mesh file's extension (``"glb"``)."""
        if self._file is not None:
            return self._file[1].lstrip(".")
        if self._path is not None:
            name = self._path.name.lower()
            return "pts.json" if name.endswith(".pts.json") else self._path.suffix.lower().lstrip(".")
        return "pts.json"

    def file_bytes(self) -> bytes:
        """The file's bytes as they would be logged (a point cloud as its ``.pts.json``)."""
        if self._path is not None:
            return self._path.read_bytes()
        if self._file is not None:
            return self._file[0]
        return json.dumps(self._scene, separators=(",", ":")).encode("utf-8")

    def points(self) -> Any:
        """The point cloud as a numpy array (a mesh file has none: ValueError)."""
        from trackwell.media.base import require

        if self._scene is None:
            raise ValueError(
                f"trackwell.Object3D: a .{self.format} mesh has no point cloud; file_bytes() gives the file"
            )
        np = require("numpy", "trackwell.Object3D")
        pts = self._scene["points"] if isinstance(self._scene, dict) else self._scene
        return np.asarray(pts, dtype=np.float64)


def _points(arr: Any) -> list[list[float]]:
    if arr.ndim != 2 or arr.shape[1] not in (3, 4, 6):
        raise ValueError(
            f"trackwell.Object3D: a point cloud must be (N, 3), (N, 4) or (N, 6), got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"trackwell.Object3D: points must be numbers, got dtype {arr.dtype}")
    points: list[list[float]] = arr.tolist()
    return points


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"trackwell.Object3D: cannot store {type(obj).__name__} in a scene")
