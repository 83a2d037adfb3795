"""What the framework integrations share: config cleaning, model artifacts, media, rank checks.

Artifacts, media and ``run.watch`` arrive in later releases. Until a feature exists in
this trackwell, the integration code that needs it calls through here and gets a
``MissingFeature`` error or a single warning that says what is missing, what still
happened (the checkpoint on disk, for instance) and what to install. Nothing here
imports a framework.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import trackwell
from trackwell.errors import TrackwellError, warn_user

_warned: set[str] = set()

ARTIFACTS_RELEASE = "trackwell artifacts, which come with the media/artifacts release"


class MissingFeature(TrackwellError, NotImplementedError):
    """An integration call needs a trackwell feature this version does not have yet."""


def warn_once(key: str, message: str) -> None:
    """Warn with ``message`` the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        warn_user(message)


def has_artifacts(run: Any) -> bool:
    """True when this trackwell can log artifacts (``trackwell.Artifact`` and ``run.log_artifact``)."""
    return hasattr(trackwell, "Artifact") and callable(getattr(run, "log_artifact", None))


def log_model_artifact(
    run: Any,
    name: str,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
    directory: str | os.PathLike[str] | None = None,
    aliases: Iterable[str] = ("latest",),
    metadata: Mapping[str, Any] | None = None,
    what: str = "log_model",
) -> Any:
    """Log files (``{name in artifact: path}``) or a directory as a ``model`` artifact.

    Returns the logged artifact, or None (with one warning naming ``what`` and where the
    files stay on disk) when this trackwell has no artifacts yet.
    """
    paths = [str(p) for p in (files or {}).values()] + ([str(directory)] if directory else [])
    if not has_artifacts(run):
        where = ", ".join(paths) or "disk"
        warn_once(
            f"artifacts:{what}",
            f"trackwell: {what} needs {ARTIFACTS_RELEASE}; the model is not logged to the run. "
            f"Checkpoints are still saved on disk (first: {where}).",
        )
        return None
    sdk: Any = trackwell  # Artifact arrives with the media/artifacts release
    artifact = sdk.Artifact(name=name, type="model", metadata=dict(metadata or {}))
    for arcname, path in (files or {}).items():
        artifact.add_file(os.fspath(path), name=arcname)
    if directory is not None:
        artifact.add_dir(os.fspath(directory))
    return run.log_artifact(artifact, aliases=list(aliases))


def use_artifact(run: Any, name: str, type: str | None = None) -> Any:
    """``run.use_artifact(name, type=type)``, or ``MissingFeature`` before artifacts exist."""
    if run is None or not callable(getattr(run, "use_artifact", None)):
        raise MissingFeature(f"use_artifact({name!r}) needs {ARTIFACTS_RELEASE}")
    return run.use_artifact(name, type=type)


def media_type(name: str) -> Any:
    """``trackwell.<name>`` (``Image``, ``Table``, ``Audio``, ...) or ``MissingFeature``."""
    cls = getattr(trackwell, name, None)
    if cls is None:
        raise MissingFeature(
            f"trackwell.{name} comes with the media/artifacts release; this trackwell cannot log it yet"
        )
    return cls


def watch(run: Any, model: Any, log: str | None = "gradients", log_freq: int = 100, **kwargs: Any) -> bool:
    """``run.watch(model, ...)`` when this trackwell has it; else one warning and False."""
    method = getattr(run, "watch", None)
    if not callable(method):
        warn_once(
            "watch",
            "trackwell: watch() (gradient and parameter histograms) comes with the torch integration "
            "release; the model is not watched, everything else is logged as usual",
        )
        return False
    method(model, log=log, log_freq=log_freq, **kwargs)
    return True


def clean_config(params: Mapping[str, Any]) -> dict[str, Any]:
    """Make a framework's hyperparameters storable: nested dicts kept, other objects as text.

    Callables become their qualified name and objects their ``str()``, as W&B's
    integrations do, so nothing raises on an optimizer class or a lambda.
    """
    return {str(k): _clean(v, 0) for k, v in params.items()}


def _clean(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 8:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, Path):
        return os.fspath(value)
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "ndim", None) == 0:
        try:
            return _clean(item(), depth + 1)
        except Exception:
            pass
    if callable(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or str(value)
    return str(value)


def global_rank() -> int:
    """This process's rank in a distributed job (0 when not distributed), from the usual variables."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "JSM_NAMESPACE_RANK"):
        value = os.environ.get(var)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                continue
    return 0
