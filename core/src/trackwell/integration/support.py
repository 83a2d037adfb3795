"""What the framework integrations share: config cleaning, model artifacts, once-only warnings.

Nothing here imports a framework: the integration packages (``trackwell-lightning``,
``trackwell-transformers``, ``trackwell-keras``) call these so that their checkpoints
become artifacts, and their hyperparameters config, the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trackwell.errors import warn_user

_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Warn with ``message`` the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        warn_user(message)


def log_model_artifact(
    run: Any,
    name: str,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
    directory: str | os.PathLike[str] | None = None,
    aliases: Iterable[str] = ("latest",),
    metadata: Mapping[str, Any] | None = None,
    policy: str = "mutable",
) -> Any:
    """Log files (``{name in artifact: path}``) and/or a directory as a ``model`` artifact of ``run``.

    With ``policy="mutable"`` the files are staged (copied) before this returns, so a
    framework may overwrite or delete its checkpoint right after; ``"immutable"`` only
    hashes them. Uploading happens on the run's sender thread.
    Returns the logged ``trackwell.Artifact`` (``.wait()`` for its version).
    """
    from trackwell.artifacts.artifact import Artifact

    artifact = Artifact(name=name, type="model", metadata=dict(metadata or {}))
    for arcname, path in (files or {}).items():
        artifact.add_file(os.fspath(path), name=arcname, policy=policy)
    if directory is not None:
        artifact.add_dir(os.fspath(directory))
    return run.log_artifact(artifact, aliases=list(aliases))


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
