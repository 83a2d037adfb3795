"""TensorBoard histograms, images, audio and PR curves written by torch.utils.tensorboard
become trackwell media, named as W&B's sync_tensorboard names them, and read back through
the Public API equal to what was written."""

from __future__ import annotations

import importlib.util
import io
import wave
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.api.local import LocalApi

pytest.importorskip("trackwell_tensorboard", reason="pip install -e plugins/tensorboard")
if not all(importlib.util.find_spec(m) for m in ("torch", "tensorboard", "PIL", "pyarrow")):
    pytest.skip("needs torch, tensorboard, Pillow and pyarrow", allow_module_level=True)

import numpy as np
from PIL import Image as PILImage
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import image as image_summary

from trackwell_tensorboard.importer import import_logdir

RNG = np.random.default_rng(7)


def _api_rows(root: Path, run: trackwell.Run) -> list[dict[str, Any]]:
    """The run's history as the Public API reads it from the run directory."""
    return list(LocalApi(root).run(f"{run.project_name()}/{run.id}").scan_history())


def _read(run: trackwell.Run) -> Any:
    return lambda rel: (Path(run._run_dir) / "files" / rel).read_bytes()


def _pixels(run: trackwell.Run, record: dict[str, Any]) -> Any:
    return np.asarray(PILImage.open(io.BytesIO(_read(run)(record["path"]))))


def test_histograms_keep_their_counts(trackwell_dir: Path) -> None:
    from tensorboard.plugins.histogram import summary_v2

    data = RNG.normal(size=1000)
    counts, edges = np.histogram(data, bins=10)
    assert counts.min() > 0  # every bucket filled: torch writes them all
    writer = SummaryWriter(str(trackwell_dir / "logs"))
    writer.add_histogram("weights", data, 3, bins=10)
    # a TF2 histogram (a k x 3 tensor of left edge, right edge, count), made without TensorFlow
    writer._get_file_writer().add_summary(summary_v2.histogram_pb("tf2", data, buckets=8), 3)
    writer.close()
    result = import_logdir(trackwell_dir / "logs", project="tb")
    assert result.media == 2 and not result.skipped
    [row] = _api_rows(trackwell_dir, result.run)
    hist = row["weights"]
    assert hist["_type"] == "histogram"
    # TensorBoard keeps right edges only, with an empty bucket before the first: W&B's bins
    assert hist["values"] == [0.0, *counts.tolist()]
    assert hist["bins"][1:] == pytest.approx(edges.tolist())
    restored = trackwell.Histogram.from_record(hist)
    assert sum(restored.histogram) == 1000
    tf2 = row["tf2"]
    tf2_counts, tf2_edges = np.histogram(data, bins=8)
    assert tf2["values"] == tf2_counts.tolist() and tf2["bins"] == pytest.approx(tf2_edges.tolist())
    assert "weights.min" not in row  # the histogram itself, as in W&B


def test_images_keep_their_pixels_under_w_and_b_keys(trackwell_dir: Path) -> None:
    hwc = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    gray = RNG.integers(0, 256, (4, 6), dtype=np.uint8)
    writer = SummaryWriter(str(trackwell_dir / "logs"))
    writer.add_image("samples/input", hwc.transpose(2, 0, 1), 1)  # CHW, torch's default
    writer.add_image("gray", gray, 1, dataformats="HW")
    # TF1 summaries of several images are name/image/0, name/image/1: one list in W&B
    fw = writer._get_file_writer()
    fw.add_summary(image_summary("batch/image/0", hwc, dataformats="HWC"), 2)
    fw.add_summary(image_summary("batch/image/1", hwc[::-1].copy(), dataformats="HWC"), 2)
    writer.close()
    result = import_logdir(trackwell_dir / "logs", project="tb")
    rows = _api_rows(trackwell_dir, result.run)
    first = rows[0]["samples_input"]  # W&B's history_image_key: "/" -> "_"
    assert first["_type"] == "images/separated" and first["count"] == 1
    [record] = first["items"]
    assert (record["width"], record["height"]) == (7, 5)
    assert np.array_equal(_pixels(result.run, record), hwc)
    [gray_record] = rows[0]["gray"]["items"]
    assert np.array_equal(_pixels(result.run, gray_record)[..., 0], gray)  # torch writes it as RGB
    batch = rows[1]["batch_image"]
    assert batch["count"] == 2
    assert np.array_equal(_pixels(result.run, batch["items"][0]), hwc)
    assert np.array_equal(_pixels(result.run, batch["items"][1]), hwc[::-1])
    assert [r["_step"] for r in rows] == [1, 2]


