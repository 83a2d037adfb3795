"""TrackwellLogger's checkpoints as model artifacts, media and tables, watch, read back from a real server."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lightning", reason="trackwell-lightning's tests need lightning (and torch)")
pytest.importorskip("trackwell_lightning", reason="pip install -e integrations/lightning")

import numpy as np
import torch
from lightning.pytorch import Trainer, seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from PIL import Image as PILImage

import trackwell
from trackwell._pipeline.sync import LocalRun, sync_run
from trackwell._pipeline.transport import Transport
from trackwell_lightning import WandbLogger

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from lightning_example import TinyRegressor, loaders  # noqa: E402


def _fit(
    logger: Any, tmp: Path, max_epochs: int = 2, model: TinyRegressor | None = None, **kwargs: Any
) -> tuple[Trainer, TinyRegressor]:
    if model is None:
        seed_everything(0, verbose=False)
        model = TinyRegressor()
    trainer = Trainer(
        logger=logger,
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=1,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp),
        **kwargs,
    )
    train, val = loaders()
    trainer.fit(model, train, val)
    return trainer, model


def _versions(project: str, name: str) -> dict[str, Any]:
    """The versions of model artifact ``name``, by version (``v0``, ...), from the server."""
    api = trackwell.Api()
    return {a.version: a for a in api.artifacts("model", f"{api.default_entity}/{project}/{name}")}


def _weights(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.parametrize("log_model", [True, "all"])
def test_log_model_logs_checkpoints_that_download_and_load(
    trackwell_online_dir: Path, log_model: Any
) -> None:
    logger = WandbLogger(project="lit-art", log_model=log_model)
    checkpoint = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=2)
    _, model = _fit(logger, trackwell_online_dir, callbacks=[checkpoint])
    run_id = logger.version
    trackwell.finish()

    versions = _versions("lit-art", f"model-{run_id}")
    # True logs both checkpoints after training; "all" each as it is saved. Either way the
    # second (the lower validation loss) ends up latest and best.
    assert sorted(versions) == ["v0", "v1"]
    assert versions["v0"].aliases == []
    assert sorted(versions["v1"].aliases) == ["best", "latest"]
    best = versions["v1"]
    assert best.metadata["score"] == pytest.approx(float(checkpoint.best_model_score))
    assert (
        best.metadata["original_filename"] == Path(checkpoint.best_model_path).name == "epoch=1-step=12.ckpt"
    )
    assert best.metadata["ModelCheckpoint"]["monitor"] == "val/loss"
    assert best.metadata["ModelCheckpoint"]["save_top_k"] == 2
    assert versions["v0"].metadata["original_filename"] == "epoch=0-step=6.ckpt"
    assert [f.name for f in best.files()] == ["model.ckpt"]

    entity = trackwell.Api().default_entity
    root = Path(trackwell.Api().artifact(f"{entity}/lit-art/model-{run_id}:best").download())
    loaded = _weights(root / "model.ckpt")
    trained = model.state_dict()
    assert loaded.keys() == trained.keys()
    for key, value in trained.items():
        torch.testing.assert_close(loaded[key], value)
    # the run lists what it logged
    logged = trackwell.Api().run(f"lit-art/{run_id}").logged_artifacts()
    assert sorted(a.version for a in logged) == ["v0", "v1"]


def test_log_model_true_logs_nothing_after_a_failed_fit(trackwell_online_dir: Path) -> None:
    logger = WandbLogger(project="lit-art", log_model=True)
    checkpoint = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=1)
    logger.after_save_checkpoint(checkpoint)
    logger.experiment  # noqa: B018 - starts the run
    logger.finalize("failed")
    run_id = logger.version
    trackwell.finish()
    assert trackwell.Api().run(f"lit-art/{run_id}").logged_artifacts() == []


def test_offline_log_model_syncs_to_the_server(trackwell_online_dir: Path, trackwell_server: Any) -> None:
    logger = WandbLogger(project="lit-off", log_model="all", offline=True, checkpoint_name="tiny")
    checkpoint = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=1)
    _, model = _fit(logger, trackwell_online_dir, max_epochs=1, callbacks=[checkpoint])
    run = logger.experiment
    assert run.offline
    trackwell.finish()
    up = sync_run(LocalRun(run._run_dir), Transport(trackwell_server.url, trackwell_server.admin_key))
    assert up.error is None and up.done
    versions = _versions("lit-off", "tiny")
    assert sorted(versions) == ["v0"] and sorted(versions["v0"].aliases) == ["best", "latest"]
    root = Path(versions["v0"].download(trackwell_online_dir / "dl"))
    torch.testing.assert_close(
        _weights(root / "model.ckpt")["net.0.weight"], model.state_dict()["net.0.weight"]
    )


def test_use_artifact_and_download_artifact(trackwell_online_dir: Path, tmp_path: Path) -> None:
    logger = WandbLogger(project="lit-use", log_model="all", checkpoint_name="shared-model")
    _fit(logger, trackwell_online_dir, max_epochs=1, callbacks=[ModelCheckpoint()])
    producer = logger.version
    trackwell.finish()
    entity = trackwell.Api().default_entity

    # a later run declares the checkpoint an input and downloads it (Lightning's API)
    consumer = WandbLogger(project="lit-use")
    artifact = consumer.use_artifact("shared-model:latest", artifact_type="model")
    assert artifact.type == "model" and artifact.version == "v0"
    path = WandbLogger.download_artifact(
        "shared-model:latest", save_dir=tmp_path / "a", artifact_type="model"
    )
    assert Path(path, "model.ckpt").is_file()
    consumer_id = consumer.version
    trackwell.finish()
    used = trackwell.Api().artifact(f"{entity}/lit-use/shared-model:v0").used_by()
    assert [r.id for r in used] == [consumer_id]
    assert trackwell.Api().artifact(f"{entity}/lit-use/shared-model:v0").logged_by().id == producer

    # without a run, through the Public API
    path = WandbLogger.download_artifact(
        f"{entity}/lit-use/shared-model:latest", save_dir=tmp_path / "b", artifact_type="model"
    )
    assert Path(path, "model.ckpt").read_bytes() == Path(tmp_path / "a" / "model.ckpt").read_bytes()
    with pytest.raises(Exception, match="type"):
        WandbLogger.download_artifact(f"{entity}/lit-use/shared-model:latest", artifact_type="dataset")


def test_media_and_tables_read_back_from_the_server(trackwell_online_dir: Path) -> None:
    logger = WandbLogger(project="lit-media")
    red = np.zeros((6, 5, 3), dtype=np.uint8)
    red[..., 0] = 255
    ramp = np.tile(np.arange(5, dtype=np.uint8)[None, :, None] * 50, (6, 1, 3))
    logger.log_image("samples", [red, ramp], step=3, caption=["red", "ramp"])
    tone = np.sin(np.linspace(0, 100, 800)).astype(np.float32)
    logger.log_audio("sound", [tone], step=4, sample_rate=[8000], caption=["tone"])
    logger.log_video("clip", [np.zeros((3, 3, 8, 8), dtype=np.uint8)], step=5, fps=[2])
    logger.log_table("preds", columns=["x", "y"], data=[[1, 2.5], [2, 3.5]], step=6)
    logger.log_text("notes", columns=["text"], data=[["hello"], ["world"]], step=7)
    run_id = logger.version
    trackwell.finish()

    read = trackwell.Api().run(f"lit-media/{run_id}")
    rows = {r["trainer/global_step"]: r for r in read.scan_history()}
    images = rows[3]["samples"]
    assert images["_type"] == "images/separated" and images["count"] == 2
    assert [item["caption"] for item in images["items"]] == ["red", "ramp"]
    for item, pixels in zip(images["items"], (red, ramp), strict=True):
        data = read.file(item["path"]).read_bytes()
        np.testing.assert_array_equal(np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB")), pixels)
    [audio] = rows[4]["sound"]
    assert (audio["_type"], audio["sample_rate"], audio["caption"]) == ("audio-file", 8000, "tone")
    [video] = rows[5]["clip"]
    assert (video["_type"], video["format"], video["width"]) == ("video-file", "gif", 8)
    table = read.table("preds")
    assert (table.columns, table.data) == (["x", "y"], [[1, 2.5], [2, 3.5]])
    assert read.table("notes").data == [["hello"], ["world"]]


def test_watch_logs_gradient_and_parameter_histograms(trackwell_online_dir: Path) -> None:
    pytest.importorskip("trackwell_torch", reason="watch needs trackwell-torch (integrations/torch)")
    logger = WandbLogger(project="lit-watch")
    seed_everything(0, verbose=False)
    model = TinyRegressor()
    logger.watch(model, log="all", log_freq=2)
    _fit(logger, trackwell_online_dir, max_epochs=1, model=model)
    run_id = logger.version
    trackwell.finish()
    rows = list(trackwell.Api().run(f"lit-watch/{run_id}").scan_history())
    keys = set().union(*rows)
    assert {"gradients/net.0.weight", "parameters/net.0.weight", "parameters/net.2.bias"} <= keys
    histogram = next(r["gradients/net.0.weight"] for r in rows if "gradients/net.0.weight" in r)
    assert histogram["_type"] == "histogram" and sum(histogram["values"]) == 4 * 8


def test_the_reference_lightning_snippet_runs_with_our_logger(trackwell_online_dir: Path) -> None:
    """skill-guide.md's Lightning snippet, with trackwell's logger in place of Lightning's.

    Unchanged but for the import, ``max_epochs`` (100 in the guide), the CPU/quiet
    Trainer options and loaders in place of the guide's datamodule.
    """
    from trackwell.integration.lightning import WandbLogger  # was: lightning.pytorch.loggers

    seed_everything(0, verbose=False)
    model = TinyRegressor()
    train, val = loaders()
    # -- the snippet --
    wandb_logger = WandbLogger(
        project="my-project",
        name="experiment-1",
        log_model="all",  # Log all checkpoints as artifacts
        save_dir="logs/",
        tags=["baseline"],
    )
    wandb_logger.watch(model, log="all", log_freq=100)
    checkpoint = ModelCheckpoint(
        monitor="val/loss",
        mode="min",
        save_top_k=3,
    )
    trainer = Trainer(
        logger=wandb_logger,
        callbacks=[checkpoint],
        max_epochs=3,
        accelerator="cpu",
        enable_progress_bar=False,
        log_every_n_steps=1,
    )
    trainer.fit(model, train, val)
    # -- end of the snippet --
    run_id = wandb_logger.version
    trackwell.finish()
    read = trackwell.Api().run(f"my-project/{run_id}")
    assert (read.name, read.tags) == ("experiment-1", ["baseline"])
    versions = _versions("my-project", f"model-{run_id}")
    assert sorted(versions) == ["v0", "v1", "v2"]
    assert "best" in versions["v2"].aliases and "latest" in versions["v2"].aliases
