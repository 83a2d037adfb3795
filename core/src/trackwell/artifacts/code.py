"""The body of ``Run.log_code``: a directory's source files as a ``code`` artifact, as W&B makes it.

W&B names the artifact ``source-<project>-<program path>`` so that every run of one
script adds versions to one collection (unchanged code is the same version), and
returns ``None`` with a warning when no file matched.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trackwell.artifacts.artifact import Artifact
from trackwell.artifacts.run_api import _safe
from trackwell.errors import warn_user

if TYPE_CHECKING:
    from trackwell.run import Run

#: Folders that hold runs, not code: the run directories of trackwell and W&B.
RUN_DIRS = ("trackwell", "wandb", ".wandb")


def is_python(path: str, root: str) -> bool:
    """W&B's default ``include_fn``: Python sources."""
    return path.endswith(".py")


def exclude_run_dirs(path: str, root: str) -> bool:
    """The default ``exclude_fn``: files under a run folder (``trackwell/``, ``wandb/``) of ``root``.

    The folder holding this run's directory, virtual environments and ``.git`` are
    never walked into (``log_code`` prunes them before asking, whatever ``exclude_fn``).
    """
    first = os.path.relpath(path, root).split(os.sep, 1)[0]
    return first in RUN_DIRS


def log_code(
    run: Run,
    root: str | os.PathLike[str] | None,
    name: str | None,
    include_fn: Callable[..., bool],
    exclude_fn: Callable[..., bool],
) -> Artifact | None:
    """Add the files under ``root`` that ``include_fn`` takes and ``exclude_fn`` does not."""
    root_dir = os.path.abspath(os.fspath(root) if root is not None else ".")
    include, exclude = _two_args(include_fn), _two_args(exclude_fn)
    art = Artifact(name or _default_name(run), "code")
    found = 0
    # the folder of the runs (this one's among them, written to as we walk): run.dir is <run>/files
    runs = os.path.abspath(os.path.dirname(os.path.dirname(run.dir)))
    for folder, dirs, files in os.walk(root_dir):
        dirs[:] = sorted(d for d in dirs if not _skipped_dir(os.path.join(folder, d), runs))
        for file in sorted(files):
            path = os.path.join(folder, file)
            if include(path, root_dir) and not exclude(path, root_dir):
                art.add_file(path, name=os.path.relpath(path, root_dir))
                found += 1
    if not found:
        warn_user(
            "trackwell: log_code found no files to save in " + root_dir + "; no code artifact was logged"
        )
        return None
    return run.log_artifact(art)


def _skipped_dir(path: str, runs: str) -> bool:
    """A folder no code artifact wants: the runs, version control, caches, a virtual environment."""
    base = os.path.basename(path)
    if path == runs or base in (".git", "__pycache__", "node_modules"):
        return True
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def _default_name(run: Run) -> str:
    """``source-<project>-<program, relative to the working directory>``; the run id when no script."""
    from trackwell.metadata import program_path

    program = program_path()
    where = os.path.relpath(program) if program else run.id
    if where.startswith(".."):  # a script outside the working directory: its file name
        where = os.path.basename(where)
    return _safe(f"source-{run.project}-{where}")


def _two_args(fn: Callable[..., bool]) -> Callable[[str, str], bool]:
    """W&B accepts ``fn(path)`` and ``fn(path, root)``: call either with both."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume (path, root)
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return fn

    def one(path: str, root: str) -> Any:
        return fn(path)

    return one
