"""Each media type encodes to a file (or inline record) that real decoders read back."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from trackwell.media import Audio, Histogram, Html, Image, Object3D, Plotly, Video
from trackwell.media.base import DirContext, media_type

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture
def ctx(tmp_path: Path) -> DirContext:
    return DirContext(tmp_path)


def _png(ctx: DirContext, record: dict) -> np.ndarray:
    return np.asarray(PIL.open(ctx.root / record["path"]))


@pytest.mark.parametrize(
    ("shape", "layout"),
    [((8, 6), "HW"), ((8, 6, 1), "HWC"), ((8, 6, 3), "HWC"), ((8, 6, 4), "HWC"), ((3, 8, 6), "CHW")],
)
def test_image_arrays_round_trip_pixel_for_pixel(
    ctx: DirContext, shape: tuple[int, ...], layout: str
) -> None:
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    record = Image(arr, caption="cap").to_record(ctx)
    assert record["_type"] == "image-file" and record["caption"] == "cap"
    assert (record["width"], record["height"]) == (6, 8)
    expected = arr.transpose(1, 2, 0) if layout == "CHW" else arr
    assert np.array_equal(_png(ctx, record), expected.squeeze())
    assert (
        record["path"].startswith("media/images/")
        and record["size"] == (ctx.root / record["path"]).stat().st_size
    )


def test_image_floats_torch_pil_and_paths(ctx: DirContext, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    floats = np.linspace(0, 1, 48).reshape(4, 4, 3)
    assert np.array_equal(_png(ctx, Image(floats).to_record(ctx)), (floats * 255 + 0.5).astype(np.uint8))
    t = torch.arange(48, dtype=torch.uint8).reshape(3, 4, 4)
    assert np.array_equal(_png(ctx, Image(t).to_record(ctx)), t.numpy().transpose(1, 2, 0))
    pil = PIL.fromarray(np.full((5, 7, 3), 9, np.uint8))
    assert np.array_equal(_png(ctx, Image(pil).to_record(ctx)), np.asarray(pil))
    pil.save(tmp_path / "a.png")
    rec = Image(str(tmp_path / "a.png")).to_record(ctx)
    assert (ctx.root / rec["path"]).read_bytes() == (tmp_path / "a.png").read_bytes()
    jpg = Image(np.zeros((4, 4, 3), np.uint8), file_type="jpg").to_record(ctx)
    assert jpg["path"].endswith(".jpg") and PIL.open(ctx.root / jpg["path"]).format == "JPEG"


def test_same_image_twice_is_one_file(ctx: DirContext) -> None:
    arr = np.zeros((4, 4), np.uint8)
    a, b = Image(arr).to_record(ctx), Image(arr.copy()).to_record(ctx)
    assert a["path"] == b["path"] and ctx.take_written() == [a["path"]]


def test_image_snapshots_its_input(ctx: DirContext) -> None:
    arr = np.zeros((4, 4), np.uint8)
    img = Image(arr)
    arr[:] = 255
    assert _png(ctx, img.to_record(ctx)).max() == 0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.zeros((5, 5, 2), np.uint8), "1, 3 or 4 channels"),
        (np.zeros((2, 2, 2, 2), np.uint8), "HW, HWC or CHW"),
        (np.zeros((4, 4), np.complex64), "dtype complex64"),
        (np.full((4, 4), np.inf), "infinite"),
        (np.full((4, 4), np.nan), "NaN"),
        ("no/such/file.png", "no such file"),
        (object(), "takes a numpy array"),
    ],
)
def test_image_bad_input_is_a_clear_error(data: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=match):
        Image(data)


def test_masks_and_boxes(ctx: DirContext) -> None:
    mask = np.array([[0, 1], [2, 1]])
    boxes = {
        "pred": {
            "box_data": [
                {
                    "position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
                    "class_id": 1,
                    "scores": {"acc": 0.5},
                },
                {
                    "position": {"middle": [1, 1], "width": 2, "height": 1},
                    "domain": "pixel",
                    "box_caption": "b",
                },
            ],
            "class_labels": {1: "car"},
        }
    }
    img = Image(
        np.zeros((2, 2, 3), np.uint8),
        masks={"gt": {"mask_data": mask, "class_labels": {0: "bg", 1: "a", 2: "b"}}},
        boxes=boxes,
    )
    record = img.to_record(ctx)
    m = record["masks"]["gt"]
    assert m["_type"] == "mask" and m["class_labels"] == {"0": "bg", "1": "a", "2": "b"}
    assert np.array_equal(np.asarray(PIL.open(ctx.root / m["path"])), mask)
    box = record["boxes"]["pred"]["box_data"]
    assert box[0]["class_id"] == 1 and box[0]["scores"] == {"acc": 0.5} and "domain" not in box[0]
    assert box[1]["domain"] == "pixel" and box[1]["position"]["middle"] == [1.0, 1.0]
    back = Image.from_record(record, ctx.read)
    assert np.array_equal(back.masks["gt"]["mask_data"], mask)
    with pytest.raises(ValueError, match=r"class ids \[2\] that are not in class_labels"):
        Image(
            np.zeros((2, 2), np.uint8), masks={"gt": {"mask_data": mask, "class_labels": {0: "bg", 1: "a"}}}
        )
    with pytest.raises(ValueError, match="position must have keys"):
        Image(np.zeros((2, 2), np.uint8), boxes={"p": {"box_data": [{"position": {"x": 1}}]}})
    with pytest.raises(ValueError, match="domain must be 'pixel'"):
        Image(
            np.zeros((2, 2), np.uint8),
            boxes={
                "p": {
                    "box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "domain": "cm"}]
                }
            },
        )


def test_matplotlib_figure_becomes_a_png(ctx: DirContext) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([1, 2, 3])
    record = Image(fig).to_record(ctx)
    plt.close(fig)
    assert PIL.open(ctx.root / record["path"]).size == (100, 50)


def test_audio_wav_round_trip(ctx: DirContext) -> None:
    samples = np.sin(np.linspace(0, 20, 800))
    record = Audio(samples, sample_rate=8000, caption="tone").to_record(ctx)
    assert record["_type"] == "audio-file" and record["sample_rate"] == 8000 and record["duration"] == 0.1
    with wave.open(str(ctx.root / record["path"])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 800)
        decoded = np.frombuffer(w.readframes(800), "<i2") / 32767
    assert np.abs(decoded - samples).max() < 1e-4
    stereo = np.stack([np.arange(10, dtype=np.int16), -np.arange(10, dtype=np.int16)], axis=1)
    back = Audio.from_record(Audio(stereo, sample_rate=100).to_record(ctx), ctx.read)
    assert np.array_equal(back.samples(), stereo)
    with pytest.raises(ValueError, match="sample_rate is required"):
        Audio(samples)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        Audio(samples * 2, sample_rate=10)
    with pytest.raises(FileNotFoundError, match="no such file"):
        Audio("missing.wav")


@pytest.mark.parametrize("fmt", ["gif", "mp4", "webm", "ogg"])
def test_video_round_trip(ctx: DirContext, fmt: str) -> None:
    from trackwell.media.video import decode

    if fmt != "gif":
        pytest.importorskip("av")
    levels = np.linspace(0, 255, 6).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (6, 3, 16, 16)).copy()
    record = Video(frames, fps=5, format=fmt).to_record(ctx)
    assert record["_type"] == "video-file" and record["format"] == fmt and record["path"].endswith("." + fmt)
    decoded = decode((ctx.root / record["path"]).read_bytes())
    assert decoded.shape == (6, 16, 16, 3)
    assert np.abs(decoded.astype(int) - frames.transpose(0, 2, 3, 1)).mean() < 8


def test_video_batch_and_errors(ctx: DirContext) -> None:
    from trackwell.media.video import decode

    batch = np.random.default_rng(2).integers(0, 256, (4, 2, 3, 8, 8), dtype=np.uint8)
    record = Video(batch).to_record(ctx)
    assert decode((ctx.root / record["path"]).read_bytes()).shape == (2, 16, 16, 3)
    with pytest.raises(ValueError, match="format must be one of"):
        Video(np.zeros((2, 3, 8, 8), np.uint8), format="avi")
    with pytest.raises(ValueError, match=r"\(T, C, H, W\)"):
        Video(np.zeros((2, 8, 8), np.uint8))


def test_histogram() -> None:
    rec = Histogram([1, 2, 2, 3], num_bins=2).to_record(None)  # type: ignore[arg-type]
    assert rec == {"_type": "histogram", "values": [1, 3], "bins": [1.0, 2.0, 3.0]}
    counts, bins = np.histogram([0.5, 0.7], bins=3)
    assert Histogram(np_histogram=(counts, bins)).to_record(None)["values"] == counts.tolist()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most 512"):
        Histogram([1.0], num_bins=513)
    with pytest.warns(Warning, match="1 NaN or infinite"):
        rec = Histogram([1.0, float("nan"), 2.0], num_bins=1).to_record(None)  # type: ignore[arg-type]
    assert rec["values"] == [2]


def test_histogram_of_a_torch_tensor_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    t = torch.randn(1000)
    ours = Histogram(t, num_bins=16).to_record(None)  # type: ignore[arg-type]
    counts, bins = np.histogram(t.numpy(), bins=16)
    assert np.allclose(ours["bins"], bins, atol=1e-5)
    assert sum(ours["values"]) == 1000 and np.abs(np.array(ours["values"]) - counts).max() <= 2


def test_html_object3d_plotly(ctx: DirContext, tmp_path: Path) -> None:
    rec = Html("<p>hi</p>").to_record(ctx)
    text = (ctx.root / rec["path"]).read_text()
    assert "<p>hi</p>" in text and "<style data-trackwell-base>" in text and "http" not in text
    assert (ctx.root / Html("<p>x</p>", inject=False).to_record(ctx)["path"]).read_text() == "<p>x</p>"
    pts = np.random.default_rng(1).random((10, 6))
    rec = Object3D(pts).to_record(ctx)
    assert rec["path"].endswith(".pts.json")
    assert np.allclose(np.array(json.loads((ctx.root / rec["path"]).read_text())), pts)
    assert np.allclose(Object3D.from_record(rec, ctx.read).points(), pts)
    scene = Object3D.from_point_cloud(
        pts[:, :3], boxes=[{"corners": [[0, 0, 0]] * 8, "label": "x"}]
    ).to_record(ctx)
    assert json.loads((ctx.root / scene["path"]).read_text())["boxes"][0]["label"] == "x"
    (tmp_path / "m.obj").write_text("v 0 0 0\n")
    assert Object3D(tmp_path / "m.obj").to_record(ctx)["path"].endswith(".obj")
    with pytest.raises(ValueError, match=r"\(N, 3\), \(N, 4\) or \(N, 6\)"):
        Object3D(np.zeros((3, 5)))
    go = pytest.importorskip("plotly.graph_objects")
    fig = go.Figure(data=[go.Scatter(y=[1, 2, 3])])
    rec = Plotly(fig).to_record(ctx)
    assert json.loads((ctx.root / rec["path"]).read_text())["data"][0]["y"] == [1, 2, 3]


def test_media_type_lookup() -> None:
    assert media_type("image-file") is Image and media_type("histogram") is Histogram
    with pytest.raises(KeyError, match="unknown media type 'nope'"):
        media_type("nope")


def test_importing_trackwell_imports_no_numpy_or_pil() -> None:
    import subprocess
    import sys

    code = "import sys, trackwell; print(sorted(m for m in ('numpy', 'PIL', 'av') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("data", "expected"),
    [  # W&B's normalize=True: [0, 1] x 255; negatives stretched to [0, 1] first; else 0-255, clipped
        (np.array([[0.0, 0.5, 1.0]]), [[0, 128, 255]]),
        (np.array([[-1.0, 0.0, 1.0]]), [[0, 128, 255]]),
        (np.array([[0.0, 127.0, 300.0]]), [[0, 127, 255]]),
        (np.array([[0, 1, 1]], np.int64), [[0, 255, 255]]),
        (np.array([[3, 200, 999]], np.int32), [[3, 200, 255]]),
        (np.array([[-5.0, -5.0]]), [[0, 0]]),
    ],
)
def test_image_normalizes_numbers_as_wandb_does(ctx: DirContext, data: np.ndarray, expected: list) -> None:
    assert _png(ctx, Image(data).to_record(ctx)).tolist() == expected
    with pytest.raises(ValueError, match="normalize=True"):
        Image(data, normalize=False)


def test_image_mask_from_a_path_round_trips(ctx: DirContext, tmp_path: Path) -> None:
    mask = np.array([[0, 1, 1], [2, 2, 0]], np.uint8)
    PIL.fromarray(mask).save(tmp_path / "mask.png")
    labels = {0: "bg", 1: "cat", 2: "dog"}
    img = Image(
        np.zeros((2, 3, 3), np.uint8),
        masks={"pred": {"path": str(tmp_path / "mask.png"), "class_labels": labels}},
    )
    record = img.to_record(ctx)
    m = record["masks"]["pred"]
    assert m["_type"] == "mask" and m["path"].startswith("media/images/mask/") and m["format"] == "png"
    assert (ctx.root / m["path"]).read_bytes() == (tmp_path / "mask.png").read_bytes()
    back = Image.from_record(record, ctx.read)
    assert np.array_equal(back.masks["pred"]["mask_data"], mask)
    assert back.masks["pred"]["class_labels"] == {"0": "bg", "1": "cat", "2": "dog"}  # JSON keys
    with pytest.raises(FileNotFoundError):
        Image(np.zeros((2, 3), np.uint8), masks={"pred": {"path": str(tmp_path / "nope.png")}})


def test_boxes_record_uses_wandb_field_names(ctx: DirContext) -> None:
    boxes = {
        "predictions": {
            "box_data": [
                {
                    "position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
                    "class_id": 2,
                    "box_caption": "minMax(pixel)",
                    "scores": {"acc": 0.1, "loss": 1.2},
                },
                {
                    "position": {"middle": [150, 20], "width": 68, "height": 112},
                    "domain": "pixel",
                    "class_id": 3,
                    "box_caption": "a building",
                    "scores": {"acc": 0.5, "loss": 0.7},
                },
            ],
            "class_labels": {2: "car", 3: "building"},
        }
    }  # the models-docs example, field for field
    group = Image(np.zeros((4, 4), np.uint8), boxes=boxes).to_record(ctx)["boxes"]["predictions"]
    assert set(group) == {"box_data", "class_labels"} and group["class_labels"] == {
        "2": "car",
        "3": "building",
    }
    first, second = group["box_data"]
    assert set(first) == {"position", "class_id", "box_caption", "scores"}
    assert set(second) == {"position", "domain", "class_id", "box_caption", "scores"}
    assert first["position"] == {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4}
    assert second["position"] == {"middle": [150.0, 20.0], "width": 68.0, "height": 112.0}


def test_audio_files_that_are_not_16_bit_wav_keep_bytes_and_format(ctx: DirContext, tmp_path: Path) -> None:
    path = tmp_path / "deep.wav"
    with wave.open(str(path), "wb") as w:  # 24-bit PCM: stored as given, not decoded
        w.setnchannels(1)
        w.setsampwidth(3)
        w.setframerate(8000)
        w.writeframes(bytes(range(30)))
    record = Audio(str(path), caption="deep").to_record(ctx)
    back = Audio.from_record(record, ctx.read)
    assert back.samples() is None and back.format == "wav" and back.caption == "deep"
    assert back.file_bytes() == path.read_bytes()
    again = back.to_record(ctx)
    assert again["path"] == record["path"] and again["sha256"] == record["sha256"]
    pcm = Audio.from_record(Audio(np.zeros(8), sample_rate=4).to_record(ctx), ctx.read)
    assert pcm.format == "wav" and pcm.samples().shape == (8,) and pcm.sample_rate == 4


def _glb() -> bytes:
    """A minimal binary glTF: the 12-byte header and one JSON chunk (a valid, empty asset)."""
    doc = json.dumps({"asset": {"version": "2.0"}}).encode()
    doc += b" " * (-len(doc) % 4)
    chunk = len(doc).to_bytes(4, "little") + b"JSON" + doc
    return b"glTF" + (2).to_bytes(4, "little") + (12 + len(chunk)).to_bytes(4, "little") + chunk


@pytest.mark.parametrize("suffix", [".obj", ".glb", ".gltf"])
def test_object3d_mesh_files_keep_their_bytes(ctx: DirContext, tmp_path: Path, suffix: str) -> None:
    content = {
        ".obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
        ".glb": _glb(),
        ".gltf": json.dumps({"asset": {"version": "2.0"}, "meshes": []}).encode(),
    }[suffix]
    path = tmp_path / f"mesh{suffix}"
    path.write_bytes(content)
    record = Object3D(str(path)).to_record(ctx)
    assert record["path"].endswith(suffix)
    back = Object3D.from_record(record, ctx.read)
    assert back.file_bytes() == content and back.format == suffix.lstrip(".")
    with pytest.raises(ValueError, match="has no point cloud"):
        back.points()
    assert back.to_record(ctx)["sha256"] == record["sha256"]
    with pytest.raises(ValueError, match="is not one of"):
        Object3D.from_record({**record, "path": "media/object3D/x.ply"}, ctx.read)
