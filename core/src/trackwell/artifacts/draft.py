"""Building an artifact in this process (a *draft*) and handing it to the run that logs it.

``Artifact.add_file`` and friends call in here: a file is hashed and, for
``policy="mutable"``, copied into the draft's private staging folder as it is added,
so later edits of the original cannot change what is logged. ``log_body`` freezes
the draft on the caller's thread; ``materialize`` runs on the writer thread and moves
the staging folder into the run directory with the manifest the sender uploads from.
A draft saved or linked with no run given goes through the current run, or one of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trackwell import active
from trackwell.artifacts.cache import copy_and_hash, hash_file
from trackwell.artifacts.manifest import ArtifactError, ArtifactManifestEntry, clean_path
from trackwell.settings import Settings

if TYPE_CHECKING:
    from trackwell.artifacts.artifact import Artifact
    from trackwell.media.base import Media
    from trackwell.run import Run

POLICIES = ("mutable", "immutable")


def stage_file(
    art: Artifact,
    local_path: str | os.PathLike[str],
    name: str | None,
    is_tmp: bool,
    skip_cache: bool,
    policy: str,
) -> ArtifactManifestEntry:
    """The entry for one file (``Artifact.add_file``): staged or only hashed, as ``policy`` says."""
    if policy not in POLICIES:
        raise ArtifactError(f"policy must be 'mutable' or 'immutable', not {policy!r}")
    src = Path(local_path)
    if not src.is_file():
        raise ArtifactError(f"cannot add {str(src)!r} to artifact {art._name}: no such file")
    path = clean_path(name if name is not None else src.name)
    before = src.stat()
    if policy == "immutable":
        digest, size = hash_file(src)
        local = str(src.resolve())
        stat = [before.st_size, before.st_mtime_ns]
    else:
        staged = art._stage_dir() / "files" / uuid.uuid4().hex
        digest, size = copy_and_hash(src, staged)
        local = staged.relative_to(art._stage_dir()).as_posix()
        stat = None
    after = src.stat()
    if (after.st_size, after.st_mtime_ns) != (
        before.st_size,
        before.st_mtime_ns,
    ) or size != after.st_size:
        if policy == "mutable":
            (art._stage_dir() / local).unlink(missing_ok=True)
        raise ArtifactError(f"{src} changed while it was being added to artifact {art._name}; add it again")
    if is_tmp:
        stem, dot, ext = path.rpartition(".")
        path = f"{stem}.{digest[:20]}.{ext}" if dot and stem else f"{path}.{digest[:20]}"
    entry = ArtifactManifestEntry(path, digest, size, local_path=local)
    entry.extra = {}
    entry._stat = stat  # type: ignore[attr-defined]
    entry._skip_cache = skip_cache  # type: ignore[attr-defined]
    return entry


def stage_media(art: Artifact, obj: Media, name: str) -> ArtifactManifestEntry:
    """The entry ``<name>.<type>.json`` holding a media object's record (``Artifact.add``);
    the object's own files become entries as its record is written."""
    from trackwell.media.base import Media

    if not isinstance(obj, Media):
        raise ArtifactError(
            f"artifact.add() takes a trackwell media object or Table, got {type(obj).__name__}; "
            "use add_file() for files"
        )
    name = clean_path(name)
    stage = art._stage_dir()
    ctx = MediaContext(stage / "objects", art)
    record = obj.to_record(ctx)
    type_name = str(record.get("_type") or obj._type)
    suffix = "table" if type_name == "table-file" else type_name
    path = name if name.endswith(f".{suffix}.json") else f"{name}.{suffix}.json"
    staged = stage / "files" / uuid.uuid4().hex
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(json.dumps(record, sort_keys=True, default=repr).encode())
    digest, size = hash_file(staged)
    return ArtifactManifestEntry(path, digest, size, local_path=staged.relative_to(stage).as_posix())


@contextlib.contextmanager
def new_file(art: Artifact, name: str, mode: str, encoding: str | None) -> Iterator[IO[Any]]:
    """``Artifact.new_file``: a staged file open for writing, added when the block ends."""
    art._check_draft("new_file")
    path = clean_path(name)
    if path in art.manifest.entries:
        raise ArtifactError(f"artifact {art._name} already has an entry {path!r}")
    if "r" in mode or "+" in mode:
        raise ArtifactError(f"new_file() opens files for writing; mode {mode!r} is not allowed")
    staged = art._stage_dir() / "files" / uuid.uuid4().hex
    staged.parent.mkdir(parents=True, exist_ok=True)
    with open(staged, mode, encoding=encoding if "b" not in mode else None) as fh:
        yield fh
    digest, size = hash_file(staged)
    art._put(
        ArtifactManifestEntry(path, digest, size, local_path=staged.relative_to(art._stage_dir()).as_posix()),
        False,
    )


