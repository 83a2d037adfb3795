"""The SDK's composition root: what the write pipeline is handed when a run is made.

The pipeline (``trackwell._pipeline``) imports none of the layers built on it; here they
are given to it: the writer of each run, with how to encode media and tables
(``ports.Encoding``), and the sender's handler of artifact uploads, installed once when
``trackwell`` is imported. ``session.py`` and ``resume.py`` make runs through
``open_log``; a run calls the opener with itself as it is constructed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackwell._pipeline import ports
from trackwell._pipeline.writer import Writer
from trackwell.errors import RunDirError

if TYPE_CHECKING:
    from trackwell.run import Run


def open_log(
    log_file: Path, seq: int = 0, summary: Any = None, config: dict[str, Any] | None = None
) -> Callable[[Run], Writer]:
    """How a run opens its log: ``opener(run)`` opens ``log_file`` (failing now, as
    ``RunDirError``, not later on the writer thread) and returns the run's writer;
    ``seq``, ``summary`` and ``config`` are where a continued run's log goes on."""

    def opener(run: Run) -> Writer:
        try:
            return Writer(run, log_file, _encoding(), seq=seq, summary=summary, config=config)
        except OSError as exc:
            raise RunDirError(f"cannot open the run log {log_file}: {exc.strerror or exc}") from None

    return opener


def _encoding() -> ports.Encoding:
    """How the writer encodes media and tables: through their own interfaces, handed to it
    here so that the pipeline never imports them (``trackwell._pipeline.ports``)."""
    global _writer_encoding
    if _writer_encoding is None:
        from trackwell.media.base import DirContext, Media, to_records

        _writer_encoding = ports.Encoding(Media, DirContext, to_records, _stage_run_table)
    return _writer_encoding


_writer_encoding: ports.Encoding | None = None


def _stage_run_table(run: Run, key: str, table: Any) -> dict[str, Any]:
    from trackwell.artifacts.run_api import stage_run_table  # only once a run logs a table

    return stage_run_table(run, key, table)


def _artifact_jobs(run_dir: Path, moved: Callable[[], None]) -> ports.ArtifactJobs:
    from trackwell.artifacts.upload import ArtifactJobs  # only once a run log holds an artifact

    return ArtifactJobs(run_dir, moved=moved)


# The sender uploads ARTIFACT records through this (every Uploader: live runs, sync, import).
ports.set_artifact_jobs(_artifact_jobs)
