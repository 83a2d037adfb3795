"""``trackwell.Image``: W&B's ``wandb.Image``, with masks, boxes and captions.

The constructor validates and snapshots on the caller's thread (array copied, tensor
moved to the CPU, figure rendered); the PNG is encoded by ``to_record`` on the
writer thread.
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, copy_file, require, write_file

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP"}
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_POSITION_KEYS = ({"minX", "maxX", "minY", "maxY"}, {"middle", "width", "height"})


class Image(Media):
    """An image to log: numpy array, PIL image, torch tensor, file path or matplotlib figure.

    Arrays may be ``HW``, ``HWC`` or ``CHW`` with 1, 3 or 4 channels: ``uint8`` as is,
    other numbers normalised as W&B does (floats in [0, 1] or [-1, 1] scaled to 0-255,
    larger values taken as 0-255 and clipped). ``masks``, ``boxes`` and ``classes``
    follow W&B's formats.
    """

    _type = "image-file"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        self.caption = None if caption is None else str(caption)
        self.grouping = grouping
        self.mode = mode
        self.file_type = (file_type or "png").lower().lstrip(".")
        if self.file_type not in FORMATS:
            raise ValueError(f"Image file_type must be one of {', '.join(FORMATS)}, got {file_type!r}")
        self._array: Any = None  # uint8 HWC/HW
        self._pil: Any = None
        self._path: Path | None = None
        self._png: bytes | None = None  # a rendered figure
        self._take(data_or_path, normalize)
        self.masks = _masks(masks) if masks else {}
        self.boxes = _boxes(boxes) if boxes else {}
        self.classes = _classes(classes)

    def _take(self, data: Any, normalize: bool) -> None:
        if isinstance(data, Image):
            self._array, self._pil, self._path, self._png = data._array, data._pil, data._path, data._png
            self.file_type = data.file_type
        elif isinstance(data, (str, os.PathLike)):
            self._path = _util.existing_file(data, "trackwell.Image")
            suffix = self._path.suffix.lower().lstrip(".")
            if suffix not in FORMATS:
                raise ValueError(
                    f"trackwell.Image: {str(self._path)!r} is not an image file ({', '.join(FORMATS)})"
                )
            self.file_type = suffix
        elif _util.is_pil(data):
            data.load()
            self._pil = data.copy()
        elif _util.is_matplotlib_figure(data):
            buf = io.BytesIO()
            data.savefig(buf, format="png")
            self._png = buf.getvalue()
            self.file_type = "png"
        elif _util.is_torch(data) or _util.is_numpy(data) or isinstance(data, (list, tuple)):
            chw = _util.is_torch(data)  # torch images are CHW, as in torchvision
            self._array = _to_uint8(_util.to_numpy(data, "trackwell.Image"), normalize, chw)
        else:
            raise TypeError(
                "trackwell.Image takes a numpy array, torch tensor, PIL image, matplotlib figure "
                f"or file path, got {type(data).__module__}.{type(data).__qualname__}"
            )

    def _pil_image(self) -> Any:
        pil = require("PIL.Image", "trackwell.Image", "pillow")
        if self._pil is not None:
            img = self._pil
        elif self._array is not None:
            img = pil.fromarray(self._array)
        elif self._png is not None:
            img = pil.open(io.BytesIO(self._png))
        else:
            assert self._path is not None
            img = pil.open(self._path)
        if self.mode is not None and img.mode != self.mode:
            img = img.convert(self.mode)
        return img

    def _encode(self) -> tuple[bytes, int, int]:
        if self._png is not None and self.mode is None and self.file_type == "png":
            img = self._pil_image()
            return self._png, img.width, img.height
        img = self._pil_image()
        fmt = FORMATS[self.file_type]
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        buf = io.BytesIO()
        img.save(buf, format=fmt, **({"compress_level": 1} if fmt == "PNG" else {}))
        return buf.getvalue(), img.width, img.height

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        if self._path is not None and self.mode is None:
            img = self._pil_image()
            record = copy_file(ctx, self._type, self._path, "images", "." + self.file_type)
            width, height = img.width, img.height
        else:
            data, width, height = self._encode()
            record = write_file(ctx, self._type, data, "images", "." + self.file_type)
        record.update(format=self.file_type, width=width, height=height)
        if self.caption is not None:
            record["caption"] = self.caption
        if self.grouping is not None:
            record["grouping"] = self.grouping
        if self.masks:
            record["masks"] = {name: _mask_record(ctx, mask) for name, mask in self.masks.items()}
        if self.boxes:
            record["boxes"] = copy.deepcopy(self.boxes)
        if self.classes:
            record["classes"] = self.classes
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Image:
        pil = require("PIL.Image", "trackwell.Image", "pillow")
        img = pil.open(io.BytesIO(read(record["path"])))
        img.load()
        masks = {}
        for name, mask in (record.get("masks") or {}).items():
            np = require("numpy", "trackwell.Image")
            data = np.asarray(pil.open(io.BytesIO(read(mask["path"]))))
            labels = {int(k): v for k, v in (mask.get("class_labels") or {}).items()}
            masks[name] = {"mask_data": data, "class_labels": labels}
        out = cls(img, caption=record.get("caption"), masks=masks or None, boxes=record.get("boxes"))
        out.file_type = record.get("format", "png")
        return out

    @classmethod
    def list_record(cls, values: list[Any], ctx: MediaContext) -> Any:
        """A list of images under one key is one record, W&B's ``images/separated``
        (a list that mixes in other values is a list of records, as for any type)."""
        if not all(isinstance(v, Image) for v in values):
            return super().list_record(values, ctx)
        items = [img.to_record(ctx) for img in values]
        return {"_type": "images/separated", "count": len(items), "items": items}

    @property
    def image(self) -> Any:
        """The image as a PIL image (W&B's ``Image.image``, a property there too)."""
        return self._pil_image()


def _to_uint8(arr: Any, normalize: bool, chw: bool = False) -> Any:
    """A ``uint8`` array of shape HW or HWC (C in 1, 3, 4), or a clear error.

    A 3-D array is CHW when its first axis is a channel count and its last is not
    (or, for torch tensors, whenever its first axis is a channel count).
    """
    np = require("numpy", "trackwell.Image")
    if arr.dtype == object:  # numbers held as Python objects (a pandas column's values): their own dtype
        numbers = np.array(arr.tolist())
        if numbers.shape != arr.shape or numbers.dtype.kind not in "fiub":
            raise TypeError("trackwell.Image: an object array must hold numbers only, one per pixel value")
        arr = numbers
    if arr.ndim == 3 and arr.shape[0] in _MODES and (chw or arr.shape[-1] not in _MODES):
        arr = np.ascontiguousarray(arr.transpose(1, 2, 0))  # CHW -> HWC
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in _MODES) or 0 in arr.shape:
        raise ValueError(
            f"trackwell.Image: an array must be HW, HWC or CHW with 1, 3 or 4 channels, got shape {arr.shape}"
        )
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"trackwell.Image: arrays must hold numbers, got dtype {arr.dtype}")
    if not normalize:
        raise ValueError(
            f"trackwell.Image: a {arr.dtype} array needs normalize=True (or pass uint8 or a PIL image)"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("trackwell.Image: the float array holds NaN or infinite values")
    return _normalized(np, arr.astype(np.float64))


def _normalized(np: Any, arr: Any) -> Any:
    """W&B's rule for pixel values (``wandb.Image(normalize=True)``): an array with negative
    values is first stretched to [0, 1] (its min to 0, its max to 1); then an array whose
    max is at most 1 is scaled by 255, and any other is taken as 0-255 already; values
    outside 0-255 are clipped. So floats in [0, 1], in [-1, 1] and in [0, 255] all work.
    """
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0:
        arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        hi = 1.0 if hi > lo else 0.0
    if hi <= 1.0:
        arr = arr * 255.0
    return (np.clip(arr, 0.0, 255.0) + 0.5).astype(np.uint8)


def _masks(masks: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(masks, Mapping):
        raise TypeError(
            f"trackwell.Image: masks must be a dict of {{name: mask}}, got {type(masks).__name__}"
        )
    out = {}
    for name, mask in masks.items():
        what = f"trackwell.Image mask {name!r}"
        if isinstance(mask, Image):
            mask = {"mask_data": mask._array}
        if not isinstance(mask, Mapping) or ("mask_data" not in mask and "path" not in mask):
            raise ValueError(f"{what}: needs 'mask_data' (an HxW integer array) or 'path'")
        labels = _util.plain_labels(mask.get("class_labels"), what)
        if "path" in mask:
            out[str(name)] = {"path": _util.existing_file(mask["path"], what), "class_labels": labels}
            continue
        np = require("numpy", what)
        data = _util.to_numpy(mask["mask_data"], what)
        if data.ndim != 2:
            raise ValueError(f"{what}: mask_data must be a 2D (HxW) array, got shape {data.shape}")
        if data.dtype.kind not in "iub":
            raise TypeError(f"{what}: mask_data must hold integer class ids, got dtype {data.dtype}")
        if data.size and (int(data.min()) < 0 or int(data.max()) > 255):
            raise ValueError(f"{what}: class ids must be in 0..255, got {int(data.min())}..{int(data.max())}")
        data = data.astype(np.uint8)
        if labels:
            unknown = sorted(set(np.unique(data).tolist()) - {int(k) for k in labels})
            if unknown:
                raise ValueError(
                    f"{what}: mask_data holds class ids {unknown} that are not in class_labels "
                    f"({sorted(int(k) for k in labels)})"
                )
        out[str(name)] = {"mask_data": data, "class_labels": labels}
    return out


def _mask_record(ctx: MediaContext, mask: dict[str, Any]) -> dict[str, Any]:
    if "path" in mask:
        record = copy_file(ctx, "mask", mask["path"], "images/mask", mask["path"].suffix or ".png")
    else:
        pil = require("PIL.Image", "trackwell.Image", "pillow")
        buf = io.BytesIO()
        pil.fromarray(mask["mask_data"]).save(buf, format="PNG", compress_level=1)
        record = write_file(ctx, "mask", buf.getvalue(), "images/mask", ".png")
    record["format"] = "png"
    if mask["class_labels"]:
        record["class_labels"] = mask["class_labels"]
    return record


def _boxes(boxes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(boxes, Mapping):
        raise TypeError(
            f"trackwell.Image: boxes must be a dict of {{name: boxes}}, got {type(boxes).__name__}"
        )
    out = {}
    for name, group in boxes.items():
        what = f"trackwell.Image boxes {name!r}"
        if not isinstance(group, Mapping) or not isinstance(group.get("box_data"), (list, tuple)):
            raise ValueError(f"{what}: needs 'box_data', a list of boxes")
        labels = _util.plain_labels(group.get("class_labels"), what)
        items = []
        for i, box in enumerate(group["box_data"]):
            items.append(_box(box, f"{what} box {i}"))
        out[str(name)] = {"box_data": items, "class_labels": labels}
    return out


def _box(box: Any, what: str) -> dict[str, Any]:
    if not isinstance(box, Mapping) or not isinstance(box.get("position"), Mapping):
        raise ValueError(f"{what}: needs a 'position' dict")
    pos = box["position"]
    if set(pos) not in _POSITION_KEYS:
        raise ValueError(
            f"{what}: position must have keys minX, maxX, minY, maxY or middle, width, height; "
            f"got {sorted(pos)}"
        )
    try:
        position: dict[str, Any] = {
            k: [float(x) for x in v] if k == "middle" else float(v) for k, v in pos.items()
        }
    except (TypeError, ValueError):
        raise ValueError(f"{what}: position values must be numbers (middle: [x, y])") from None
    if "middle" in position and len(position["middle"]) != 2:
        raise ValueError(f"{what}: middle must be [x, y]")
    out: dict[str, Any] = {"position": position}
    if "class_id" in box:
        out["class_id"] = int(box["class_id"])
    if box.get("domain") is not None:
        if box["domain"] != "pixel":
            raise ValueError(f"{what}: domain must be 'pixel' or omitted (fractions), got {box['domain']!r}")
        out["domain"] = "pixel"
    if box.get("box_caption") is not None:
        out["box_caption"] = str(box["box_caption"])
    if box.get("scores"):
        out["scores"] = {str(k): float(v) for k, v in box["scores"].items()}
    return out


def _classes(classes: Any) -> list[dict[str, Any]]:
    """W&B's ``classes``: a list of ``{"id": int, "name": str}`` (or a ``{id: name}`` dict)."""
    if classes is None:
        return []
    if isinstance(classes, Mapping):
        return [{"id": int(k), "name": str(v)} for k, v in classes.items()]
    out = []
    for c in classes:
        if not isinstance(c, Mapping) or "id" not in c:
            raise ValueError(f"trackwell.Image: classes must be dicts with 'id' and 'name', got {c!r}")
        out.append({"id": int(c["id"]), "name": str(c.get("name", c["id"]))})
    return out