class MediaContext:
    """``MediaContext`` for ``artifact.add``: files land in staging and become entries."""

    def __init__(self, root: Path, artifact: Artifact) -> None:
        from trackwell.media.base import DirContext

        self._dir = DirContext(root)
        self._root = root
        self._artifact = artifact

    def _entry(self, rel: str) -> str:
        path = self._root / rel
        digest, size = hash_file(path)
        local = path.relative_to(self._artifact._stage_dir()).as_posix()
        self._artifact._put(ArtifactManifestEntry(rel, digest, size, local_path=local), overwrite=True)
        return rel

    def entry_paths(self) -> list[str]:
        """The artifact's entries so far: a ``PartitionedTable`` lists its parts from them."""
        return list(self._artifact.manifest.entries)

    def write_bytes(self, data: bytes, kind: str, suffix: str) -> str:
        return self._entry(self._dir.write_bytes(data, kind, suffix))

    def copy_file(self, src: Path, kind: str, suffix: str) -> str:
        return self._entry(self._dir.copy_file(src, kind, suffix))


def log_body(
    art: Artifact, run: Run, aliases: Sequence[str] | None, tags: Sequence[str] | None
) -> dict[str, Any]:
    """Freeze the draft for ``run.log_artifact`` and return its ARTIFACT record (on the caller)."""
    art._check_draft("log_artifact")
    if aliases is not None:
        art.aliases = [a for a in ([aliases] if isinstance(aliases, str) else aliases)]
    if tags is not None:
        art.tags = list(tags)
    art._state = "LOGGED"
    art._run = run
    art._entity = run.entity
    art._project = run.project
    return {
        "action": "log",
        "client_id": art._client_id,
        "name": art._name,
        "type": art._type,
        "description": art.description,
        "metadata": art.metadata,
        "aliases": [a for a in art._aliases if a != "latest"],
        "tags": art._tags,
        "digest": art.manifest.digest,
        "incremental": art.incremental,
    }


def log_with_a_run(art: Artifact, project: str | None, settings: Any) -> None:
    """``Artifact.save`` of a draft: logged by the current run or, as W&B does, by a run of
    its own of job type ``"auto"`` (in ``project``, with ``settings``), finished here."""
    current = active.get()
    if current is not None:
        current.log_artifact(art)
        return
    quiet = Settings(silent=True) if settings is None else settings  # as W&B
    with active.start(project=project, job_type="auto", settings=quiet) as run:
        run.log_artifact(art)


def link_with_a_run(art: Artifact, target_path: str, aliases: Sequence[str] | None) -> None:
    """``Artifact.link`` of a version not yet committed: linked by the run that logs it (its
    own, the current run, or a run of job type ``"auto"`` finished here)."""
    run = art._run if art._state == "LOGGED" and art._run is not None else active.get()
    if run is not None:
        run.link_artifact(art, target_path, aliases)
        return
    with active.start(job_type="auto", settings=Settings(silent=True)) as auto:
        auto.link_artifact(art, target_path, aliases)


def materialize(art: Artifact, run_dir: Path, body: dict[str, Any]) -> None:
    """On the writer thread: move staging into the run directory and write its manifest."""
    target = run_dir / "artifacts" / art._client_id
    target.parent.mkdir(parents=True, exist_ok=True)
    if art._staging is not None and art._staging.exists():
        try:
            os.replace(art._staging, target)
        except OSError:
            shutil.copytree(art._staging, target, dirs_exist_ok=True)
            shutil.rmtree(art._staging, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    art._staging = target
    entries = {}
    for path, e in art.manifest.entries.items():
        doc = e.to_json()
        doc["local"] = e.local_path
        doc["stat"] = getattr(e, "_stat", None)
        doc["skip_cache"] = getattr(e, "_skip_cache", False)
        doc["remote"] = getattr(e, "_remote", False)
        entries[path] = doc
    tmp = target / "manifest.json.tmp"
    tmp.write_text(json.dumps({"version": 1, "entries": entries}))
    os.replace(tmp, target / "manifest.json")
    body["staging"] = target.relative_to(run_dir).as_posix()
