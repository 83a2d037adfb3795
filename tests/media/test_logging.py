"""Media through log(): files under files/media/, records in history, read back locally,
from a real server, after `trackwell sync`, and through a plugin's own type."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import trackwell
from trackwell.errors import DataDroppedWarning
from trackwell.media.base import Media, MediaContext, reset_plugins

PIL = pytest.importorskip("PIL.Image")


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(PIL.open(io.BytesIO(data)))


def _rows(run_path: str, api: Any) -> list[dict[str, Any]]:
    return list(api.run(run_path).scan_history())


def test_offline_log_and_read_back(offline_run: trackwell.Run, tmp_path: Path) -> None:
    run = offline_run
    a = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    run.log({"img": trackwell.Image(a, caption="first"), "loss": 1.0})
    run.log({"imgs": [trackwell.Image(a), trackwell.Image(a[::-1])], "hist": trackwell.Histogram([1, 2, 3])})
    run.log({"nested": {"again": trackwell.Image(a)}, "loss": 0.5})
    run.finish()
    files = sorted(
        p.relative_to(run._run_dir / "files").as_posix()
        for p in (run._run_dir / "files/media").rglob("*.png")
    )
    assert len(files) == 2  # the same image logged three times is one file
    api = trackwell.Api(root=str(tmp_path))
    rows = _rows(f"test/{run.id}", api)
    first = rows[0]["img"]
    assert first["_type"] == "image-file" and first["caption"] == "first" and first["path"] in files
    sep = rows[1]["imgs"]
    assert sep["_type"] == "images/separated" and sep["count"] == 2
    assert rows[1]["hist"]["_type"] == "histogram" and rows[1]["hist"]["values"][0] == 1
    assert rows[2]["nested.again"]["path"] == first["path"]  # plain dicts flatten, records stay whole
    remote = api.run(f"test/{run.id}")
    fh = remote.file(first["path"]).download(root=str(tmp_path / "dl"))
    fh.close()
    assert np.array_equal(_pixels((tmp_path / "dl" / first["path"]).read_bytes()), a)
    summary = remote.summary
    assert summary["img"]["path"] == first["path"] and summary["loss"] == 0.5
    assert summary["hist"]["values"] == rows[1]["hist"]["values"]


def test_a_value_that_fails_to_encode_drops_only_itself(offline_run: trackwell.Run, tmp_path: Path) -> None:
    class Broken(Media):
        _type = "broken-file"

        def to_record(self, ctx: MediaContext) -> dict[str, Any]:
            raise RuntimeError("disk on fire")

    run = offline_run
    run.log({"loss": 1.0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.log({"bad": Broken(), "ok": trackwell.Histogram([1.0]), "loss": 2.0})
        run.finish()
    assert any("disk on fire" in str(w.message) and w.category is DataDroppedWarning for w in caught)
    rows = _rows(f"test/{run.id}", trackwell.Api(root=str(tmp_path)))
    assert [r["loss"] for r in rows] == [1.0, 2.0]
    assert "bad" not in rows[1] and rows[1]["ok"]["_type"] == "histogram"


def test_bad_input_raises_before_anything_is_logged(offline_run: trackwell.Run, tmp_path: Path) -> None:
    run = offline_run
    run.log({"loss": 1.0})
    with pytest.raises(ValueError, match="at most 512"):
        run.log({"h": trackwell.Histogram([1.0], num_bins=600), "loss": 9.0})
    with pytest.raises(FileNotFoundError):
        run.log({"i": trackwell.Image("missing.png")})
    run.log({"loss": 3.0})
    run.finish()
    assert [r["loss"] for r in _rows(f"test/{run.id}", trackwell.Api(root=str(tmp_path)))] == [1.0, 3.0]


def test_figures_are_converted_by_module_name(offline_run: trackwell.Run, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    go = pytest.importorskip("plotly.graph_objects")
    fig = plt.figure(figsize=(1, 1), dpi=20)
    offline_run.log({"mpl": fig, "plotly": go.Figure(data=[go.Bar(y=[1])])})
    plt.close(fig)
    offline_run.finish()
    row = _rows(f"test/{offline_run.id}", trackwell.Api(root=str(tmp_path)))[0]
    assert row["mpl"]["_type"] == "image-file" and row["plotly"]["_type"] == "plotly-file"


def test_online_media_reach_the_server(online_run: trackwell.Run, tmp_path: Path) -> None:
    a = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    online_run.log({"img": trackwell.Image(a), "audio": trackwell.Audio(np.zeros(10), sample_rate=10)})
    online_run.finish()
    remote = trackwell.Api().run(f"{online_run.entity}/test/{online_run.id}")
    row = next(iter(remote.scan_history()))
    assert np.array_equal(_pixels(remote.file(row["img"]["path"]).read_bytes()), a)
    assert remote.file(row["audio"]["path"]).read_bytes()[:4] == b"RIFF"


def test_offline_then_sync_uploads_media(trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackwell.cli import _register_all, cli

    a = np.full((3, 3), 7, np.uint8)
    run = trackwell.init(project="test", mode="offline")
    run.log({"img": trackwell.Image(a), "x": 1.0})
    run.finish()
    _register_all()
    result = CliRunner().invoke(cli, ["sync", str(run._run_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # sync uploads under the key owner's entity (offline, run.entity is only a local guess)
    remote = trackwell.Api().run(f"{trackwell.Api().default_entity}/test/{run.id}")
    row = next(iter(remote.scan_history()))
    assert np.array_equal(_pixels(remote.file(row["img"]["path"]).read_bytes()), a)


class Molecule(Media):
    """A plugin's media type: an SMILES string stored as a text file."""

    _type = "molecule-file"

    def __init__(self, smiles: str) -> None:
        self.smiles = smiles

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        return {"_type": self._type, "path": ctx.write_bytes(self.smiles.encode(), "molecules", ".smi")}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Molecule:
        return cls(read(record["path"]).decode())


class FakeMol:
    """Stands in for a foreign library's type, converted by the plugin."""

    def __init__(self, smiles: str) -> None:
        self.smiles = smiles


def test_plugin_media_types_and_converters(register_plugin: Callable[..., str], tmp_path: Path) -> None:
    class Plugin:
        @trackwell.hookimpl
        def register_media_types(self, register: Callable[..., None]) -> None:
            register(Molecule)
            register((__name__, "FakeMol"), lambda m: Molecule(m.smiles))

    register_plugin(Plugin(), name="molecules")
    reset_plugins()
    try:
        run = trackwell.init(project="test", mode="offline")
        run.log({"mol": FakeMol("CCO"), "direct": Molecule("C")})
        run.finish()
        row = _rows(f"test/{run.id}", trackwell.Api(root=str(tmp_path)))[0]
        assert row["mol"]["_type"] == "molecule-file"
        from trackwell.media import media_type

        cls = media_type("molecule-file")
        back = cls.from_record(row["mol"], lambda p: (run._run_dir / "files" / p).read_bytes())
        assert isinstance(back, Molecule) and back.smiles == "CCO"
    finally:
        reset_plugins()
