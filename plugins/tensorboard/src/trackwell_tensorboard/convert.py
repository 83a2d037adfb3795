"""TensorBoard summary values -> what a trackwell history row holds today.

- scalars (legacy ``simple_value`` and TF2 scalar tensors) -> numbers under the tag;
- text -> the string under the tag (without the ``/text_summary`` PyTorch adds);
- histograms (legacy ``HistogramProto`` and TF2 ``histograms`` tensors) -> summary
  statistics as numbers: ``<tag>.min``, ``.max``, ``.mean``, ``.std``, ``.count``;
- images and audio -> the encoded file saved into the run (``files/media/tensorboard/``
  through ``run.save``), its path under the tag;
- hyperparameters (``add_hparams``) -> the run's config.

When trackwell's media types land, histograms become ``trackwell.Histogram`` and images
``trackwell.Image`` under the tag itself; the keys above stay as they are.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from trackwell_tensorboard.events import DT_STRING, Event, Histogram, Value, hparams


@dataclass
class MediaFile:
    """An encoded image or audio clip to save into the run."""

    key: str
    name: str  # file name under media/tensorboard/
    data: bytes


@dataclass
class Converted:
    values: dict[str, Any] = field(default_factory=dict)
    media: list[MediaFile] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # hyperparameters (add_hparams)
    skipped: Counter[str] = field(default_factory=Counter)  # plugin or kind -> count


def _histogram_stats(key: str, h: Histogram) -> dict[str, float]:
    count = h.num
    mean = h.sum / count if count else 0.0
    var = max(0.0, h.sum_squares / count - mean * mean) if count else 0.0
    return {
        f"{key}.min": h.min,
        f"{key}.max": h.max,
        f"{key}.mean": mean,
        f"{key}.std": math.sqrt(var),
        f"{key}.count": count,
    }


def _tensor_histogram(key: str, values: list[Any]) -> dict[str, float]:
    """TF2 histograms: a k×3 tensor of (left edge, right edge, count)."""
    buckets = [values[i : i + 3] for i in range(0, len(values) - 2, 3)]
    count = sum(c for _, _, c in buckets)
    if not buckets or not count:
        return {f"{key}.count": 0.0}
    mids = [((lo + hi) / 2, c) for lo, hi, c in buckets]
    mean = sum(m * c for m, c in mids) / count
    var = sum(c * (m - mean) ** 2 for m, c in mids) / count
    filled = [(lo, hi) for lo, hi, c in buckets if c]
    return {
        f"{key}.min": float(filled[0][0]),
        f"{key}.max": float(filled[-1][1]),
        f"{key}.mean": mean,
        f"{key}.std": math.sqrt(var),
        f"{key}.count": float(count),
    }


def _extension(data: bytes, content_type: str = "") -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data.startswith(b"GIF8"):
        return "gif"
    if data.startswith(b"RIFF"):
        return "wav"
    return content_type.rsplit("/", 1)[-1] if "/" in content_type else "bin"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "value"


def _text(values: list[Any]) -> str:
    parts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
    return "\n".join(parts)


def convert_value(value: Value, step: int, prefix: str, out: Converted) -> None:
    key = f"{prefix}/{value.tag}" if prefix else value.tag
    if value.plugin == "hparams":
        # experiment / session_end_info only describe the session: nothing to log
        out.config.update(hparams(value.plugin_content))
    elif value.simple_value is not None:
        out.values[key] = value.simple_value
    elif value.histo is not None:
        out.values.update(_histogram_stats(key, value.histo))
    elif value.image is not None:
        data = value.image.encoded
        name = f"{_safe(key)}_{step}.{_extension(data)}"
        out.media.append(MediaFile(key, name, data))
    elif value.audio is not None:
        data = value.audio.encoded
        name = f"{_safe(key)}_{step}.{_extension(data, value.audio.content_type)}"
        out.media.append(MediaFile(key, name, data))
    elif value.tensor is not None:
        _convert_tensor(key, value, step, out)
    else:
        out.skipped[value.plugin or "unknown"] += 1


def _convert_tensor(key: str, value: Value, step: int, out: Converted) -> None:
    t = value.tensor
    assert t is not None
    plugin = value.plugin
    if plugin == "text" or (t.dtype == DT_STRING and plugin in ("", "text")):
        # torch.utils.tensorboard and tensorboardX name add_text("notes") "notes/text_summary"
        out.values[key.removesuffix("/text_summary")] = _text(t.values)
    elif plugin == "histograms":
        out.values.update(_tensor_histogram(key, t.values))
    elif plugin == "images" and t.dtype == DT_STRING and len(t.values) > 2:
        # [width, height, image, image, ...]: one file per image in the batch
        for i, data in enumerate(t.values[2:]):
            suffix = f"_{i}" if len(t.values) > 3 else ""
            out.media.append(MediaFile(key, f"{_safe(key)}_{step}{suffix}.{_extension(data)}", data))
    elif plugin in ("", "scalars") and len(t.values) == 1 and not isinstance(t.values[0], bytes):
        out.values[key] = t.values[0]
    else:
        out.skipped[plugin or "tensor"] += 1


def convert_event(event: Event, prefix: str = "") -> Converted:
    """The values of one event, keyed ``<prefix>/<tag>`` (no prefix: the tag alone)."""
    out = Converted()
    for value in event.values:
        convert_value(value, event.step, prefix, out)
    return out
