"""``trackwell.Artifact``: W&B's ``wandb.Artifact``, a versioned set of files and references.

An artifact is built in this process (a *draft*: files are hashed and, for
``policy="mutable"``, copied into a private staging folder as they are added, so
later edits of the originals cannot change what is logged), then logged through a
run: the writer moves the staging folder into the run directory and records it in
the run log, and the run's sender (or ``trackwell sync``) uploads the blobs the
server lacks and commits the version. ``wait()`` blocks until then. An artifact read
from a server (``run.use_artifact``, ``api.artifact``) is *committed*: its manifest
comes from the server and ``download()`` fetches files through the local cache.

This module holds the class, its identity and W&B's methods; the work is done by
``draft.py`` (building a draft, handing it to a run), ``download.py`` (reading and
fetching files), ``versions.py`` (a committed version's server calls), ``commits.py``
(waiting for the sender) and ``names.py``. They reach the current run, ``init()`` and
the Public API (a layer above) through ``trackwell.active``, never by importing them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trackwell.artifacts import commits, download, draft, versions
from trackwell.artifacts.cache import cache_root
from trackwell.artifacts.manifest import ArtifactError, ArtifactManifest, ArtifactManifestEntry, clean_path
from trackwell.artifacts.names import check_name, check_tag

if TYPE_CHECKING:
    from trackwell.artifacts.client import ArtifactClient
    from trackwell.media.base import Media
    from trackwell.run import Run


class Artifact:
    """A versioned collection of files (W&B's ``wandb.Artifact``).

    ``Artifact(name, type, description=None, metadata=None, incremental=False)``;
    add content with ``add_file``, ``add_dir``, ``add_reference``, ``add`` or
    ``new_file``, then ``run.log_artifact(artifact)``.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
    ) -> None:
        self._name = check_name(name)
        if not isinstance(type, str) or not type:
            raise ArtifactError(f"artifact type must be a non-empty string, got {type!r}")
        if metadata is not None and not isinstance(metadata, dict):
            raise ArtifactError(f"artifact metadata must be a dict, got {metadata.__class__.__name__}")
        self._type = type
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.incremental = bool(incremental)
        self._use_as = use_as
        self._client_id = uuid.uuid4().hex
        self._manifest: ArtifactManifest | None = ArtifactManifest()
        self._staging: Path | None = None
        self._state = "PENDING"  # PENDING (draft), LOGGED (queued), COMMITTED, FAILED
        self._info: dict[str, Any] = {}
        self._entity: str | None = None
        self._project: str | None = None
        self._aliases: list[str] = []
        self._tags: list[str] = []
        self._client: ArtifactClient | None = None
        self._run: Run | None = None
        self._done = threading.Event()
        self._error: str | None = None
        self._download_root: Path | None = None

    # -- built from the server -------------------------------------------------------
    @classmethod
    def _from_info(cls, info: Mapping[str, Any], client: ArtifactClient) -> Artifact:
        art = cls.__new__(cls)
        Artifact.__init__(art, str(info["name"]), str(info["type"]))
        art._manifest = None  # fetched when first needed
        art._client = client
        art._set_info(info)
        art._done.set()
        return art

    def _set_info(self, info: Mapping[str, Any]) -> None:
        self._info = dict(info)
        self._state = "COMMITTED"
        self._entity = info.get("entity") or self._entity
        self._project = info.get("project") or self._project
        self._name = info.get("name") or self._name
        self._type = info.get("type") or self._type
        self._aliases = [a for a in info.get("aliases") or () if a]
        self._tags = list(info.get("tags") or ())
        self.description = info.get("description", self.description)
        self.metadata = dict(info.get("metadata") or self.metadata or {})

    def _committed(self, info: Mapping[str, Any] | None, error: str | None) -> None:
        if info is not None:
            self._set_info(info)
            if self._client is None and self._run is not None:
                from trackwell.artifacts.client import client_for

                self._client = client_for(self._run)
        else:
            self._state = "FAILED"
            self._error = error or "the upload failed"
        self._done.set()

    # -- identity --------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``"name:v3"`` once it has a version, else the name it was made with."""
        return f"{self._name}:{self.version}" if self._info.get("version") else self._name

    @property
    def collection_name(self) -> str:
        return self._name

    @property
    def qualified_name(self) -> str:
        return f"{self._entity}/{self._project}/{self.name}"

    @property
    def version(self) -> str | None:
        return self._info.get("version")

    @property
    def type(self) -> str:
        return self._type

    @property
    def entity(self) -> str | None:
        return self._entity

    @property
    def project(self) -> str | None:
        return self._project

    @property
    def id(self) -> Any:
        return self._info.get("id")

    @property
    def created_at(self) -> Any:
        return self._info.get("created_at")

    @property
    def updated_at(self) -> Any:
        return self._info.get("updated_at")

    @property
    def state(self) -> str:
        return self._state

    @property
    def source_name(self) -> str:
        """The linked version's ``name:vN`` for a registry link, else ``name``."""
        src = self._info.get("source")
        return f"{src['name']}:{src['version']}" if src else self.name

    @property
    def source_version(self) -> str | None:
        src = self._info.get("source")
        return src["version"] if src else self.version

    @property
    def source_qualified_name(self) -> str:
        src = self._info.get("source")
        return (
            f"{src['entity']}/{src['project']}/{src['name']}:{src['version']}" if src else self.qualified_name
        )

    @property
    def aliases(self) -> list[str]:
        """Editable: change it, then ``save()`` (or set before ``log_artifact``)."""
        return self._aliases

    @aliases.setter
    def aliases(self, value: Sequence[str]) -> None:
        self._aliases = [check_name(a, "alias") for a in value]

    @property
    def tags(self) -> list[str]:
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._tags = [check_tag(t) for t in value]

    @property
    def manifest(self) -> ArtifactManifest:
        if self._manifest is None:
            client, (e, p, n, v) = self._remote()
            self._manifest = ArtifactManifest.from_json(client.manifest(e, p, n, v))
            for entry in self._manifest.entries.values():
                entry._artifact = self
        return self._manifest

    @property
    def digest(self) -> str:
        return self._info.get("digest") or self.manifest.digest

    @property
    def size(self) -> int:
        if "size" in self._info:
            return int(self._info["size"])
        return self.manifest.size

    @property
    def file_count(self) -> int:
        return int(self._info.get("file_count", len(self.manifest.entries)))

    def is_draft(self) -> bool:
        """True until the artifact is logged."""
        return self._state == "PENDING"

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name if self._entity else self.name} type={self._type}>"

    # -- building (drafts only) -----------------------------------------------------
    def _check_draft(self, what: str) -> None:
        if self._state != "PENDING":
            raise ArtifactError(
                f"artifact {self.name} is already logged; {what}() only works on a new artifact. "
                "Make a new trackwell.Artifact (or use artifact.new_draft())."
            )

    def _stage_dir(self) -> Path:
        if self._staging is None:
            self._staging = cache_root() / "staging" / self._client_id
            self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    def _put(self, entry: ArtifactManifestEntry, overwrite: bool) -> ArtifactManifestEntry:
        manifest = self.manifest
        if entry.path in manifest.entries and not overwrite:
            old = manifest.entries[entry.path]
            if old.digest == entry.digest and old.ref == entry.ref and entry.digest is not None:
                return old  # the same content under the same name: nothing to do
            raise ArtifactError(
                f"artifact {self._name} already has an entry {entry.path!r}; "
                "pass overwrite=True to replace it, or choose another name"
            )
        entry._artifact = self
        manifest.entries[entry.path] = entry
        return entry

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool = False,
        skip_cache: bool = False,
        policy: str = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add one file; ``name`` is its path inside the artifact (default: the file's name).

        ``policy="mutable"`` copies the file into staging now (hashing while copying),
        so it may change afterwards; ``"immutable"`` only hashes it, and the upload
        fails clearly if the file changed by then.
        """
        self._check_draft("add_file")
        return self._put(draft.stage_file(self, local_path, name, is_tmp, skip_cache, policy), overwrite)

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool = False,
        policy: str = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under a directory, keeping the layout (under ``name/`` if given)."""
        self._check_draft("add_dir")
        root = Path(local_path)
        if not root.is_dir():
            raise ArtifactError(f"cannot add {str(root)!r} to artifact {self._name}: not a directory")
        prefix = clean_path(name) + "/" if name else ""
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            self.add_file(path, prefix + rel, skip_cache=skip_cache, policy=policy, overwrite=merge)

    def add_reference(
        self,
        uri: str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> Sequence[ArtifactManifestEntry]:
        """Add a reference to data kept elsewhere (``file://``, ``s3://``, ``http(s)://``):
        the manifest records where it is and its size/ETag/sha256, not the bytes."""
        self._check_draft("add_reference")
        from trackwell.artifacts import references

        entries = references.resolve(uri, name, checksum, max_objects)
        return [self._put(e, overwrite=False) for e in entries]

    def add(self, obj: Media, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Add a media object or table: its files and ``<name>.<type>.json`` holding its record."""
        self._check_draft("add")
        return self._put(draft.stage_media(self, obj, name), overwrite)

    def new_file(
        self, name: str, mode: str = "w", encoding: str | None = None
    ) -> contextlib.AbstractContextManager[IO[Any]]:
        """Open a new file inside the artifact for writing; it is added when the block ends."""
        return draft.new_file(self, name, mode, encoding)

    def remove(self, item: str | ArtifactManifestEntry) -> None:
        """Remove an entry, or every entry under a folder path."""
        self._check_draft("remove")
        path = clean_path(item.path if isinstance(item, ArtifactManifestEntry) else item)
        entries = self.manifest.entries
        gone = [p for p in entries if p == path or p.startswith(path + "/")]
        if not gone:
            raise FileNotFoundError(f"artifact {self._name} has no entry {path!r}")
        for p in gone:
            del entries[p]

    # -- reading -------------------------------------------------------------------
    def get_entry(self, name: str) -> ArtifactManifestEntry:
        path = clean_path(name)
        try:
            return self.manifest.entries[path]
        except KeyError:
            raise KeyError(f"artifact {self.name} has no entry {path!r}") from None

    get_path = get_entry  # W&B's older name

    def files(self, names: Sequence[str] | None = None, per_page: int = 50) -> list[ArtifactManifestEntry]:
        """The artifact's entries (all, or those named)."""
        entries = self.manifest.entries
        if names is None:
            return list(entries.values())
        return [entries[clean_path(n)] for n in names if clean_path(n) in entries]

    def __getitem__(self, name: str) -> Media | None:
        """``artifact["key"]``: the object stored under ``key`` (W&B's ``get``)."""
        return self.get(name)

    def __setitem__(self, name: str, item: Media) -> None:
        """``artifact["key"] = obj``: store ``obj`` under ``key`` (W&B's ``add``)."""
        self.add(item, name)

    def get(self, name: str) -> Media | None:
        """The media object or table stored with ``add(obj, name)``, rebuilt; None if absent."""
        return download.read_object(self, name)

    def _read(self, path: str) -> bytes:
        """The bytes of entry ``path`` (staged for a draft, else through the cache)."""
        return download.read_entry(self, path)

    def _local_file(self, entry: ArtifactManifestEntry) -> Path:
        local = entry.local_path or ""
        return Path(local) if os.path.isabs(local) else self._stage_dir() / local

    # -- downloading -----------------------------------------------------------------
    def _remote(self) -> tuple[ArtifactClient, tuple[str, str, str, str]]:
        if self._state != "COMMITTED" or self._client is None:
            if self._state == "LOGGED":
                raise ArtifactError(
                    f"artifact {self._name} is not committed yet; call artifact.wait() first"
                    + (" (offline runs get their version at `trackwell sync`)" if self._offline() else "")
                )
            raise ArtifactError(f"artifact {self._name} is not logged; log it with run.log_artifact() first")
        return self._client, (self._entity or "", self._project or "", self._name, str(self.version))

    def _offline(self) -> bool:
        return bool(self._run is not None and self._run.offline)

    def _default_root(self) -> Path:
        base = (
            os.environ.get("TRACKWELL_ARTIFACT_DIR") or os.environ.get("WANDB_ARTIFACT_DIR") or "./artifacts"
        )
        return Path(base).absolute() / f"{self._name}:{self.version}"  # absolute, as W&B's

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool = False,
        path_prefix: str | None = None,
        multipart: bool | None = None,
        allow_local_references: bool = False,
    ) -> str:
        """Fetch the artifact's files into ``root`` (default ``./artifacts/<name>:<version>``); return it.

        Files come from the local cache when it has them (sha256-keyed), else from the
        server, in parallel, resumed with Range and verified on arrival. References
        are fetched from their source. A ``file://`` reference names a path on the
        machine that downloads, so one in another entity's artifact is refused unless
        ``allow_local_references`` (see ``download.check_local_references``).
        """
        self._remote()
        entries = list(self.manifest.entries.values())
        if path_prefix is not None:
            prefix = path_prefix.replace("\\", "/").lstrip("/")
            entries = [e for e in entries if e.path.startswith(prefix)]
        download.download_entries(
            self, entries, root, skip_cache, allow_missing_references, allow_local_references
        )
        return str(Path(root).absolute() if root is not None else self._default_root())

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download the artifact's only file into ``root``; its absolute path (W&B's ``Artifact.file``).

        ``ValueError`` when the artifact holds more or fewer than one file, as in W&B.
        """
        entries = list(self.manifest.entries.values())
        if len(entries) != 1:
            raise ValueError(f"artifact {self._name} holds {len(entries)} files; file() needs exactly one")
        self._remote()
        [path] = self._download_entries(entries, root)
        return str(Path(path).absolute())

    def _download_entries(
        self,
        entries: list[ArtifactManifestEntry],
        root: str | os.PathLike[str] | None,
        skip_cache: bool = False,
    ) -> list[str]:
        """``entries`` fetched into ``root``; an entry's own ``download()`` calls this."""
        return download.download_entries(self, entries, root, skip_cache)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make ``root`` hold exactly the artifact: download it and delete files it does not list."""
        return download.checkout(self, root)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Check that ``root`` holds exactly the artifact's files, by sha256; ``ValueError`` if not."""
        download.verify(self, root)

    # -- logging and the server ------------------------------------------------------
    def wait(self, timeout: float | None = None) -> Artifact:
        """Block until the sender has committed the logged artifact; fills ``version`` and ``aliases``."""
        commits.wait(self, timeout)
        return self

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """A draft: log it with the current run. A committed artifact: store edited
        ``aliases``, ``tags``, ``description`` and ``metadata`` on the server.

        A draft saved with no run is logged, as W&B does, by a run of its own of job
        type ``"auto"`` (in ``project``, with ``settings``) that finishes before this
        returns, so the version is on the server (or in the offline run) by then.
        """
        if self._state == "PENDING":
            draft.log_with_a_run(self, project, settings)
        else:
            versions.save_edits(self)

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact | None:
        """Link this version into a collection (``"wandb-registry-model/<collection>"``,
        ``"<project>/<collection>"``, ``"<entity>/<project>/<collection>"``) with ``aliases``.

        As W&B: a committed version is linked at once through the server and the linked
        version is returned; a draft or a version still uploading is linked by the run
        that logs it (the current run, or a run of job type ``"auto"`` for a draft saved
        with no run, finished before this returns), and None is returned.
        """
        if self._state == "COMMITTED" and self._client is not None:
            info = versions.link(self._client, self, target_path, aliases)
            return Artifact._from_info(info, self._client)
        draft.link_with_a_run(self, target_path, aliases)
        return None

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version from the server (``delete_aliases=True`` when it has aliases)."""
        versions.delete(self, delete_aliases)

    def logged_by(self) -> Any:
        """The run that logged this version (a Public API run), or None."""
        return versions.logged_by(self)

    def used_by(self) -> list[Any]:
        """The runs that used this version (Public API runs)."""
        return versions.used_by(self)

    def new_draft(self) -> Artifact:
        """A new draft holding this version's entries, to log as the next version."""
        new = Artifact(self._name, self._type, self.description, dict(self.metadata))
        for path, entry in self.manifest.entries.items():
            copy = ArtifactManifestEntry(
                path, entry.digest, entry.size, entry.ref, entry.etag, dict(entry.extra)
            )
            copy._artifact = new
            if entry.ref is None and entry.digest is not None:
                # bytes the server already holds: mark them as needing no upload
                copy.extra = dict(entry.extra)
                copy._remote = True  # type: ignore[attr-defined]
            new.manifest.entries[path] = copy
        return new

    # -- the hand-over to the run's writer and sender ----------------------------------
    def _log_body(
        self, run: Run, aliases: Sequence[str] | None, tags: Sequence[str] | None
    ) -> dict[str, Any]:
        """Freeze the draft for ``run.log_artifact`` and return its ARTIFACT record (on the caller)."""
        body = draft.log_body(self, run, aliases, tags)
        commits.track(self)  # until the sender reports its version
        return body

    def _materialize(self, run_dir: Path, body: dict[str, Any]) -> None:
        """On the writer thread: move staging into the run directory and write its manifest."""
        draft.materialize(self, run_dir, body)
