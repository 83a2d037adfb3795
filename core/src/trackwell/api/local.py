"""``LocalApi``: W&B's Public API, answered from local run directories.

The root is where ``trackwell.init()`` wrote (the folder holding ``trackwell/``, the
``trackwell/`` folder itself, or one run directory); it defaults to ``TRACKWELL_DIR``,
then ``WANDB_DIR``, then the working directory, as ``init()`` does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trackwell.api import filters as _filters
from trackwell.api.base import Api
from trackwell.api.cache import LogCache
from trackwell.api.runs import Run, Runs
from trackwell.errors import (
    CorruptRunLog,
    RunNotFoundError,
    SkippedRunWarning,
    UsageError,
)
from trackwell.rundir import find_log, iter_run_dirs, parse_run_dir_name


def default_root() -> Path:
    """Where runs are looked for when no root is given: as ``init()`` writes them."""
    for var in ("TRACKWELL_DIR", "WANDB_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value)
    return Path.cwd()


class LocalApi(Api):
    """Read runs from local run directories with W&B's Public API.

    ``overrides`` takes W&B's ``{"entity": ..., "project": ...}`` defaults, used by
    ``runs()`` when no path is given; ``timeout`` and ``api_key`` are accepted so code
    written for W&B runs unchanged, and ignored (nothing goes over a network).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.settings = dict(overrides or {})
        self._cache = LogCache()

    def flush(self) -> None:
        """Forget parsed logs, so the next call re-reads every run (W&B's ``api.flush()``)."""
        self._cache.clear()

    # -- queries -----------------------------------------------------------------
    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str | None = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
    ) -> Runs:
        """Runs under the root, optionally of one ``"project"`` or ``"entity/project"``.

        ``filters`` is a MongoDB-style dict (see ``trackwell.api.filters``); ``order``
        is ``-created_at`` (newest first, the default), ``+created_at``, or a field such
        as ``summary.loss`` / ``-config.lr``. Unreadable run directories are skipped
        with a ``SkippedRunWarning``. ``per_page`` is accepted for W&B compatibility.
        """
        entity, project = self._split_project(path)
        selected: list[Run] = []
        for run in self._iter_runs():
            if project is not None and run.project != project:
                continue
            if entity is not None and run.entity not in (None, entity):
                continue  # offline runs often have no entity: they match any
            if filters and not _filters.matches(run, filters):
                continue
            selected.append(run)
        where = "/".join(p for p in (entity, project) if p) or str(self.root)
        return Runs(_filters.sort_runs(selected, order), where)

    def run(self, path: str) -> Run:
        """The run at ``"<run_id>"``, ``"<project>/<run_id>"`` or ``"<entity>/<project>/<run_id>"``.

        Raises ``RunNotFoundError`` when no such run is here, and ``CorruptRunLog``
        when its log cannot be read.
        """
        entity, project, run_id = self._split_run_path(path)
        candidates = [
            d for d in iter_run_dirs(self.root) if (parse_run_dir_name(d.name) or ("", "", ""))[2] == run_id
        ]
        if not candidates:
            raise RunNotFoundError(
                f"no run {run_id!r} under {self.root} (looked for trackwell/*-{run_id} directories); "
                "pass Api(root=...) the folder your script ran in, or set TRACKWELL_DIR"
            )
        for run_dir in reversed(candidates):  # newest first, as rundir.find_run_dir
            run = self._load(run_dir)
            if project is not None and run.project != project:
                continue
            if entity is not None and run.entity not in (None, entity):
                continue
            return run
        raise RunNotFoundError(
            f"run {run_id!r} under {self.root} belongs to project "
            f"{self._load(candidates[-1]).project!r}, not {project!r}"
        )

    # -- internals ---------------------------------------------------------------
    def _iter_runs(self) -> list[Run]:
        found = []
        for run_dir in iter_run_dirs(self.root):
            try:
                found.append(self._load(run_dir))
            except (CorruptRunLog, RunNotFoundError, OSError) as exc:
                warnings.warn(f"skipping {run_dir}: {exc}", SkippedRunWarning, stacklevel=3)
        return found

    def _load(self, run_dir: Path) -> Run:
        log = find_log(run_dir)
        if log is None:
            raise RunNotFoundError(f"{run_dir} holds no run log (run-*.twlog)")
        try:
            return Run(run_dir, log, self._cache)
        except CorruptRunLog as exc:
            raise CorruptRunLog(f"{log} is not a readable trackwell run log: {exc}") from None

    def _artifacts_need_a_server(self, *args: Any, **kwargs: Any) -> Any:
        """Artifacts live on a server: ``api.artifact(...)`` and friends say so here."""
        raise UsageError(
            "artifacts are read from a trackwell server, and this Api reads local run directories. "
            "Upload offline runs with `trackwell sync`, then use trackwell.Api() with a server "
            "configured (`trackwell login` or TRACKWELL_BASE_URL)."
        )

    artifact = artifacts = artifact_exists = artifact_type = artifact_types = _artifacts_need_a_server
    artifact_collection = artifact_collections = artifact_collection_exists = _artifacts_need_a_server
    registries = _artifacts_need_a_server

    def __repr__(self) -> str:
        return f"<trackwell.Api root={str(self.root)!r}>"
