"""The media, tables and artifacts examples of the W&B docs (/work/shared/reference/
models-docs.md), run as written there with ``import trackwell as wandb`` against the real
server; only placeholders (``<entity>``, ``<project>``, made files) are filled in. What
each logged is read back through the Public API and compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trackwell as wandb


@pytest.fixture
def entity(trackwell_online_dir: Path) -> str:
    return str(wandb.Api().default_entity)


def test_tables_log_and_read_back(entity: str) -> None:
    # models-docs.md "Log tables": create, add_data, log
    run = wandb.init(entity=entity, project="ref-tables")
    my_table = wandb.Table(columns=["a", "b"], data=[["1a", "1b"], ["2a", "2b"]])
    run.log({"table_key": my_table})
    columns = ["text", "label", "prediction"]
    table = wandb.Table(columns=columns)
    table.add_data("I love my phone", "1", "1")
    table.add_data("My phone sucks", "0", "-1")
    wandb.log({"examples": table})
    run.finish()
    api = wandb.Api()
    got = api.artifact(f"{entity}/ref-tables/run-{run.id}-table_key:latest").get("table_key")
    pd.testing.assert_frame_equal(got.get_dataframe(), my_table.get_dataframe())
    got = api.artifact(f"{entity}/ref-tables/run-{run.id}-examples:latest").get("examples")
    assert got.get_dataframe()["prediction"].tolist() == ["1", "-1"]


def test_images_in_a_table(entity: str) -> None:
    # models-docs.md "Image overlays in Tables"
    run = wandb.init(entity=entity, project="ref-media")
    ids = [0, 1]
    images = [np.full((8, 8, 3), 40 * (i + 1), dtype=np.uint8) for i in ids]
    labels = [np.eye(8, dtype=np.uint8) * (i + 1) for i in ids]
    class_labels = {0: "background", 1: "cat", 2: "dog"}
    table = wandb.Table(columns=["ID", "Image"])
    for id, img, label in zip(ids, images, labels, strict=True):
        mask_img = wandb.Image(img, masks={"prediction": {"mask_data": label, "class_labels": class_labels}})
        table.add_data(id, mask_img)
    wandb.log({"Table": table})
    wandb.log({"examples": [wandb.Image(im, caption=f"img {i}") for i, im in enumerate(images)]})
    run.finish()
    got = wandb.Api().artifact(f"{entity}/ref-media/run-{run.id}-Table:latest").get("Table")
    cells = got.get_column("Image")
    assert np.array_equal(np.asarray(cells[1].image.convert("RGB")), images[1])
    history = wandb.Api().run(f"{entity}/ref-media/{run.id}").history(pandas=False)
    assert any(row.get("examples") for row in history)


def test_artifacts_files_dirs_references_lineage(entity: str, trackwell_online_dir: Path) -> None:
    # models-docs.md "Construct an artifact", "Download and use an artifact"
    data = trackwell_online_dir / "images"
    data.mkdir()
    for i in range(3):
        (data / f"cat{i}.png").write_bytes(bytes([i]) * 100)
    (trackwell_online_dir / "dataset.h5").write_bytes(b"h5" * 50)
    run = wandb.init(entity=entity, project="ref-artifacts", job_type="upload")
    artifact = wandb.Artifact(name="animals", type="dataset")
    artifact.add_file(local_path=str(trackwell_online_dir / "dataset.h5"))
    artifact.add_dir(local_path=str(data), name="images")
    artifact.add_reference(data.joinpath("cat0.png").as_uri(), name="ref/cat0.png")
    run.log_artifact(artifact)
    run.finish()

    run2 = wandb.init(entity=entity, project="ref-artifacts", job_type="train")
    artifact = run2.use_artifact("animals:latest")
    datadir = artifact.download(root=str(trackwell_online_dir / "down"))
    run2.finish()
    assert Path(datadir, "images", "cat2.png").read_bytes() == bytes([2]) * 100
    assert Path(datadir, "dataset.h5").read_bytes() == b"h5" * 50
    assert Path(datadir, "ref", "cat0.png").read_bytes() == bytes([0]) * 100

    api = wandb.Api()
    artifact = api.artifact(f"{entity}/ref-artifacts/animals:latest")
    assert artifact.logged_by().id == run.id
    assert [r.id for r in artifact.used_by()] == [run2.id]
    # "Update an artifact": aliases.append + save()
    artifact.aliases.append("best")
    artifact.save()
    assert "best" in api.artifact(f"{entity}/ref-artifacts/animals:best").aliases
    assert [a.version for a in api.artifacts("dataset", f"{entity}/ref-artifacts/animals")] == ["v0"]


def test_models_and_registry(entity: str, trackwell_online_dir: Path) -> None:
    # models-docs.md "Log models": log_model, use_model, link_model, link_artifact
    path = trackwell_online_dir / "model.h5"
    path.write_bytes(b"weights" * 10)
    run = wandb.init(entity=entity, project="ref-models")
    run.log_model(path=str(path), name="mnist_model", aliases=["best"])
    run.link_model(path=str(path), registered_model_name="MNIST-dev", name="mnist_model")
    artifact = wandb.Artifact(name="clf", type="model")
    artifact.add_file(str(path))
    registry_name = "model"
    collection_name = "classifiers"
    target_path = f"wandb-registry-{registry_name}/{collection_name}"
    run.link_artifact(artifact=artifact, target_path=target_path)
    run.finish()

    run = wandb.init(entity=entity, project="ref-models")
    downloaded_model_path = run.use_model(name="mnist_model:best")
    run.finish()
    assert Path(downloaded_model_path).name == "model.h5"  # one file: its path, as W&B
    assert Path(downloaded_model_path).read_bytes() == b"weights" * 10
    api = wandb.Api()
    linked = api.artifact(f"{entity}/wandb-registry-model/classifiers:latest")
    assert linked.type == "model" and linked.source_name == "clf:v0"
    assert api.artifact(f"{entity}/model-registry/MNIST-dev:latest").source_name == "mnist_model:v0"


def test_dataframe_in_artifact_get(entity: str) -> None:
    # models-docs.md "Retrieve the dataset artifact ... artifact.get('train_table')"
    run = wandb.init(entity=entity, project="ref-get")
    frame = pd.DataFrame({"x_train": [1.0, 2.0, 3.0], "y_train": [0, 1, 0]})
    artifact = wandb.Artifact("mnist_dataset", type="dataset")
    artifact.add(wandb.Table(dataframe=frame), "train_table")
    run.log_artifact(artifact)
    run.finish()
    run = wandb.init(entity=entity, project="ref-get")
    artifact = run.use_artifact(artifact_or_name="mnist_dataset:latest")
    train_table = artifact.get("train_table")
    x_train = train_table.get_column("x_train", convert_to="numpy")
    y_train = train_table.get_column("y_train", convert_to="numpy")
    run.finish()
    assert x_train.tolist() == [1.0, 2.0, 3.0] and y_train.tolist() == [0, 1, 0]