def test_audio_keeps_its_samples(trackwell_dir: Path) -> None:
    clip = (0.5 * np.sin(np.linspace(0, 200, 4000))).astype(np.float32)
    expected = (clip * np.iinfo(np.int16).max).astype("<i2")  # torch's own conversion
    writer = SummaryWriter(str(trackwell_dir / "logs"))
    writer.add_audio("voice/clip", clip, 4, sample_rate=16000)
    writer.close()
    result = import_logdir(trackwell_dir / "logs", project="tb")
    [row] = _api_rows(trackwell_dir, result.run)
    record = row["voice/clip"]
    assert record["_type"] == "audio-file" and record["sample_rate"] == 16000
    audio = trackwell.Audio.from_record(record, _read(result.run))
    assert audio.sample_rate == 16000
    assert np.array_equal(audio.samples(), expected)
    with wave.open(io.BytesIO(_read(result.run)(record["path"]))) as w:
        assert w.getnframes() == 4000


def test_pr_curves_become_a_line_chart_of_a_table(trackwell_dir: Path) -> None:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.util import tensor_util

    from trackwell_tensorboard.events import RecordReader, event_files

    labels = RNG.integers(0, 2, 200)
    scores = np.clip(labels * 0.3 + RNG.random(200) * 0.7, 0, 1)
    writer = SummaryWriter(str(trackwell_dir / "logs"))
    writer.add_pr_curve("pr", labels, scores, 5, num_thresholds=50)
    writer.close()
    # W&B's rule, applied to the tensor as protobuf and tensorboard decode it
    [path] = event_files(trackwell_dir / "logs")
    [value] = [v for raw in RecordReader(path).read() for v in event_pb2.Event.FromString(raw).summary.value]
    data = tensor_util.make_ndarray(value.tensor)
    points = sorted(
        ((float(r), float(p)) for p, r in zip(data[-2], data[-1], strict=True) if p != 0 or r != 0),
        key=lambda rp: (rp[0], -rp[1]),
    )
    result = import_logdir(trackwell_dir / "logs", project="tb")
    [row] = _api_rows(trackwell_dir, result.run)
    chart = row["pr"]
    assert chart["_type"] == "plot-table" and chart["spec"]["name"] == "wandb/line/v0"
    assert chart["spec"]["fields"] == {"x": "recall", "y": "precision"}
    assert chart["title"] == "pr Precision v. Recall"
    table = trackwell.Table.from_record(chart["table"], _read(result.run))
    assert table.columns == ["recall", "precision"]
    assert len(table.data) == len(points) > 2
    assert [x for r in table.data for x in r] == pytest.approx([x for p in points for x in p])


def test_sync_tensorboard_logs_media_at_their_step(trackwell_dir: Path) -> None:
    data = RNG.normal(size=500)
    img = RNG.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    run = trackwell.init(project="sync", sync_tensorboard=True)
    run.flush()  # on_run_start has run: the writers are patched
    writer = SummaryWriter(str(trackwell_dir / "tb"))
    for step in range(3):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.add_histogram("w", data, 1, bins=5)
    writer.add_image("img", img, 2)
    writer.close()
    run.finish()
    rows = _api_rows(trackwell_dir, run)
    by_step = {r["global_step"]: r for r in rows}
    counts, _ = np.histogram(data, bins=5)
    assert by_step[1]["w"]["values"] == [0.0, *counts.tolist()]
    [record] = by_step[2]["img"]["items"]
    assert np.array_equal(_pixels(run, record), img.transpose(1, 2, 0))
    assert "img" not in by_step[1] and "w" not in by_step[2]


def test_a_damaged_image_costs_that_value_only(trackwell_dir: Path) -> None:
    from trackwell_tensorboard import convert, events

    value = events.Value(tag="broken", image=events.Image(encoded=b"\x89PNG not really"))
    good = events.Value(tag="loss", simple_value=1.5)
    out = convert.convert_event(events.Event(step=1, values=[value, good]))
    assert out.values == {"loss": 1.5}
    assert out.skipped == {"value (unreadable)": 1}
