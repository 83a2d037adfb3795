"""``WandbCallback``: W&B's older all-in-one Keras callback, for code that still uses it.

Logs every epoch's metrics with ``epoch`` (and every ``log_batch_frequency`` batches),
keeps ``best_<monitor>`` and ``best_epoch`` in the summary, saves the best model
into the run (``files/model-best.keras``) and, with ``log_weights``, logs a histogram
of each layer weight per epoch. ``log_gradients`` and ``log_evaluation`` (which W&B
deprecated with this callback) warn once and are ignored.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import keras

from trackwell.extend import run_directory, support
from trackwell_keras._common import current_run, learning_rate, scalars


class WandbCallback(keras.callbacks.Callback):
    """W&B's ``WandbCallback`` (same arguments; ``log_gradients``/``log_evaluation`` warn, ignored)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        verbose: int = 0,
        mode: str = "auto",
        save_weights_only: bool = False,
        log_weights: bool = False,
        log_gradients: bool = False,
        save_model: bool = True,
        training_data: Any = None,
        validation_data: Any = None,
        labels: Any = None,
        predictions: int = 36,
        generator: Any = None,
        input_type: str | None = None,
        output_type: str | None = None,
        log_evaluation: bool = False,
        validation_steps: int | None = None,
        class_colors: Any = None,
        log_batch_frequency: int | None = None,
        log_best_prefix: str = "best_",
        save_graph: bool = True,
        validation_indexes: Any = None,
        validation_row_processor: Any = None,
        prediction_row_processor: Any = None,
        infer_missing_processors: bool = True,
        log_evaluation_frequency: int = 0,
        compute_flops: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.run = current_run("WandbCallback")
        self.monitor = monitor
        self.verbose = verbose
        self.save_weights_only = save_weights_only
        self.save_model = save_model
        self.log_batch_frequency = log_batch_frequency
        self.log_best_prefix = log_best_prefix
        self.current: Any = None
        if mode not in ("auto", "min", "max"):
            mode = "auto"
        if mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))):
            self.monitor_op, self.best = operator.gt, -math.inf
        else:
            self.monitor_op, self.best = operator.lt, math.inf
        ext = ".weights.h5" if save_weights_only else ".keras"
        self.filepath = run_directory(self.run) / "checkpoints" / f"model-best{ext}"
        self.log_weights = log_weights
        for flag, what, instead in (
            (log_gradients, "log_gradients", "trackwell.watch() on a torch-backend model's module"),
            (log_evaluation, "log_evaluation", "WandbEvalCallback"),
        ):
            if flag:
                support.warn_once(
                    f"keras-legacy-{what}",
                    f"trackwell: WandbCallback({what}=True) is not supported by trackwell's legacy "
                    f"callback (W&B deprecated it); it is ignored, use {instead}. Metrics, weights and "
                    "the best model are still logged",
                )

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.log_batch_frequency and batch % self.log_batch_frequency == 0:
            self.run.log({"batch": batch, **scalars(logs)}, commit=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        row: dict[str, Any] = {"epoch": epoch, **scalars(logs)}
        if self.log_weights:
            row.update(weight_histograms(self.model))
        lr = learning_rate(self.model)
        if lr is not None:
            row["learning_rate"] = lr
        self.run.log(row, commit=True)
        self.current = logs.get(self.monitor)
        if self.current is not None and self.monitor_op(float(self.current), self.best):
            if self.log_best_prefix:
                self.run.summary[f"{self.log_best_prefix}{self.monitor}"] = float(self.current)
                self.run.summary[f"{self.log_best_prefix}epoch"] = epoch
                if self.verbose and not self.save_model:
                    now = float(self.current)
                    print(f"Epoch {epoch:05d}: {self.monitor} improved from {self.best:.5f} to {now:.5f}")
            if self.save_model:
                self._save_best(epoch)
            self.best = float(self.current)

    def _save_best(self, epoch: int) -> None:
        if self.verbose > 0:
            print(
                f"Epoch {epoch:05d}: {self.monitor} improved from {self.best:.5f} to {self.current:.5f}, "
                f"saving model to {self.filepath}"
            )
        self.filepath.parent.mkdir(parents=True, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(str(self.filepath), overwrite=True)
        else:
            self.model.save(str(self.filepath), overwrite=True)
        self.run.save(str(self.filepath), base_path=str(self.filepath.parent), policy="live")


def weight_histograms(model: Any) -> dict[str, Any]:
    """``parameters/<layer>.<weight>`` -> ``trackwell.Histogram`` of its values, as W&B's ``log_weights``."""
    import trackwell

    out: dict[str, Any] = {}
    for layer in model.layers:
        for weight in layer.weights:
            values = keras.ops.convert_to_numpy(weight.value)
            out[f"parameters/{layer.name}.{weight.name}"] = trackwell.Histogram(values)
    return out
