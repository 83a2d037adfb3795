"""What the write pipeline needs from the rest of the SDK, as interfaces it is given.

The pipeline encodes media and tables, stages ``run_table`` artifacts and uploads logged
artifacts, yet imports none of ``trackwell.media``, ``trackwell.table`` or
``trackwell.artifacts``: those packages depend on the pipeline's run log, so an import
back would tie the layers into one knot. Instead the caller's side (``trackwell.session``,
the SDK's composition root) hands the writer an :class:`Encoding` when it builds one, and
installs the sender's :data:`ArtifactJobsFactory` once with :func:`set_artifact_jobs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trackwell._pipeline.transport import Transport


class MediaDir(Protocol):
    """Where the writer's encoded media files go (``trackwell.media.base.DirContext``, a
    ``MediaContext`` that also says which files it wrote)."""

    def write_bytes(self, data: bytes, kind: str, suffix: str) -> str:
        """Store ``data`` under a content-hashed name; return its path relative to the root."""
        ...

    def copy_file(self, src: Path, kind: str, suffix: str) -> str:
        """Same, for an existing file."""
        ...

    def take_written(self) -> list[str]:
        """Relative paths of the files written since the previous call, oldest first."""
        ...


@dataclass(frozen=True)
class Encoding:
    """How the writer turns the objects a row may hold (media, tables) into records.

    ``object_type``: values of this type are encoded, not packed (``Media``); a row
    without one never pays for the check. ``media_dir(files_dir)``: the context their
    files are written through. ``encode(value, ctx)``: ``value`` with each such object
    in it replaced by its record. ``stage_table(run, key, table)``: stage the
    ``run_table`` artifact of a table logged under ``key`` into the run directory and
    return the body of its ARTIFACT record (raises when it cannot).
    """

    object_type: type
    media_dir: Callable[[Path], MediaDir]
    encode: Callable[[Any, MediaDir], Any]
    stage_table: Callable[[Any, str, Any], dict[str, Any]]


class ArtifactJobs(Protocol):
    """The sender's handler of a run log's ARTIFACT records (``trackwell.artifacts.upload``)."""

    queue: list[dict[str, Any]]

    def add(self, body: Any, seq: int) -> None:
        """Queue the job of the ARTIFACT record ``body`` at ``seq`` (a repeat is ignored)."""
        ...

    def step(
        self, transport: Transport, entity: str, project: str, run_id: str, timeout: float | None = None
    ) -> None:
        """Do the first queued job; retryable errors propagate."""
        ...

    def report(self) -> None:
        """Say the jobs that failed for good."""
        ...

    def close(self) -> None:
        """Stop the transfer threads."""
        ...


#: ``factory(run_dir, moved)``: the handler of one run's artifact jobs; ``moved()`` is
#: called as each transfer makes progress.
ArtifactJobsFactory = Callable[[Path, Callable[[], None]], ArtifactJobs]

_artifact_jobs: ArtifactJobsFactory | None = None


def set_artifact_jobs(factory: ArtifactJobsFactory) -> None:
    """Install the factory every ``Uploader`` uses for ARTIFACT records (done once, by
    ``trackwell.session`` when the SDK is imported)."""
    global _artifact_jobs
    _artifact_jobs = factory


def artifact_jobs(run_dir: Path, moved: Callable[[], None]) -> ArtifactJobs:
    """A handler from the installed factory."""
    if _artifact_jobs is None:
        raise RuntimeError("trackwell: no artifact uploader is installed (import trackwell first)")
    return _artifact_jobs(run_dir, moved)
