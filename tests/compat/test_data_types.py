"""W&B data types as W&B user code writes them (``import trackwell as wandb``), read back
through the Public API (the local one offline, the server's online)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackwell as wandb
from trackwell.api.local import LocalApi


def local_run(root: Path, run: Any) -> Any:
    return LocalApi(root).run(f"{run.project_name()}/{run.id}")


def pixels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)


def media_only_table() -> Any:
    table = wandb.Table(columns=["image"])
    for i in range(3):
        table.add_data(wandb.Image(pixels(i)))
    return table


def test_add_data_rows_of_media_only_are_kept(trackwell_dir: Path) -> None:
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"examples": media_only_table()})
    run.finish()
    back = local_run(trackwell_dir, run).table("examples")
    assert back.columns == ["image"]
    assert len(back.data) == 3
    for i, [image] in enumerate(back.data):
        np.testing.assert_array_equal(np.asarray(image.image), pixels(i))


def test_add_data_converts_numpy_scalars_in_a_new_column() -> None:
    table = wandb.Table(columns=["x", "y"])
    table.add_data(np.float32(0.5), np.int64(3))
    assert table.data == [[0.5, 3]]
    assert type(table.data[0][0]) is float and type(table.data[0][1]) is int


def test_histogram_in_summary_update_is_kept(trackwell_dir: Path) -> None:
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"loss": 0.5})
    run.summary.update({"weights": wandb.Histogram([1, 2, 2, 3, 3, 3], num_bins=3)})
    run.summary["scores"] = wandb.Histogram(np_histogram=([1, 4], [0.0, 0.5, 1.0]))
    run.log({"loss": 0.25})  # the writer goes on after the summary values
    run.finish()
    api_run = local_run(trackwell_dir, run)
    weights = api_run.summary["weights"]
    assert weights["_type"] == "histogram"
    assert weights["values"] == [1, 2, 3]
    assert api_run.summary["scores"]["values"] == [1, 4]
    assert api_run.summary["scores"]["bins"] == [0.0, 0.5, 1.0]
    assert api_run.summary["loss"] == 0.25
    assert [row["loss"] for row in api_run.scan_history(keys=["loss"])] == [0.5, 0.25]


def test_plotly_figure_under_one_key(trackwell_dir: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    fig = go.Figure(data=go.Scatter(x=[1, 2, 3], y=[4, 1, 2]))
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"chart": fig})
    run.log({"wrapped": wandb.Plotly(fig)})
    run.finish()
    api_run = local_run(trackwell_dir, run)
    for key in ("chart", "wrapped"):
        [record] = [row[key] for row in api_run.scan_history(keys=[key])]
        assert record["_type"] == "plotly-file"
        figure = json.loads((Path(run._run_dir) / "files" / record["path"]).read_text())
        assert figure["data"][0]["y"] == [4, 1, 2]


def test_use_model_of_one_file_returns_the_file(trackwell_online_dir: Path) -> None:
    model = trackwell_online_dir / "model.keras"
    model.write_bytes(b"weights")
    with wandb.init(project="compat-models") as run:
        run.log_model(path=str(model), name="mnist_model", aliases=["best"])
    with wandb.init(project="compat-models") as run:
        downloaded_model_path = run.use_model(name="mnist_model:best")
    assert Path(downloaded_model_path).name == "model.keras"
    assert Path(downloaded_model_path).read_bytes() == b"weights"


def test_use_model_of_a_folder_returns_the_folder(trackwell_online_dir: Path) -> None:
    folder = trackwell_online_dir / "saved"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights.bin").write_bytes(b"w")
    with wandb.init(project="compat-models") as run:
        run.log_model(path=str(folder), name="hf_model")
    with wandb.init(project="compat-models") as run:
        downloaded_model_path = run.use_model(name="hf_model:latest")
    assert sorted(p.name for p in Path(downloaded_model_path).iterdir()) == ["config.json", "weights.bin"]


def test_media_table_and_summary_histogram_online(trackwell_online_dir: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    with wandb.init(project="compat-types") as run:
        run.log({"examples": media_only_table(), "chart": go.Figure(go.Bar(x=["a", "b"], y=[2, 5]))})
        run.summary.update({"weights": wandb.Histogram([1, 2, 2, 3, 3, 3], num_bins=3)})
        run.summary["best_sample"] = wandb.Image(pixels(7))
    api_run = wandb.Api().run(run.path)
    image = api_run.summary["best_sample"]
    assert image["_type"] == "image-file"
    png = api_run.file(image["path"]).download(root=str(trackwell_online_dir / "img")).name
    from PIL import Image as PILImage

    np.testing.assert_array_equal(np.asarray(PILImage.open(png)), pixels(7))
    back = api_run.table("examples")
    assert len(back.data) == 3
    np.testing.assert_array_equal(np.asarray(back.data[2][0].image), pixels(2))
    assert api_run.summary["weights"]["values"] == [1, 2, 3]
    [chart] = [row["chart"] for row in api_run.scan_history(keys=["chart"])]
    assert chart["_type"] == "plotly-file"
    figure = json.loads(api_run.file(chart["path"]).download(root=str(trackwell_online_dir / "dl")).read())
    assert figure["data"][0]["y"] == [2, 5]


def test_pyplot_under_a_key_logs_the_current_figure(trackwell_dir: Path) -> None:
    # models-docs.md "Matplotlib and Plotly plots": wandb.log({"chart": plt})
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wandb.init(project="compat-types", mode="offline")
    plt.figure(figsize=(4, 3), dpi=50)
    plt.plot([1, 2, 3, 4])
    plt.ylabel("some interesting numbers")
    wandb.log({"chart": plt})
    run = wandb.run
    wandb.finish()
    plt.close("all")
    [record] = [row["chart"] for row in local_run(trackwell_dir, run).scan_history(keys=["chart"])]
    assert record["_type"] == "image-file"
    assert (record["width"], record["height"]) == (200, 150)


def test_table_max_rows(trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert wandb.Table.MAX_ROWS == 10_000  # W&B's default
    rows = [[i] for i in range(10_005)]
    run = wandb.init(project="compat-types", mode="offline")
    with pytest.warns(UserWarning, match="Truncating"):
        run.log({"big": wandb.Table(columns=["i"], data=rows)})
    monkeypatch.setattr(wandb.Table, "MAX_ROWS", 20_000)  # as users raise it: wandb.Table.MAX_ROWS = ...
    run.log({"bigger": wandb.Table(columns=["i"], data=rows)})
    artifact = wandb.Artifact("rows", type="dataset")
    monkeypatch.setattr(wandb.Table, "MAX_ROWS", 10)
    artifact.add(wandb.Table(columns=["i"], data=rows), "all")  # artifacts keep every row
    run.log_artifact(artifact)
    run.finish()
    api_run = local_run(trackwell_dir, run)
    assert api_run.table("big").data == rows[:10_000]
    assert api_run.table("bigger").data == rows
    assert len(artifact.get("all").data) == 10_005


def test_image_of_a_numeric_object_array(trackwell_dir: Path) -> None:
    values = np.arange(48).reshape(4, 4, 3)
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"img": wandb.Image(values.astype(object))})
    run.finish()
    [image] = [row["img"] for row in local_run(trackwell_dir, run).scan_history(keys=["img"])]
    assert (image["width"], image["height"]) == (4, 4)
    from PIL import Image as PILImage

    back = np.asarray(PILImage.open(Path(run._run_dir) / "files" / image["path"]))
    np.testing.assert_array_equal(back, values.astype(np.uint8))
    with pytest.raises(TypeError, match="numbers"):
        wandb.Image(np.array([["a", "b"]], dtype=object))


OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


def logged_object3d(trackwell_dir: Path, run: Any, key: str) -> Any:
    [record] = [row[key] for row in local_run(trackwell_dir, run).scan_history(keys=[key])]
    assert record["_type"] == "object3D-file"
    files = Path(run._run_dir) / "files"
    return record, wandb.Object3D.from_record(record, lambda p: (files / p).read_bytes())


def test_object3d_from_files_and_file_objects(trackwell_dir: Path, tmp_path: Path) -> None:
    mesh = tmp_path / "triangle.obj"
    mesh.write_text(OBJ)
    cloud = tmp_path / "cloud.pts.json"
    scene = {"type": "lidar/beta", "points": [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], "boxes": []}
    cloud.write_text(json.dumps(scene))
    glb = b"glTF\x02\x00\x00\x00" + bytes(12)
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"path": wandb.Object3D(str(mesh))})
    with open(mesh) as fh:  # a text file object, as W&B: file_type names its format
        run.log({"text_io": wandb.Object3D(fh, file_type="obj")})
    with open(tmp_path / "m.glb", "wb") as out:
        out.write(glb)
    with open(tmp_path / "m.glb", "rb") as fh:
        run.log({"binary_io": wandb.Object3D.from_file(fh, file_type="glb")})
    run.log({"my_cloud_from_file": wandb.Object3D.from_file(str(cloud))})
    run.finish()
    for key in ("path", "text_io"):
        record, obj = logged_object3d(trackwell_dir, run, key)
        assert record["path"].endswith(".obj") and obj.file_bytes() == OBJ.encode()
    record, obj = logged_object3d(trackwell_dir, run, "binary_io")
    assert record["path"].endswith(".glb") and obj.file_bytes() == glb and obj.format == "glb"
    record, obj = logged_object3d(trackwell_dir, run, "my_cloud_from_file")
    assert record["path"].endswith(".pts.json")
    np.testing.assert_array_equal(obj.points(), scene["points"])
    with open(mesh) as fh, pytest.raises(ValueError, match="file_type"):
        wandb.Object3D(fh)


def test_object3d_from_numpy_and_point_cloud(trackwell_dir: Path) -> None:
    xyz = np.array([[0.4, 1, 1.3], [1, 1, 1], [1.2, 1, 1.2]])
    cat = np.array([[0.4, 1, 1.3, 1], [1, 1, 1, 1], [1.2, 1, 1.2, 12]])
    rgb = np.array([[0.4, 1, 1.3, 255, 0, 0], [1, 1, 1, 0, 255, 0]])
    box = {
        "corners": [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
        "color": [0, 0, 255],
        "label": "car",
        "score": 0.6,
    }
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"my_cloud_from_numpy_xyz": wandb.Object3D.from_numpy(xyz)})
    run.log({"my_cloud_from_numpy_cat": wandb.Object3D.from_numpy(cat)})
    run.log({"my_cloud_from_numpy_rgb": wandb.Object3D.from_numpy(rgb)})
    run.log(
        {
            "my_first_point_cloud": wandb.Object3D.from_point_cloud(
                points=rgb,
                boxes=[box],
                vectors=[{"start": [0, 0, 0], "end": [0.1, 0.2, 0.5], "color": [255, 0, 0]}],
                point_cloud_type="lidar/beta",
            )
        }
    )
    run.finish()
    for key, points in (("xyz", xyz), ("cat", cat), ("rgb", rgb)):
        _, obj = logged_object3d(trackwell_dir, run, f"my_cloud_from_numpy_{key}")
        np.testing.assert_array_equal(obj.points(), points)
    _, obj = logged_object3d(trackwell_dir, run, "my_first_point_cloud")
    np.testing.assert_array_equal(obj.points(), rgb)
    scene = json.loads(obj.file_bytes())
    assert scene["type"] == "lidar/beta" and scene["boxes"] == [box]
    assert scene["vectors"][0]["end"] == [0.1, 0.2, 0.5]
    with pytest.raises(TypeError):
        wandb.Object3D.from_numpy("cloud.pts.json")


PDB = "HETATM    1  O   HOH A   1       0.000   0.000   0.000  1.00  0.00           O\nEND\n"


def test_molecule_from_a_file_path_and_a_file_object(trackwell_dir: Path, tmp_path: Path) -> None:
    pdb = tmp_path / "6lu7.pdb"
    pdb.write_text(PDB)
    (tmp_path / "notes.txt").write_text("not a molecule")
    sdf = tmp_path / "water.sdf"
    sdf.write_text("water\n\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n$$$$\n")
    run = wandb.init(project="compat-types", mode="offline")
    wandb.log({"protein": wandb.Molecule(str(pdb), caption="main protease")})
    with open(sdf, "rb") as fh:
        wandb.log({"ligand": wandb.Molecule(fh, file_type="sdf")})
    run.finish()
    files = Path(run._run_dir) / "files"
    api_run = local_run(trackwell_dir, run)
    for key, source, fmt in (("protein", pdb, "pdb"), ("ligand", sdf, "sdf")):
        [record] = [row[key] for row in api_run.scan_history(keys=[key])]
        assert record["_type"] == "molecule-file" and record["path"].endswith("." + fmt)
        back = wandb.Molecule.from_record(record, lambda p: (files / p).read_bytes())
        assert back.file_bytes() == source.read_bytes() and back.format == fmt
    assert api_run.summary["protein"]["caption"] == "main protease"
    with pytest.raises(ValueError, match="not a molecule file"):
        wandb.Molecule(str(tmp_path / "notes.txt"))
    with open(pdb) as fh, pytest.raises(ValueError, match="file_type"):
        wandb.Molecule(fh)


def test_molecule_from_smiles_without_rdkit_names_the_package() -> None:
    try:
        import rdkit  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("rdkit is installed")
    with pytest.raises(ImportError, match="pip install rdkit"):
        wandb.Molecule.from_smiles("CC(=O)Nc1ccc(O)cc1")
    with pytest.raises(ImportError, match="pip install rdkit"):
        wandb.Molecule.from_rdkit("2b3p.mol")


def test_molecule_from_smiles_with_rdkit(trackwell_dir: Path) -> None:
    pytest.importorskip("rdkit")
    run = wandb.init(project="compat-types", mode="offline")
    run.log({"acetaminophen": wandb.Molecule.from_smiles("CC(=O)Nc1ccc(O)cc1")})
    run.finish()
    [record] = [row["acetaminophen"] for row in local_run(trackwell_dir, run).scan_history()]
    assert record["_type"] == "molecule-file" and record["path"].endswith(".pdb")
    assert b"HETATM" in (Path(run._run_dir) / "files" / record["path"]).read_bytes()


def test_joined_table_in_an_artifact(trackwell_online_dir: Path) -> None:
    # models-docs.md "Join Artifact tables"
    orig_table = wandb.Table(columns=["song_id", "title"], data=[[1, "a"], [2, "b"], [3, "c"]])
    synth_table = wandb.Table(columns=["song_id", "score"], data=[[2, 0.5], [3, 0.75], [3, 0.25], [4, 1.0]])
    with wandb.init(project="compat-join") as run:
        songs = wandb.Artifact("songs", "dataset")
        songs.add(orig_table, "original_songs")
        songs.add(synth_table, "synth_samples")
        run.log_artifact(songs)
    with wandb.init(project="compat-join") as run:
        songs = run.use_artifact("songs:latest")
        join_table = wandb.JoinedTable(songs.get("original_songs"), songs.get("synth_samples"), "song_id")
        join_at = wandb.Artifact("synth_summary", "analysis")
        join_at.add(join_table, "synth_explore")
        join_at.add(synth_table, "synth")
        join_at.add(wandb.JoinedTable(orig_table, "synth", ["song_id", "song_id"]), "by_path")
        run.log_artifact(join_at)
    back = wandb.Api().artifact(f"{run.entity}/compat-join/synth_summary:latest")
    joined = back.get("synth_explore")
    assert isinstance(joined, wandb.JoinedTable) and joined.join_key == "song_id"
    assert joined.table1.data == orig_table.data and joined.table2.data == synth_table.data
    assert joined.join().columns == ["song_id", "title", "score"]
    assert joined.join().data == [[2, "b", 0.5], [3, "c", 0.75], [3, "c", 0.25]]
    by_path = back.get("by_path")
    assert by_path.join_key == ["song_id", "song_id"] and by_path.table2.data == synth_table.data
    with pytest.raises(ValueError, match="no column"):
        wandb.JoinedTable(orig_table, synth_table, ["id", "song_id"])


def test_partitioned_table_in_an_artifact(trackwell_online_dir: Path) -> None:
    from trackwell.data_types import PartitionedTable

    with wandb.init(project="compat-parts") as run:
        artifact = wandb.Artifact("predictions", "dataset")
        for i in (0, 1, 2, 10):  # read in natural order: parts/2 before parts/10
            artifact.add(
                wandb.Table(columns=["part", "x"], data=[[i, i * 10], [i, i * 10 + 1]]), f"parts/{i}"
            )
        artifact.add(PartitionedTable(parts_path="parts"), "all_predictions")
        run.log_artifact(artifact)
    back = wandb.Api().artifact(f"{run.entity}/compat-parts/predictions:latest").get("all_predictions")
    assert isinstance(back, PartitionedTable) and back.columns == ["part", "x"]
    rows = list(back.iterrows())
    assert [ndx for ndx, _ in rows] == list(range(8))
    assert [row[0] for _, row in rows] == [0, 0, 1, 1, 2, 2, 10, 10]
    assert rows[-1][1] == [10, 101]
    with pytest.raises(ValueError, match="no tables under"):
        wandb.Artifact("empty", "dataset").add(PartitionedTable("parts"), "all")
    run = wandb.init(project="compat-parts", mode="offline")
    with pytest.warns(UserWarning, match="artifact"):  # only in artifacts: the key is dropped, with a warning
        run.log({"parts": PartitionedTable("parts")})
        run.finish()


def test_data_types_module_names() -> None:
    from trackwell import data_types

    assert data_types.Table is wandb.Table and data_types.Image is wandb.Image
    assert data_types.JoinedTable is wandb.JoinedTable and data_types.Molecule is wandb.Molecule
    assert "PartitionedTable" in dir(data_types)
