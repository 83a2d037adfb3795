"""``TrackwellEvalCallback`` (W&B's ``WandbEvalCallback``): validation tables of predictions."""

from __future__ import annotations

import abc
from typing import Any

import keras

from trackwell.integration import support
from trackwell_keras._common import current_run


class TrackwellEvalCallback(keras.callbacks.Callback, abc.ABC):
    """Base class for callbacks that log a table of validation data and, each epoch, predictions.

    Subclasses implement ``add_ground_truth(logs)`` (fill ``self.data_table`` with
    ``add_data``) and ``add_model_predictions(epoch, logs)`` (fill ``self.pred_table``,
    usually referencing rows of ``self.data_table_ref``). At the start of training the
    data table is logged once as a ``dataset`` artifact; after each epoch the
    predictions table is logged as an ``evaluation`` artifact.

    Tables and artifacts come with trackwell's media/artifacts release: until then
    creating this callback raises ``trackwell.integration.support.MissingFeature``.
    """

    def __init__(
        self, data_table_columns: list[str], pred_table_columns: list[str], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.run = current_run("WandbEvalCallback")
        self._table = support.media_type("Table")
        if not support.has_artifacts(self.run):
            raise support.MissingFeature(f"WandbEvalCallback needs {support.ARTIFACTS_RELEASE}")
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
        self.data_table = self._table(columns=column_names, allow_mixed_types=True)

    def init_pred_table(self, column_names: list[str]) -> None:
        self.pred_table = self._table(columns=column_names, allow_mixed_types=True)

    def log_data_table(self, name: str = "val", type: str = "dataset", table_name: str = "val_data") -> None:
        """Log the data table as an artifact the run uses, and keep a reference to it."""
        import trackwell

        sdk: Any = trackwell
        artifact = sdk.Artifact(name, type=type)
        artifact.add(self.data_table, table_name)
        self.run.use_artifact(artifact)
        artifact.wait()
        self.data_table_ref = artifact.get(table_name)

    def log_pred_table(
        self, type: str = "evaluation", table_name: str = "eval_data", aliases: list[str] | None = None
    ) -> None:
        """Log the predictions table as ``run_<id>_pred``."""
        import trackwell

        sdk: Any = trackwell
        artifact = sdk.Artifact(f"run_{self.run.id}_pred", type=type)
        artifact.add(self.pred_table, table_name)
        self.run.log_artifact(artifact, aliases=aliases or ["latest"])
