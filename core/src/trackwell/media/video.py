"""``trackwell.Video``: W&B's ``wandb.Video``; arrays are encoded in ``to_record``.

GIF goes through Pillow; mp4, webm and ogg through PyAV, whose wheels ship FFmpeg, so
nothing outside pip is needed.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, copy_file, require, write_file

FORMATS = ("gif", "mp4", "webm", "ogg")
_CODECS = {  # format -> (container, encoder, pixel format); theora is not in the av wheels: VP8 in ogg
    "mp4": ("mp4", "libx264", "yuv420p"),
    "webm": ("webm", "libvpx", "yuv420p"),
    "ogg": ("ogg", "libvpx", "yuv420p"),
}


class Video(Media):
    """A video from a ``(T, C, H, W)`` array (or ``(N, T, C, H, W)``, tiled into a grid)
    of uint8 (or floats in [0, 1]), with ``fps`` and ``format``; or from a file path."""

    _type = "video-file"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,
    ) -> None:
        self.caption = None if caption is None else str(caption)
        self.fps = 4 if fps is None else fps
        if not isinstance(self.fps, (int, float)) or self.fps <= 0:
            raise ValueError(f"trackwell.Video: fps must be a positive number, got {fps!r}")
        self._path: Path | None = None
        self._frames: Any = None  # (T, H, W, C) uint8
        if isinstance(data_or_path, (str, os.PathLike)):
            self._path = _util.existing_file(data_or_path, "trackwell.Video")
            self.format = self._path.suffix.lower().lstrip(".")
            if self.format not in FORMATS:
                raise ValueError(f"trackwell.Video: {str(self._path)!r} is not one of {', '.join(FORMATS)}")
            return
        self.format = (format or "gif").lower()
        if self.format not in FORMATS:
            raise ValueError(f"trackwell.Video: format must be one of {', '.join(FORMATS)}, got {format!r}")
        self._frames = _frames(_util.to_numpy(data_or_path, "trackwell.Video"))

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        if self._path is not None:
            record = copy_file(ctx, self._type, self._path, "videos", "." + self.format)
        else:
            data = (
                _gif(self._frames, self.fps)
                if self.format == "gif"
                else _av(self._frames, self.fps, self.format)
            )
            record = write_file(ctx, self._type, data, "videos", "." + self.format)
            record.update(width=int(self._frames.shape[2]), height=int(self._frames.shape[1]))
        record["format"] = self.format
        if self.caption is not None:
            record["caption"] = self.caption
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Video:
        frames = decode(read(record["path"]))
        return cls(frames.transpose(0, 3, 1, 2), caption=record.get("caption"), format=record.get("format"))


def _frames(arr: Any) -> Any:
    np = require("numpy", "trackwell.Video")
    if arr.ndim == 5:
        arr = _tile(arr)
    if arr.ndim != 4 or arr.shape[1] not in (1, 3, 4) or 0 in arr.shape:
        raise ValueError(
            "trackwell.Video: arrays must be (T, C, H, W) or (N, T, C, H, W) with C in 1, 3, 4; "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ValueError("trackwell.Video: float frames must hold values in [0, 1]")
        arr = (arr * 255.0 + 0.5).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise TypeError(f"trackwell.Video: frames must be uint8 or floats in [0, 1], got dtype {arr.dtype}")
    arr = arr.transpose(0, 2, 3, 1)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        arr = arr[..., :3]
    return np.ascontiguousarray(arr)


def _tile(arr: Any) -> Any:
    """(N, T, C, H, W) -> (T, C, rows*H, cols*W), as W&B lays out a batch of videos."""
    np = require("numpy", "trackwell.Video")
    n, t, c, h, w = arr.shape
    cols = 1 << max(0, (n - 1).bit_length() // 2) if n > 1 else 1
    rows = -(-n // cols)
    pad = np.zeros((rows * cols - n, t, c, h, w), dtype=arr.dtype)
    arr = np.concatenate([arr, pad]).reshape(rows, cols, t, c, h, w)
    return arr.transpose(2, 3, 0, 4, 1, 5).reshape(t, c, rows * h, cols * w)


def _gif(frames: Any, fps: float) -> bytes:
    pil = require("PIL.Image", "trackwell.Video (gif)", "pillow")
    images = [pil.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(
        buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0
    )
    return buf.getvalue()


def _av(frames: Any, fps: float, fmt: str) -> bytes:
    av = require("av", f"trackwell.Video ({fmt})")
    container_format, codec, pix_fmt = _CODECS[fmt]
    h, w = frames.shape[1:3]
    even = frames[:, : h - h % 2, : w - w % 2]  # yuv420p needs even sizes
    buf = io.BytesIO()
    from fractions import Fraction

    with av.open(buf, mode="w", format=container_format) as out:
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = even.shape[2], even.shape[1]
        stream.pix_fmt = pix_fmt
        for frame in even:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def decode(data: bytes) -> Any:
    """Frames of an encoded video as a (T, H, W, 3) uint8 array (tests, from_record)."""
    np = require("numpy", "trackwell.Video")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        pil = require("PIL.Image", "trackwell.Video", "pillow")
        img = pil.open(io.BytesIO(data))
        out = []
        for i in range(getattr(img, "n_frames", 1)):
            img.seek(i)
            out.append(np.asarray(img.convert("RGB")))
        return np.stack(out)
    av = require("av", "trackwell.Video")
    with av.open(io.BytesIO(data)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
