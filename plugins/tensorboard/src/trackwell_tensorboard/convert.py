"""TensorBoard summary values -> what a trackwell history row holds, named as W&B names them.

W&B's ``sync_tensorboard`` (``wandb/integration/tensorboard/log.py``) is the contract:

- scalars (legacy ``simple_value`` and TF2 scalar tensors) -> numbers under the tag;
- histograms (legacy ``HistogramProto`` and TF2 ``histograms`` tensors) ->
  ``trackwell.Histogram`` under the tag, its counts the buckets' counts;
- images (``Summary.Image`` and TF2 ``images`` tensors) -> a list of ``trackwell.Image``
  under the tag with ``/`` replaced by ``_`` (W&B's ``history_image_key``); TF1's
  ``name/image/0``, ``name/image/1`` join one list under ``name_image``; GIFs
  (``add_video``) become ``trackwell.Video``;
- PR curves (``add_pr_curve``) -> a ``wandb/line/v0`` chart of a recall/precision table;
- text -> the string under the tag (without the ``/text_summary`` PyTorch adds);
  W&B drops text, a string costs nothing and is what people look for;
- audio -> ``trackwell.Audio`` under the tag (W&B has it "coming soon");
- hyperparameters (``add_hparams``) -> the run's config.

Decoding a PNG (PIL) or a WAV happens here, on the thread that converts (the writer's,
when syncing, as in W&B); encoding the media files is left to trackwell's writer thread.
"""

from __future__ import annotations

import io
import logging
import re
import wave
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from trackwell_tensorboard.events import DT_STRING, Event, Histogram, Value, hparams

logger = logging.getLogger("trackwell.tensorboard")

#: trackwell.Histogram takes at most this many bins; wider histograms are merged down.
MAX_BINS = 512


@dataclass
class MediaFile:
    """Encoded bytes a media type only takes from a file (a GIF, a non-PCM audio clip):
    staged in the run directory by ``importer.save_media``, which makes the object."""

    key: str
    name: str  # file name in the staging folder
    data: bytes
    kind: str  # "video" or "audio"
    sample_rate: int | None = None


@dataclass
class Converted:
    values: dict[str, Any] = field(default_factory=dict)
    media: list[MediaFile] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # hyperparameters (add_hparams)
    skipped: Counter[str] = field(default_factory=Counter)  # plugin or kind -> count

    made: int = 0  # media objects made (each image of a list counts)

    def count_media(self) -> int:
        """Media objects in the values plus files still to stage."""
        return self.made + len(self.media)


def namespaced(tag: str, prefix: str) -> str:
    """W&B's ``namespaced_tag``: ``<prefix>/<tag>``, the tag alone without a prefix."""
    return f"{prefix}/{tag}" if prefix else tag


def image_key(tag: str, prefix: str) -> str:
    """W&B's ``history_image_key``: slashes in an image's tag become underscores."""
    return namespaced(re.sub(r"[/\\]", "_", tag), prefix)


