"""``TrackwellModelCheckpoint`` (W&B's ``WandbModelCheckpoint``): saved models as artifacts."""

from __future__ import annotations

import os
from typing import Any, Literal

import keras

from trackwell.extend import support
from trackwell_keras._common import current_run


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class TrackwellModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` (same arguments) that logs each save as a model artifact.

    As W&B's: the artifact is ``run_<run id>_model`` (the saved file, or directory, under
    its own name) with aliases ``latest`` and ``epoch_<epoch>`` (Keras' 0-based epoch;
    ``epoch_<epoch>_batch_<batch>`` when saving every N batches). A save that Keras skips
    (``save_best_only`` without improvement) logs nothing. The file is saved on disk
    exactly as Keras saves it; the artifact holds a copy taken at once, so the next save
    may overwrite it.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: Literal["auto", "min", "max"] = "auto",
        save_freq: Literal["epoch"] | int = "epoch",
        initial_value_threshold: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filepath=filepath,
            monitor=monitor,
            verbose=verbose,
            save_best_only=save_best_only,
            save_weights_only=save_weights_only,
            mode=mode,
            save_freq=save_freq,
            initial_value_threshold=initial_value_threshold,
            **kwargs,
        )
        self.run = current_run("WandbModelCheckpoint")
        if not callable(getattr(keras.callbacks.ModelCheckpoint, "_save_model", None)):
            support.warn_once(
                "keras-checkpoint-api",
                f"trackwell: keras {keras.__version__} saves checkpoints differently from the versions "
                "trackwell-keras supports (keras>=3.3,<4); models are saved but not logged as artifacts",
            )

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        # Keras' own hook for "save now if the policy says so": compare the file before
        # and after to know whether it really saved.
        path = self._checkpoint_path(epoch, batch, logs)
        before = _stamp(path) if path else None
        super()._save_model(epoch, batch, logs)
        after = _stamp(path) if path else None
        if path and after is not None and after != before:
            self._log_artifact(path, epoch, batch)

    def _checkpoint_path(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> str | None:
        try:
            return str(self._get_file_path(epoch, batch, logs))
        except Exception:
            return None

    def _log_artifact(self, path: str, epoch: int, batch: int | None) -> None:
        alias = f"epoch_{epoch}" if batch is None else f"epoch_{epoch}_batch_{batch}"
        metadata: dict[str, Any] = {"epoch": epoch, "monitor": self.monitor}
        best = getattr(self, "best", None)
        if best is not None:
            try:
                metadata["best"] = float(best)
            except (TypeError, ValueError):
                pass
        name = f"run_{self.run.id}_model"
        if os.path.isdir(path):
            support.log_model_artifact(
                self.run, name, directory=path, aliases=["latest", alias], metadata=metadata
            )
        else:
            files = {os.path.basename(path): path}
            support.log_model_artifact(
                self.run, name, files=files, aliases=["latest", alias], metadata=metadata
            )
