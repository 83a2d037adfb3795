"""TrackwellLogger under a real Trainer.fit: config, history per step, summary, checkpoints, DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lightning", reason="trackwell-lightning's tests need lightning (and torch)")
pytest.importorskip("trackwell_lightning", reason="pip install -e integrations/lightning")

import torch
from lightning.pytorch import Trainer, seed_everything

import trackwell
from trackwell_lightning import TrackwellLogger, WandbLogger

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from lightning_example import TinyRegressor, loaders  # noqa: E402


def _trainer(logger: Any, tmp: Path, **kwargs: Any) -> Trainer:
    options: dict[str, Any] = {
        "logger": logger,
        "max_epochs": 2,
        "accelerator": "cpu",
        "devices": 1,
        "log_every_n_steps": 1,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "default_root_dir": str(tmp),
    }
    options.update(kwargs)
    return Trainer(**options)


def _fit(logger: Any, tmp: Path, **kwargs: Any) -> Trainer:
    seed_everything(0, verbose=False)
    trainer = _trainer(logger, tmp, **kwargs)
    train, val = loaders()
    trainer.fit(TinyRegressor(), train, val)
    return trainer


def _only_run(root: Path) -> Any:
    runs = list(trackwell.Api(root=root).runs())
    assert len(runs) == 1, runs
    return runs[0]


def test_wandb_logger_is_the_same_class() -> None:
    assert WandbLogger is TrackwellLogger
    from trackwell.integration.lightning import WandbLogger as via_core

    assert via_core is TrackwellLogger


def test_fit_records_config_history_and_summary(trackwell_dir: Path) -> None:
    logger = TrackwellLogger(project="lit", name="tiny", tags=["baseline"], group="g1")
    _fit(logger, trackwell_dir)
    run = logger.experiment
    assert trackwell.run is run
    trackwell.finish()

    read = _only_run(trackwell_dir)
    assert (read.name, read.project, read.state) == ("tiny", "lit", "finished")
    assert read.tags == ["baseline"] and read.group == "g1"
    assert dict(read.config) == {"lr": 0.05, "hidden": 8}
    rows = list(read.scan_history())
    train = [r for r in rows if "train/loss" in r]
    val = [r for r in rows if "val/loss" in r]
    # 48 training samples in batches of 8: 6 steps per epoch, 2 epochs, one validation each
    assert [r["trainer/global_step"] for r in train] == list(range(12))
    assert [r["epoch"] for r in train] == [0] * 6 + [1] * 6
    assert [r["trainer/global_step"] for r in val] == [5, 11]
    assert all(isinstance(r["train/loss"], float) for r in train)
    assert read.summary["train/loss"] == train[-1]["train/loss"]
    assert read.summary["val/loss"] == val[-1]["val/loss"]
    assert logger.version == read.id and logger.name == "lit"


def test_a_run_started_before_the_trainer_is_used(trackwell_dir: Path) -> None:
    run = trackwell.init(project="pre", name="mine", config={"dataset": "synthetic"})
    logger = WandbLogger(project="ignored")
    with pytest.warns(UserWarning, match="already in progress"):
        assert logger.experiment is run
    _fit(logger, trackwell_dir, max_epochs=1)
    run.finish()
    read = _only_run(trackwell_dir)
    assert (read.name, read.project) == ("mine", "pre")
    assert dict(read.config) == {"dataset": "synthetic", "lr": 0.05, "hidden": 8}
    assert len([r for r in read.scan_history() if "train/loss" in r]) == 6


def test_log_metrics_prefix_and_step(trackwell_dir: Path) -> None:
    logger = WandbLogger(project="lit", version="fixedid1", prefix="fold0")
    logger.log_metrics({"acc": 0.5}, step=7)
    logger.log_metrics({"acc": 0.75})
    assert logger.version == "fixedid1"
    trackwell.finish()
    read = _only_run(trackwell_dir)
    assert read.id == "fixedid1"
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in read.scan_history()]
    assert rows == [
        {"fold0-acc": 0.5, "trainer/global_step": 7},
        {"fold0-acc": 0.75, "trainer/global_step": 7},
    ]


def test_log_hyperparams_keeps_nested_values_and_names_objects(trackwell_dir: Path) -> None:
    logger = WandbLogger(project="lit")
    logger.log_hyperparams(
        Namespace(opt=torch.optim.SGD, sizes=(1, 2), nested={"a": {"b": 1.5}}, path=Path("x"))
    )
    logger.log_hyperparams({"lr": 0.1})
    logger.log_hyperparams({"lr": 0.2})  # values may change, as with W&B's allow_val_change
    trackwell.finish()
    config = dict(_only_run(trackwell_dir).config)
    assert config == {"opt": "SGD", "sizes": [1, 2], "nested": {"a": {"b": 1.5}}, "path": "x", "lr": 0.2}


def test_media_methods_check_their_arguments(trackwell_dir: Path) -> None:
    logger = WandbLogger(project="lit")
    with pytest.raises(TypeError, match="Expected a list"):
        logger.log_image("img", "not-a-list")
    with pytest.raises(ValueError, match="Expected 2 items"):
        logger.log_image("img", [1, 2], caption=["only one"])


def test_bad_log_model_is_rejected() -> None:
    with pytest.raises(ValueError, match="log_model"):
        WandbLogger(log_model="best")


def test_the_logger_pickles_without_its_run(trackwell_dir: Path) -> None:
    import pickle

    logger = WandbLogger(project="lit")
    run_id = logger.experiment.id
    clone = pickle.loads(pickle.dumps(logger))
    assert clone._experiment is None and clone.version == run_id


def test_ddp_on_two_cpu_processes_logs_one_run(trackwell_dir: Path) -> None:
    """The example script, as the tests run it: strategy="ddp", 2 gloo processes, rank 0 logs."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", TRACKWELL_SILENT="true")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lightning_example.py"), "--ddp", "--dir", str(trackwell_dir)],
        cwd=trackwell_dir, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    read = _only_run(trackwell_dir)
    assert (read.name, read.project, read.state) == ("experiment-1", "my-project", "finished")
    assert read.tags == ["baseline"]
    rows = list(read.scan_history())
    train = [r for r in rows if "train/loss" in r]
    # each of the 2 ranks gets half of the 48 samples: 3 steps per epoch, logged once
    assert [r["trainer/global_step"] for r in train] == list(range(6))
    assert len([r for r in rows if "val/loss" in r]) == 2
    ckpts = list((trackwell_dir / "my-project" / read.id / "checkpoints").glob("*.ckpt"))
    assert len(ckpts) == 2
