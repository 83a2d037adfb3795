"""``TrackwellMetricsLogger`` (W&B's ``WandbMetricsLogger``): metrics of ``model.fit``."""

from __future__ import annotations

from typing import Any, Literal

import keras

from trackwell_keras._common import current_run, learning_rate, scalars


class TrackwellMetricsLogger(keras.callbacks.Callback):
    """Log the metrics and learning rate Keras reports, as W&B's ``WandbMetricsLogger``.

    Per epoch: ``epoch/<metric>``, ``epoch/learning_rate`` and ``epoch/epoch`` (their
    step metric). With ``log_freq="batch"`` or an int N, also every N training batches:
    ``batch/<metric>``, ``batch/learning_rate`` and ``batch/batch_step``.

    :param log_freq: ``"epoch"`` (default), ``"batch"`` (every batch) or an int N.
    :param initial_global_step: the optimizer step training resumes from (with
        ``initial_epoch``), so a learning-rate schedule is read at the right step.
    """

    def __init__(
        self,
        log_freq: Literal["epoch", "batch"] | int = "epoch",
        initial_global_step: int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.run = current_run("WandbMetricsLogger")
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and (
            not isinstance(log_freq, int) or isinstance(log_freq, bool) or log_freq < 1
        ):
            raise ValueError(f"log_freq must be 'epoch', 'batch' or a positive int, not {log_freq!r}")
        self.logging_batch_wise = isinstance(log_freq, int)
        self.log_freq: Any = log_freq
        self.global_batch = 0
        self.global_step = initial_global_step
        self.run.define_metric("epoch/epoch")
        self.run.define_metric("epoch/*", step_metric="epoch/epoch")
        if self.logging_batch_wise:
            self.run.define_metric("batch/batch_step")
            self.run.define_metric("batch/*", step_metric="batch/batch_step")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = scalars(logs, "epoch/")
        row["epoch/epoch"] = epoch
        lr = learning_rate(self.model)
        if lr is not None:
            row["epoch/learning_rate"] = lr
        self.run.log(row)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if self.logging_batch_wise and batch % self.log_freq == 0:
            row = scalars(logs, "batch/")
            row["batch/batch_step"] = self.global_batch
            lr = learning_rate(self.model)
            if lr is not None:
                row["batch/learning_rate"] = lr
            self.run.log(row)
            self.global_batch += self.log_freq

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)
