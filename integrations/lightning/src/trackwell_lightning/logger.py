"""``TrackwellLogger``: a ``lightning.pytorch`` logger writing to a trackwell run.

Same constructor arguments and methods as Lightning's ``WandbLogger``. The run starts
lazily, on rank 0 only (other ranks get Lightning's dummy experiment, so a DDP job
logs once); a run already started with ``trackwell.init()`` is used as it is.
``trainer/global_step`` is the step metric of every other key.
"""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities.rank_zero import rank_zero_only, rank_zero_warn

import trackwell
from trackwell.extend import support

STEP_METRIC = "trainer/global_step"
#: ModelCheckpoint settings recorded in each checkpoint's artifact metadata.
_CHECKPOINT_FIELDS = (
    "monitor",
    "mode",
    "save_last",
    "save_top_k",
    "save_weights_only",
    "_every_n_train_steps",
)


class TrackwellLogger(Logger):
    """Log a Lightning ``Trainer`` to trackwell; arguments as Lightning's ``WandbLogger``.

    :param name: display name of the run.
    :param save_dir: where ``trackwell/`` is created (also Lightning's checkpoint root).
    :param version: id of the run to start or resume (same as ``id``).
    :param offline: log offline (trackwell's default until a server is configured).
    :param dir: same as ``save_dir`` (W&B's name), used when ``save_dir`` is None.
    :param id: id of the run to start or resume.
    :param anonymous: accepted for W&B compatibility.
    :param project: project (default ``TRACKWELL_PROJECT``/``WANDB_PROJECT``, then ``lightning_logs``).
    :param log_model: ``True``: log the checkpoints of ``ModelCheckpoint`` as model artifacts at
        the end of training (``latest``/``best`` aliases, score in the metadata); ``"all"``: log
        each checkpoint as soon as it is saved; ``False``: none.
    :param experiment: an existing trackwell run to log to.
    :param prefix: prefix for every metric key, joined with ``-``.
    :param checkpoint_name: artifact name of the checkpoints (default ``model-<run id>``).
    :param add_file_policy: ``"mutable"`` copies each checkpoint when it is logged (safe if
        Lightning overwrites ``last.ckpt``); ``"immutable"`` only hashes it (no copy).
    :param kwargs: more ``trackwell.init()`` arguments (tags, group, config, job_type, ...).
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        name: str | None = None,
        save_dir: str | os.PathLike[str] | None = ".",
        version: str | None = None,
        offline: bool = False,
        dir: str | os.PathLike[str] | None = None,
        id: str | None = None,
        anonymous: bool | None = None,
        project: str | None = None,
        log_model: Literal["all"] | bool = False,
        experiment: Any = None,
        prefix: str = "",
        checkpoint_name: str | None = None,
        add_file_policy: Literal["mutable", "immutable"] = "mutable",
        **kwargs: Any,
    ) -> None:
        if log_model not in (True, False, "all"):
            raise ValueError(f"log_model must be True, False or 'all', not {log_model!r}")
        super().__init__()
        self._offline = offline
        self._log_model = log_model
        self._prefix = prefix
        self._experiment = experiment
        self._checkpoint_name = checkpoint_name
        self.add_file_policy = add_file_policy
        self._logged_model_time: dict[str, float] = {}
        self._checkpoint_callbacks: dict[int, ModelCheckpoint] = {}
        root = save_dir if save_dir is not None else dir
        project = project or os.environ.get("TRACKWELL_PROJECT") or os.environ.get("WANDB_PROJECT")
        run_id = version or id
        self._init_args: dict[str, Any] = {
            "name": name,
            "project": project or "lightning_logs",
            "dir": os.fspath(root) if root is not None else None,
            "id": run_id,
            "resume": "allow" if run_id else None,
            "anonymous": "allow" if anonymous else None,
        }
        if offline:
            self._init_args["mode"] = "offline"
        self._init_args.update(kwargs)
        self._project: str = self._init_args["project"]
        self._save_dir: str | None = self._init_args["dir"]
        self._name = self._init_args["name"]
        self._id = run_id

    def __getstate__(self) -> dict[str, Any]:
        # Lightning pickles loggers for spawned workers: the run itself cannot travel;
        # a worker that needs it resumes the run by id.
        state = self.__dict__.copy()
        if self._experiment is not None:
            state["_id"] = getattr(self._experiment, "id", self._id)
            state["_name"] = getattr(self._experiment, "name", self._name)
        state["_experiment"] = None
        return state

    # -- the run ----------------------------------------------------------------
    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The trackwell run (``trackwell.Run``); Lightning's dummy object on other ranks."""
        if self._experiment is None:
            if trackwell.run is not None:
                rank_zero_warn(
                    "There is a trackwell run already in progress and newly created instances of "
                    "TrackwellLogger will reuse this run. If this is not desired, call "
                    "`trackwell.finish()` before instantiating the logger."
                )
                self._experiment = trackwell.run
            else:
                args = {k: v for k, v in self._init_args.items() if v is not None}
                if self._id is not None:
                    args["id"] = self._id
                self._experiment = trackwell.init(**args)
                # the x-axis of a run this logger started (a user's own run keeps its own)
                if self._init_args.get("sync_tensorboard"):
                    self._experiment.define_metric("*", step_metric="global_step")
                else:
                    self._experiment.define_metric(STEP_METRIC)
                    self._experiment.define_metric("*", step_metric=STEP_METRIC, step_sync=True)
        return self._experiment

    @property
    def save_dir(self) -> str | None:
        """Where the run directory (and Lightning's checkpoints) go."""
        return self._save_dir

    @property
    def name(self) -> str | None:
        """The project name (Lightning's convention), not the run's display name."""
        return self._project

    @property
    def version(self) -> str | None:
        """The run id (the id given to the constructor before the run starts)."""
        return self._experiment.id if self._experiment is not None else self._id

    # -- logging --------------------------------------------------------------------
    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace) -> None:
        """Record hyperparameters in ``run.config`` (values may change between calls)."""
        if isinstance(params, Namespace):
            params = vars(params)
        self.experiment.config.update(support.clean_config(dict(params or {})), allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log one row; ``step`` goes in as ``trainer/global_step``."""
        row = dict(metrics)
        if self._prefix:
            row = {f"{self._prefix}{self.LOGGER_JOIN_CHAR}{k}": v for k, v in row.items()}
        if step is not None and not self._init_args.get("sync_tensorboard"):
            row[STEP_METRIC] = step
        self.experiment.log(row)

    @rank_zero_only
    def log_table(
        self,
        key: str,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """Log a ``trackwell.Table`` from ``columns`` + ``data`` or a ``dataframe``."""
        self.log_metrics({key: trackwell.Table(columns=columns, data=data, dataframe=dataframe)}, step)

    @rank_zero_only
    def log_text(
        self,
        key: str,
        columns: list[str] | None = None,
        data: list[list[str]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """Log text as a table."""
        self.log_table(key, columns, data, dataframe, step)

    @rank_zero_only
    def log_image(self, key: str, images: list[Any], step: int | None = None, **kwargs: Any) -> None:
        """Log images; each keyword argument is a list with one value per image (caption, masks, ...)."""
        self._log_media("Image", key, images, step, kwargs)

    @rank_zero_only
    def log_audio(self, key: str, audios: list[Any], step: int | None = None, **kwargs: Any) -> None:
        """Log audio clips; keyword arguments are lists, one value per clip (sample_rate, caption)."""
        self._log_media("Audio", key, audios, step, kwargs)

    @rank_zero_only
    def log_video(self, key: str, videos: list[Any], step: int | None = None, **kwargs: Any) -> None:
        """Log videos; keyword arguments are lists, one value per video (fps, caption, format)."""
        self._log_media("Video", key, videos, step, kwargs)

    def _log_media(
        self, kind: str, key: str, items: list[Any], step: int | None, kwargs: dict[str, Any]
    ) -> None:
        noun = kind.lower() + "s"
        if not isinstance(items, list):
            raise TypeError(f'Expected a list as "{noun}", found {type(items)}')
        for k, v in kwargs.items():
            if len(v) != len(items):
                raise ValueError(f"Expected {len(items)} items but only found {len(v)} for {k}")
        cls = getattr(trackwell, kind)
        values = [cls(item, **{k: v[i] for k, v in kwargs.items()}) for i, item in enumerate(items)]
        self.log_metrics({key: values}, step)

    def watch(
        self, model: Any, log: str | None = "gradients", log_freq: int = 100, log_graph: bool = True
    ) -> None:
        """``run.watch(model, ...)``: gradient/parameter histograms every ``log_freq`` steps.

        Needs ``trackwell-torch`` (``pip install -e integrations/torch``), which ``run.watch`` says
        when it is missing. A no-op on ranks other than 0.
        """
        self.experiment.watch(model, log=log, log_freq=log_freq, log_graph=log_graph)

    # -- checkpoints as artifacts ----------------------------------------------------
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if self._log_model == "all" or (self._log_model is True and checkpoint_callback.save_top_k == -1):
            self._log_checkpoints(checkpoint_callback)
        elif self._log_model is True:
            self._checkpoint_callbacks[id(checkpoint_callback)] = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if status != "success" or self._experiment is None:
            return  # as Lightning's: checkpoints are logged only after a successful fit
        for callback in self._checkpoint_callbacks.values():
            self._log_checkpoints(callback)

    @rank_zero_only
    def _log_checkpoints(self, callback: ModelCheckpoint) -> None:
        for mtime, path, score, _ in new_checkpoints(callback, self._logged_model_time):
            metadata = {
                "score": score.item() if hasattr(score, "item") else score,
                "original_filename": Path(path).name,
                callback.__class__.__name__: {
                    k: getattr(callback, k) for k in _CHECKPOINT_FIELDS if hasattr(callback, k)
                },
            }
            if not self._checkpoint_name:
                self._checkpoint_name = f"model-{self.experiment.id}"
            aliases = ["latest", "best"] if path == callback.best_model_path else ["latest"]
            support.log_model_artifact(
                self.experiment,
                self._checkpoint_name,
                files={"model.ckpt": path},
                aliases=aliases,
                metadata=metadata,
                policy=self.add_file_policy,
            )
            self._logged_model_time[path] = mtime

    # -- artifacts ---------------------------------------------------------------------
    @rank_zero_only
    def use_artifact(self, artifact: str, artifact_type: str | None = None) -> Any:
        """Declare ``artifact`` (``"name:alias"``, ``"entity/project/name:v3"``) an input of this run."""
        return self.experiment.use_artifact(artifact, type=artifact_type)

    @staticmethod
    @rank_zero_only
    def download_artifact(
        artifact: str,
        save_dir: str | os.PathLike[str] | None = None,
        artifact_type: str | None = None,
        use_artifact: bool | None = True,
    ) -> str:
        """Download ``artifact`` (through the current run when ``use_artifact``) and return its path."""
        if trackwell.run is not None and use_artifact:
            found = trackwell.run.use_artifact(artifact, type=artifact_type)
        else:
            api: Any = trackwell.Api()  # a server's Api; the local one has no artifacts
            found = api.artifact(artifact, type=artifact_type)
        return str(found.download(root=None if save_dir is None else os.fspath(save_dir)))


def new_checkpoints(
    callback: ModelCheckpoint, logged: Mapping[str, float]
) -> list[tuple[float, str, Any, str]]:
    """Checkpoints of ``callback`` saved since last logged: (mtime, path, score, tag), oldest first."""
    found: dict[str, tuple[Any, str]] = {}
    for path, score in getattr(callback, "best_k_models", {}).items():
        found[path] = (score, "best_k")
    if callback.last_model_path:
        found.setdefault(callback.last_model_path, (getattr(callback, "current_score", None), "latest"))
    if callback.best_model_path:
        found[callback.best_model_path] = (callback.best_model_score, "best")
    out = []
    for path, (score, tag) in found.items():
        try:
            mtime = os.path.getmtime(path)
        except OSError:
            continue  # removed by save_top_k meanwhile
        if path not in logged or logged[path] < mtime:
            out.append((mtime, path, score, tag))
    out.sort(key=lambda item: item[0])
    return out
