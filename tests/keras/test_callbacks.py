"""The Keras callbacks under a real keras.Model.fit (torch backend), read back through the Public API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="the Keras tests run on the torch backend")
keras = pytest.importorskip("keras", reason="trackwell-keras' tests need keras 3")
pytest.importorskip("trackwell_keras", reason="pip install -e integrations/keras")

import trackwell  # noqa: E402
from trackwell.errors import TrackwellWarning, UsageError  # noqa: E402
from trackwell_keras import (  # noqa: E402
    TrackwellEvalCallback,
    TrackwellMetricsLogger,
    TrackwellModelCheckpoint,
    WandbCallback,
    WandbEvalCallback,
    WandbMetricsLogger,
    WandbModelCheckpoint,
)

# Keras 3.15's torch backend with numpy 2.4: noise from Keras itself, not from trackwell
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import keras_example  # noqa: E402

# 96 samples, validation_split=0.25 -> 72 for training, batch 16 -> 5 batches per epoch
X = np.random.default_rng(0).normal(size=(96, 8)).astype("float32")
Y = (X[:, :4].sum(axis=1) > 0).astype("int64")


def _model(lr: Any = 0.01) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _fit(model: keras.Model, callbacks: list[Any], epochs: int = 2) -> keras.callbacks.History:
    return model.fit(
        X, Y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0, callbacks=callbacks
    )


def _only_run(root: Path) -> Any:
    runs = list(trackwell.Api(root=root).runs())
    assert len(runs) == 1, runs
    return runs[0]


def _rows(run: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in run.scan_history()]


def test_wandb_names_and_the_core_alias() -> None:
    assert WandbMetricsLogger is TrackwellMetricsLogger
    assert WandbModelCheckpoint is TrackwellModelCheckpoint
    assert WandbEvalCallback is TrackwellEvalCallback
    from trackwell.integration.keras import WandbMetricsLogger as via_core

    assert via_core is TrackwellMetricsLogger


def test_the_example_logs_batches_epochs_and_checkpoints(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["keras_example.py", "--dir", str(trackwell_dir)])
    keras_example.main()
    read = _only_run(trackwell_dir)
    assert read.project == "keras-demo" and read.state == "finished"
    assert dict(read.config) == {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "epochs": 2}
    rows = _rows(read)
    batches = [r for r in rows if "batch/batch_step" in r]
    epochs = [r for r in rows if "epoch/epoch" in r]
    assert [r["batch/batch_step"] for r in batches] == list(range(10))  # 5 batches x 2 epochs
    assert all({"batch/loss", "batch/accuracy", "batch/learning_rate"} <= set(r) for r in batches)
    assert [r["epoch/epoch"] for r in epochs] == [0, 1]
    assert set(epochs[0]) == {
        "epoch/epoch", "epoch/loss", "epoch/accuracy", "epoch/val_loss", "epoch/val_accuracy", "epoch/learning_rate"
    }  # fmt: skip
    assert epochs[0]["epoch/learning_rate"] == pytest.approx(0.001)  # adam's default
    assert read.summary["epoch/val_loss"] == epochs[-1]["epoch/val_loss"]
    assert sorted(p.name for p in (trackwell_dir / "models").iterdir()) == [
        "model-01.keras",
        "model-02.keras",
    ]


def test_metrics_match_keras_history_and_log_freq_n(trackwell_dir: Path) -> None:
    trackwell.init(project="k")
    history = _fit(_model(), [WandbMetricsLogger(log_freq=2)], epochs=2)
    trackwell.finish()
    rows = _rows(_only_run(trackwell_dir))
    epochs = [r for r in rows if "epoch/epoch" in r]
    assert [r["epoch/loss"] for r in epochs] == pytest.approx(history.history["loss"])
    assert [r["epoch/val_accuracy"] for r in epochs] == pytest.approx(history.history["val_accuracy"])
    # every 2nd batch of each epoch (batches 0, 2, 4), counted in units of log_freq
    assert [r["batch/batch_step"] for r in rows if "batch/batch_step" in r] == [0, 2, 4, 6, 8, 10]


def test_learning_rate_follows_a_schedule(trackwell_dir: Path) -> None:
    trackwell.init(project="k")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    _fit(_model(schedule), [WandbMetricsLogger(log_freq="batch")], epochs=1)
    trackwell.finish()
    lrs = [r["batch/learning_rate"] for r in _rows(_only_run(trackwell_dir)) if "batch/learning_rate" in r]
    # read after each optimizer step: 0.1 * 0.5 ** step
    assert lrs == pytest.approx([0.1 * 0.5**k for k in range(1, 6)])


def test_callbacks_need_a_run() -> None:
    for make in (
        lambda: WandbMetricsLogger(),
        lambda: WandbModelCheckpoint("m.keras"),
        lambda: WandbCallback(),
    ):
        with pytest.raises(UsageError, match=r"trackwell.init\(\) before"):
            make()


def test_bad_log_freq(trackwell_dir: Path) -> None:
    trackwell.init(project="k")
    for bad in ("weekly", 0, True):
        with pytest.raises(ValueError, match="log_freq"):
            WandbMetricsLogger(log_freq=bad)


def _model_versions(name: str, project: str = "k-art") -> dict[str, Any]:
    """The versions of model artifact ``name``, by version (``v0``, ...), from the server."""
    api = trackwell.Api()
    return {a.version: a for a in api.artifacts("model", f"{api.default_entity}/{project}/{name}")}


def test_checkpoint_logs_each_save_as_a_model_artifact(trackwell_online_dir: Path) -> None:
    run = trackwell.init(project="k-art")
    best = str(trackwell_online_dir / "best.keras")
    model = _model()
    _fit(model, [WandbModelCheckpoint(best, monitor="val_loss", save_best_only=True)], epochs=2)
    run.finish()
    # the validation loss improves in both epochs: saved (and logged) twice, aliases as W&B's
    versions = _model_versions(f"run_{run.id}_model")
    assert sorted(versions) == ["v0", "v1"]
    assert versions["v0"].aliases == ["epoch_0"]
    assert sorted(versions["v1"].aliases) == ["epoch_1", "latest"]
    assert versions["v1"].metadata["epoch"] == 1 and versions["v1"].metadata["monitor"] == "val_loss"
    assert [f.name for f in versions["v1"].files()] == ["best.keras"]
    root = versions["v1"].download(trackwell_online_dir / "dl")
    loaded = keras.models.load_model(Path(root) / "best.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_checkpoint_every_n_batches_with_weights_only(trackwell_online_dir: Path) -> None:
    run = trackwell.init(project="k-art")
    path = str(trackwell_online_dir / "w-{epoch}.weights.h5")
    model = _model()
    _fit(model, [WandbModelCheckpoint(path, save_weights_only=True, save_freq=4)], epochs=2)
    run.finish()
    assert sorted(p.name for p in trackwell_online_dir.glob("w-*.weights.h5")) == [
        "w-1.weights.h5",
        "w-2.weights.h5",
    ]
    versions = _model_versions(f"run_{run.id}_model")
    assert versions["v0"].aliases == ["epoch_0_batch_3"]
    assert sorted(versions["v1"].aliases) == ["epoch_1_batch_2", "latest"]
    root = versions["v1"].download(trackwell_online_dir / "dl")
    saved = trackwell_online_dir / "w-2.weights.h5"
    assert (Path(root) / "w-2.weights.h5").read_bytes() == saved.read_bytes()
    fresh, reference = _model(lr=0.5), _model()
    fresh.load_weights(Path(root) / "w-2.weights.h5")
    reference.load_weights(saved)
    np.testing.assert_array_equal(fresh.predict(X, verbose=0), reference.predict(X, verbose=0))


def test_offline_checkpoints_sync_to_the_server(trackwell_online_dir: Path, trackwell_server: Any) -> None:
    from trackwell._pipeline.sync import LocalRun, sync_run
    from trackwell._pipeline.transport import Transport

    run = trackwell.init(project="k-art", mode="offline")
    _fit(_model(), [WandbModelCheckpoint(str(trackwell_online_dir / "m.keras"))], epochs=1)
    run.finish()
    up = sync_run(LocalRun(run._run_dir), Transport(trackwell_server.url, trackwell_server.admin_key))
    assert up.error is None and up.done
    versions = _model_versions(f"run_{run.id}_model")
    assert sorted(versions["v0"].aliases) == ["epoch_0", "latest"]


def test_legacy_wandb_callback_logs_epochs_weights_and_the_best_model(trackwell_dir: Path) -> None:
    run = trackwell.init(project="k")
    with pytest.warns(TrackwellWarning, match=r"log_evaluation=True\) is not supported.*WandbEvalCallback"):
        callback = WandbCallback(log_weights=True, log_evaluation=True)
    model = _model()
    _fit(model, [callback], epochs=2)
    assert (run._run_dir / "checkpoints" / "model-best.keras").is_file()
    run.finish()
    read = _only_run(trackwell_dir)
    rows = _rows(read)
    assert [r["epoch"] for r in rows] == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(rows[0])
    assert read.summary["best_val_loss"] == min(r["val_loss"] for r in rows)
    assert read.summary["best_epoch"] == 1
    assert "model-best.keras" in [f.name for f in read.files()]
    kernel = f"parameters/{model.layers[0].name}.kernel"
    assert rows[1][kernel]["_type"] == "histogram" and sum(rows[1][kernel]["values"]) == 8 * 8


class Predictions(WandbEvalCallback):
    """The W&B docs' pattern: ground truth once, predictions joined to the data table's rows."""

    def add_ground_truth(self, logs: Any = None) -> None:
        for i, (x, y) in enumerate(zip(X[:4], Y[:4], strict=True)):
            self.data_table.add_data(i, x.tolist(), int(y))

    def add_model_predictions(self, epoch: int, logs: Any = None) -> None:
        preds = self.model.predict(X[:4], verbose=0).argmax(axis=1)
        for idx in self.data_table_ref.get_index():
            row = self.data_table_ref.data[idx]
            self.pred_table.add_data(epoch, row[0], row[2], int(preds[idx]))


def test_eval_callback_logs_data_and_prediction_tables_as_artifacts(trackwell_online_dir: Path) -> None:
    run = trackwell.init(project="k-eval")
    callback = Predictions(["idx", "x", "y"], ["epoch", "idx", "y", "pred"])
    model = _model()
    _fit(model, [callback], epochs=2)
    run.finish()

    api = trackwell.Api()
    entity = api.default_entity
    data = api.artifact(f"{entity}/k-eval/val:latest")
    assert data.type == "dataset"
    table = data.get("val_data")
    assert table.columns == ["idx", "x", "y"]
    assert [r[0] for r in table.data] == [0, 1, 2, 3] and [r[2] for r in table.data] == Y[:4].tolist()
    np.testing.assert_allclose(np.array([r[1] for r in table.data]), X[:4], rtol=1e-6)
    assert [r.id for r in data.used_by()] == [run.id]
    preds = api.artifact(f"{entity}/k-eval/run_{run.id}_pred:latest")
    assert (preds.type, preds.version) == ("evaluation", "v1")  # one per epoch
    final = preds.get("eval_data")
    assert final.columns == ["epoch", "idx", "y", "pred"]
    expected = model.predict(X[:4], verbose=0).argmax(axis=1).tolist()
    assert final.data == [[1, i, int(Y[i]), expected[i]] for i in range(4)]
    assert api.artifact(f"{entity}/k-eval/run_{run.id}_pred:v0").get("eval_data").data[0][0] == 0


def test_eval_callback_offline_and_abstract(trackwell_dir: Path) -> None:
    run = trackwell.init(project="k", mode="offline")
    callback = Predictions(["idx", "x", "y"], ["epoch", "idx", "y", "pred"])
    _fit(_model(), [callback], epochs=1)
    assert callback.data_table_ref is callback.data_table  # no version before `trackwell sync`
    assert len(callback.pred_table.data) == 4
    run.finish()
    with pytest.raises(TypeError, match="abstract"):
        WandbEvalCallback(["x"], ["y"])  # type: ignore[abstract]