def _merged(counts: list[float], bins: list[float]) -> tuple[list[float], list[float]]:
    """At most MAX_BINS bins, neighbours summed (the total count is unchanged)."""
    if len(counts) <= MAX_BINS:
        return counts, bins
    width = -(-len(counts) // MAX_BINS)
    merged = [sum(counts[i : i + width]) for i in range(0, len(counts), width)]
    edges = bins[::width]
    if len(edges) == len(merged):
        edges.append(bins[-1])
    return merged, edges


def legacy_histogram(h: Histogram) -> tuple[list[float], list[float]] | None:
    """(counts, bin edges) of a ``HistogramProto``, as W&B computes them.

    TensorBoard stores each bucket's right edge only; W&B takes the first bucket's
    left edge and the last bucket's right edge (DBL_MAX for TensorFlow) as the
    neighbouring bucket widths extended. Fewer than 3 buckets: nothing to draw (W&B
    skips them too).
    """
    limits = h.bucket_limit
    if len(limits) < 3 or len(h.bucket) != len(limits):
        return None
    first = limits[0] + limits[0] - limits[1]
    last = limits[-2] + limits[-2] - limits[-3]
    return _merged(list(h.bucket), [first, *limits[:-1], last])


def tensor_histogram(values: list[Any]) -> tuple[list[float], list[float]] | None:
    """(counts, bin edges) of a TF2 histogram: a k×3 tensor of (left, right, count)."""
    rows = [values[i : i + 3] for i in range(0, len(values) - 2, 3)]
    if not rows:
        return None
    counts = [float(c) for _, _, c in rows]
    bins = [float(rows[0][0])] + [float(hi) for _, hi, _ in rows]
    return _merged(counts, bins)


def _histogram(key: str, pair: tuple[list[float], list[float]] | None, out: Converted) -> None:
    import trackwell

    if pair is None:
        out.skipped["histograms (fewer than 3 buckets)"] += 1
        return
    out.values[key] = trackwell.Histogram(np_histogram=pair)
    out.made += 1


def _images(tag: str, prefix: str, encoded: list[bytes], step: int, out: Converted) -> None:
    """W&B's ``encode_images``: a list under the image key, GIFs as videos."""
    from PIL import Image as PILImage

    import trackwell

    images: list[Any] = []
    base, _, index = tag.rpartition("/")
    key = image_key(base, prefix) if base and index.isdigit() else image_key(tag, prefix)
    for data in encoded:
        if data.startswith(b"GIF"):
            n = len(out.media)
            out.media.append(MediaFile(key, f"{_safe(key)}_{step}_{n}.gif", data, "video"))
        else:
            images.append(trackwell.Image(PILImage.open(io.BytesIO(data))))
    if images:
        out.made += len(images)
        previous = out.values.get(key)
        out.values[key] = (previous if isinstance(previous, list) else []) + images


def _audio(key: str, data: bytes, rate: float, content_type: str, step: int, out: Converted) -> None:
    """16-bit PCM WAV (what torch, tensorboardX and TensorFlow write) -> samples, no file;
    anything else is staged as a file, its bytes unchanged."""
    import trackwell

    if data.startswith(b"RIFF"):
        try:
            with wave.open(io.BytesIO(data), "rb") as w:
                if w.getsampwidth() == 2:
                    import numpy as np

                    samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
                    if w.getnchannels() > 1:
                        samples = samples.reshape(-1, w.getnchannels())
                    out.values[key] = trackwell.Audio(samples, sample_rate=w.getframerate())
                    out.made += 1
                    return
        except (wave.Error, EOFError):
            pass
    suffix = _extension(data, content_type)
    sample_rate = round(rate) if rate > 0 else None
    out.media.append(MediaFile(key, f"{_safe(key)}_{step}.{suffix}", data, "audio", sample_rate))


def _pr_curve(key: str, t_values: list[Any], shape: list[int], out: Converted) -> None:
    """W&B's PR curve: (recall, precision) points, (0, 0) left out, sorted by recall
    then descending precision, drawn by ``wandb/line/v0``."""
    import trackwell

    if len(shape) != 2 or shape[0] < 2 or shape[0] * shape[1] != len(t_values):
        out.skipped["pr_curves"] += 1
        return
    n = shape[1]
    precision = t_values[(shape[0] - 2) * n : (shape[0] - 1) * n]
    recall = t_values[(shape[0] - 1) * n :]
    points = sorted(
        ((float(r), float(p)) for r, p in zip(recall, precision, strict=True) if p != 0 or r != 0),
        key=lambda rp: (rp[0], -rp[1]),
    )
    table = trackwell.Table(data=[list(p) for p in points], columns=["recall", "precision"])
    out.values[key] = trackwell.plot_table(
        "wandb/line/v0", table, {"x": "recall", "y": "precision"}, {"title": f"{key} Precision v. Recall"}
    )
    out.made += 1


def _extension(data: bytes, content_type: str = "") -> str:
    if data.startswith(b"RIFF"):
        return "wav"
    if data.startswith((b"ID3", b"\xff\xfb")):
        return "mp3"
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"fLaC"):
        return "flac"
    sub = content_type.rsplit("/", 1)[-1] if "/" in content_type else ""
    return {"mpeg": "mp3", "x-wav": "wav", "wave": "wav"}.get(sub, sub or "wav")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "value"


def _text(values: list[Any]) -> str:
    parts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
    return "\n".join(parts)


def convert_value(value: Value, step: int, prefix: str, out: Converted) -> None:
    key = namespaced(value.tag, prefix)
    if value.plugin == "hparams":
        # experiment / session_end_info only describe the session: nothing to log
        out.config.update(hparams(value.plugin_content))
    elif value.simple_value is not None:
        out.values[key] = value.simple_value
    elif value.histo is not None:
        _histogram(key, legacy_histogram(value.histo), out)
    elif value.image is not None:
        _images(value.tag, prefix, [value.image.encoded], step, out)
    elif value.audio is not None:
        a = value.audio
        _audio(key, a.encoded, a.sample_rate, a.content_type, step, out)
    elif value.tensor is not None:
        _convert_tensor(key, value, step, prefix, out)
    else:
        out.skipped[value.plugin or "unknown"] += 1


def _convert_tensor(key: str, value: Value, step: int, prefix: str, out: Converted) -> None:
    t = value.tensor
    assert t is not None
    plugin = value.plugin
    if plugin == "text" or (t.dtype == DT_STRING and plugin in ("", "text")):
        # torch.utils.tensorboard and tensorboardX name add_text("notes") "notes/text_summary"
        out.values[key.removesuffix("/text_summary")] = _text(t.values)
    elif plugin == "histograms":
        _histogram(key, tensor_histogram(t.values), out)
    elif plugin == "images" and t.dtype == DT_STRING and len(t.values) > 2:
        _images(value.tag, prefix, t.values[2:], step, out)  # [width, height, image, ...]
    elif plugin == "pr_curves":
        _pr_curve(key, t.values, t.shape, out)
    elif plugin in ("", "scalars") and len(t.values) == 1 and not isinstance(t.values[0], bytes):
        out.values[key] = t.values[0]
    else:
        out.skipped[plugin or "tensor"] += 1


def convert_event(event: Event, prefix: str = "") -> Converted:
    """The values of one event, keyed ``<prefix>/<tag>`` (no prefix: the tag alone)."""
    out = Converted()
    for value in event.values:
        try:
            convert_value(value, event.step, prefix, out)
        except Exception as exc:  # a damaged image or histogram costs that value only
            logger.debug("tensorboard value %r not converted", value.tag, exc_info=exc)
            out.skipped[f"{value.plugin or 'value'} (unreadable)"] += 1
    return out
