"""``TrackwellEvalCallback`` (W&B's ``WandbEvalCallback``): validation tables of predictions."""

from __future__ import annotations

import abc
from typing import Any

import keras

import trackwell
from trackwell_keras._common import current_run


class TrackwellEvalCallback(keras.callbacks.Callback, abc.ABC):
    """Base class for callbacks that log a table of validation data and, each epoch, predictions.

    Subclasses implement ``add_ground_truth(logs)`` (fill ``self.data_table`` with
    ``add_data``) and ``add_model_predictions(epoch, logs)`` (fill ``self.pred_table``,
    usually with rows of ``self.data_table_ref``, the data table read back from its
    artifact). As W&B's: at the start of training the data table is logged once as the
    ``dataset`` artifact ``val`` (entry ``val_data``) that the run uses; after each epoch
    the predictions table is logged as the ``evaluation`` artifact ``run_<id>_pred``
    (entry ``eval_data``, alias ``latest``). Read them back with
    ``api.artifact("run_<id>_pred:latest").get("eval_data")``.
    """

    def __init__(
        self, data_table_columns: list[str], pred_table_columns: list[str], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.run = current_run("WandbEvalCallback")
        self.data_table_columns = data_table_columns
        self.pred_table_columns = pred_table_columns
        self.data_table: Any = None
        self.pred_table: Any = None
        self.data_table_ref: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.init_data_table(column_names=self.data_table_columns)
        self.add_ground_truth(logs)
        self.log_data_table()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.init_pred_table(column_names=self.pred_table_columns)
        self.add_model_predictions(epoch, logs)
        self.log_pred_table()

    @abc.abstractmethod
    def add_ground_truth(self, logs: dict[str, Any] | None = None) -> None:
        """Add the validation inputs and targets to ``self.data_table``."""

    @abc.abstractmethod
    def add_model_predictions(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Add this epoch's predictions to ``self.pred_table``."""

    def init_data_table(self, column_names: list[str]) -> None:
        """A fresh ``self.data_table`` with these columns (mixed types allowed, as W&B's)."""
        self.data_table = trackwell.Table(columns=column_names, allow_mixed_types=True)

    def init_pred_table(self, column_names: list[str]) -> None:
        """A fresh ``self.pred_table`` with these columns (mixed types allowed, as W&B's)."""
        self.pred_table = trackwell.Table(columns=column_names, allow_mixed_types=True)

    def log_data_table(self, name: str = "val", type: str = "dataset", table_name: str = "val_data") -> None:
        """Log the data table as an artifact the run uses, and keep ``data_table_ref``.

        Online, ``data_table_ref`` is the table read back from the committed artifact (so
        predictions are joined against what was stored). An offline run's artifact gets
        its version only at ``trackwell sync``, so there the reference is the table itself.
        """
        artifact = trackwell.Artifact(name, type=type)
        artifact.add(self.data_table, table_name)
        self.run.use_artifact(artifact)
        if self.run.offline:
            self.data_table_ref = self.data_table
            return
        artifact.wait()
        self.data_table_ref = artifact.get(table_name)

    def log_pred_table(
        self, type: str = "evaluation", table_name: str = "eval_data", aliases: list[str] | None = None
    ) -> None:
        """Log the predictions table as the artifact ``run_<id>_pred`` (aliases default ``latest``)."""
        artifact = trackwell.Artifact(f"run_{self.run.id}_pred", type=type)
        artifact.add(self.pred_table, table_name)
        self.run.log_artifact(artifact, aliases=aliases or ["latest"])
