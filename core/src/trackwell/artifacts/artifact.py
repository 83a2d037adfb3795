"""``trackwell.Artifact``: W&B's ``wandb.Artifact``, a versioned set of files and references.

An artifact is built in this process (a *draft*: files are hashed and, for
``policy="mutable"``, copied into a private staging folder as they are added, so
later edits of the originals cannot change what is logged), then logged through a
run: the writer moves the staging folder into the run directory and records it in
the run log, and the run's sender (or ``trackwell sync``) uploads the blobs the
server lacks and commits the version. ``wait()`` blocks until then. An artifact read
from a server (``run.use_artifact``, ``api.artifact``) is *committed*: its manifest
comes from the server and ``download()`` fetches files through the local cache.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import json
import os
import shutil
import sys
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trackwell import active
from trackwell.artifacts.cache import Cache, cache_root, copy_and_hash, hash_file, place
from trackwell.artifacts.manifest import (
    ArtifactError,
    ArtifactManifest,
    ArtifactManifestEntry,
    clean_path,
)
from trackwell.errors import CommError
from trackwell.settings import Settings

if TYPE_CHECKING:
    from trackwell.artifacts.client import ArtifactClient
    from trackwell.media.base import Media
    from trackwell.run import Run

POLICIES = ("mutable", "immutable")
#: Transfers bigger than this show a progress bar (on a terminal, unless quiet).
PROGRESS_BYTES = 8 * 1024 * 1024
#: Artifacts logged in this process, by client id, until the sender reports their version.
_LIVE: weakref.WeakValueDictionary[str, Artifact] = weakref.WeakValueDictionary()
#: Versions the sender committed, by client id (for ``link``/``use`` of an artifact
#: object logged earlier in the same run and for ``wait()`` on objects made later).
_COMMITTED: dict[str, dict[str, Any]] = {}


def notify(client_id: str, info: Mapping[str, Any] | None, error: str | None = None) -> None:
    """Called by the sender: the artifact logged as ``client_id`` is committed (or failed)."""
    if info is not None:
        _COMMITTED[client_id] = dict(info)
    art = _LIVE.get(client_id)
    if art is not None:
        art._committed(info, error)


def _check_name(name: str, what: str = "artifact name") -> str:
    import re

    # a collection name may hold inner spaces, as registry collections do in W&B ("phi3 finetuned")
    inner = " " if what == "artifact name" else ""
    rule = rf"[A-Za-z0-9](?:[A-Za-z0-9_.{inner}-]{{0,126}}[A-Za-z0-9_.-])?"
    if not isinstance(name, str) or not re.fullmatch(rule, name):
        spaces = ", inner spaces" if inner else ""
        raise ArtifactError(
            f"invalid {what} {name!r}: use letters, digits, '-', '_' and '.'{spaces} (no ':' or '/'), "
            "starting with a letter or digit, at most 128 characters"
        )
    return name


def _check_tag(tag: str) -> str:
    """A tag as W&B takes them: words of letters, digits, '_', '-' and '.' and inner spaces."""
    import re

    if not isinstance(tag, str) or len(tag) > 128 or not re.fullmatch(r"[\w.-]+(?: +[\w.-]+)*", tag):
        raise ArtifactError(
            f"invalid tag {tag!r}: use letters, digits, '-', '_' and '.', words separated by spaces, "
            "at most 128 characters"
        )
    return tag


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
        self._name = _check_name(name)
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
                self._client = _client_for(self._run)
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
        self._aliases = [_check_name(a, "alias") for a in value]

    @property
    def tags(self) -> list[str]:
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._tags = [_check_tag(t) for t in value]

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
        if policy not in POLICIES:
            raise ArtifactError(f"policy must be 'mutable' or 'immutable', not {policy!r}")
        src = Path(local_path)
        if not src.is_file():
            raise ArtifactError(f"cannot add {str(src)!r} to artifact {self._name}: no such file")
        path = clean_path(name if name is not None else src.name)
        before = src.stat()
        if policy == "immutable":
            digest, size = hash_file(src)
            local = str(src.resolve())
            stat = [before.st_size, before.st_mtime_ns]
        else:
            staged = self._stage_dir() / "files" / uuid.uuid4().hex
            digest, size = copy_and_hash(src, staged)
            local = staged.relative_to(self._stage_dir()).as_posix()
            stat = None
        after = src.stat()
        if (after.st_size, after.st_mtime_ns) != (
            before.st_size,
            before.st_mtime_ns,
        ) or size != after.st_size:
            if policy == "mutable":
                (self._stage_dir() / local).unlink(missing_ok=True)
            raise ArtifactError(
                f"{src} changed while it was being added to artifact {self._name}; add it again"
            )
        if is_tmp:
            stem, dot, ext = path.rpartition(".")
            path = f"{stem}.{digest[:20]}.{ext}" if dot and stem else f"{path}.{digest[:20]}"
        entry = ArtifactManifestEntry(path, digest, size, local_path=local)
        entry.extra = {}
        entry._stat = stat  # type: ignore[attr-defined]
        entry._skip_cache = skip_cache  # type: ignore[attr-defined]
        return self._put(entry, overwrite)

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
        from trackwell.media.base import Media

        if not isinstance(obj, Media):
            raise ArtifactError(
                f"artifact.add() takes a trackwell media object or Table, got {type(obj).__name__}; "
                "use add_file() for files"
            )
        name = clean_path(name)
        stage = self._stage_dir()
        ctx = _ArtifactMediaContext(stage / "objects", self)
        record = obj.to_record(ctx)
        type_name = str(record.get("_type") or obj._type)
        suffix = "table" if type_name == "table-file" else type_name
        path = name if name.endswith(f".{suffix}.json") else f"{name}.{suffix}.json"
        staged = stage / "files" / uuid.uuid4().hex
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(json.dumps(record, sort_keys=True, default=repr).encode())
        digest, size = hash_file(staged)
        entry = ArtifactManifestEntry(path, digest, size, local_path=staged.relative_to(stage).as_posix())
        return self._put(entry, overwrite)

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "w", encoding: str | None = None) -> Iterator[IO[Any]]:
        """Open a new file inside the artifact for writing; it is added when the block ends."""
        self._check_draft("new_file")
        path = clean_path(name)
        if path in self.manifest.entries:
            raise ArtifactError(f"artifact {self._name} already has an entry {path!r}")
        if "r" in mode or "+" in mode:
            raise ArtifactError(f"new_file() opens files for writing; mode {mode!r} is not allowed")
        staged = self._stage_dir() / "files" / uuid.uuid4().hex
        staged.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
        digest, size = hash_file(staged)
        self._put(
            ArtifactManifestEntry(
                path, digest, size, local_path=staged.relative_to(self._stage_dir()).as_posix()
            ),
            False,
        )

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
        from trackwell.media.base import media_type

        entries = self.manifest.entries
        path = clean_path(name)
        if path not in entries:
            matches = sorted(
                p for p in entries if fnmatch.fnmatch(p, f"{path}.*.json") and "/" not in p[len(path) + 1 :]
            )
            if not matches:
                return None
            path = matches[0]
        record = json.loads(self._read(path))

        def read(rel: str) -> bytes:
            return self._read(clean_path(rel))

        obj = media_type(str(record["_type"])).from_record(record, read)
        return obj

    def _read(self, path: str) -> bytes:
        entry = self.manifest.entries.get(path)
        if entry is None:
            # a media record's files are stored under the names the context gave them
            raise KeyError(f"artifact {self.name} has no entry {path!r}")
        if self._state == "PENDING" or (entry.local_path and self._local_file(entry).exists()):
            return self._local_file(entry).read_bytes()
        [local] = self._fetch_to_cache([entry])
        if local is None:
            raise FileNotFoundError(f"artifact {self.name}: the reference of {path!r} is missing")
        return Path(local).read_bytes()

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
        ``allow_local_references`` (see ``_check_local_references``).
        """
        self._remote()
        entries = list(self.manifest.entries.values())
        if path_prefix is not None:
            prefix = path_prefix.replace("\\", "/").lstrip("/")
            entries = [e for e in entries if e.path.startswith(prefix)]
        self._download_entries(entries, root, skip_cache, allow_missing_references, allow_local_references)
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

    def _check_local_references(self, client: ArtifactClient, entries: list[ArtifactManifestEntry]) -> None:
        """Refuse ``file://`` references unless the artifact is the caller's own entity's.

        Such a reference names a path on whichever machine downloads it: in someone
        else's artifact, ``file:///home/you/.ssh/id_rsa`` would copy your own file into
        the artifact folder (and whatever then uploads that folder).
        """
        local = [e.ref for e in entries if e.ref is not None and e.ref.lower().startswith("file:")]
        if not local:
            return
        own = client.get("/viewer").get("entity")
        if self._entity is not None and self._entity == own:
            return
        raise ArtifactError(
            f"artifact {self.qualified_name} belongs to {self._entity!r}, not to you ({own!r}), and holds "
            f"{len(local)} file:// reference(s) such as {local[0]}: they name files on this machine, which "
            "downloading would copy into the artifact folder. Pass allow_local_references=True to "
            "download() if you expect that"
        )

    def _download_entries(
        self,
        entries: list[ArtifactManifestEntry],
        root: str | os.PathLike[str] | None,
        skip_cache: bool = False,
        allow_missing_references: bool = False,
        allow_local_references: bool = False,
    ) -> list[str]:
        dest_root = Path(root) if root is not None else self._default_root()
        local = self._fetch_to_cache(entries, skip_cache, allow_missing_references, allow_local_references)
        out = []
        for entry, src in zip(entries, local, strict=True):
            dest = dest_root / entry.path
            if src is None:
                continue
            place(Path(src), dest)
            out.append(str(dest))
        self._download_root = dest_root
        return out

    def _fetch_to_cache(
        self,
        entries: list[ArtifactManifestEntry],
        skip_cache: bool = False,
        allow_missing: bool = False,
        allow_local: bool = False,
    ) -> list[str | None]:
        """Each entry as a verified local file (in the cache), fetching what is missing."""
        from trackwell.artifacts import references

        client, (entity, project, _, _) = self._remote()
        if not allow_local:
            self._check_local_references(client, entries)
        if self._info.get("source"):
            src = self._info["source"]
            entity, project = src["entity"], src["project"]
            entity, project = (
                self._entity or entity,
                self._project or project,
            )  # links read through the target
        cache = Cache()
        results: list[str | None] = [None] * len(entries)
        todo: list[int] = []
        for i, entry in enumerate(entries):
            hit = None if skip_cache or entry.digest is None else cache.lookup(entry.digest, entry.size)
            if hit is not None:
                results[i] = str(hit)
            else:
                todo.append(i)
        total = sum(entries[i].size or 0 for i in todo)
        bar = Progress(f"downloading {self._name}", total, self._run)

        def fetch(i: int) -> None:
            entry = entries[i]
            if entry.ref is not None:
                got = references.fetch(entry, cache, allow_missing)
                results[i] = str(got) if got else None
                bar.add(entry.size or 0)
                return
            assert entry.digest is not None
            part = cache.partial(entry.digest)
            client.download(entity, project, entry.digest, part, entry.size, bar.add)
            results[i] = str(cache.commit_partial(entry.digest))

        from trackwell.artifacts.client import (
            BATCH_BYTES,
            BATCH_FILE_BYTES,
            BATCH_MIN_BYTES,
            _batches,
            env_workers,
        )

        small: dict[str, list[int]] = {}  # digest -> entries with it, fetched in batches
        for i in todo:
            entry = entries[i]
            if (
                entry.ref is None
                and entry.digest is not None
                and (entry.size or 0) <= BATCH_FILE_BYTES
                and not cache.partial(entry.digest).exists()  # a broken-off download resumes with Range
            ):
                small.setdefault(entry.digest, []).append(i)
        singles = [i for i in todo if entries[i].digest not in small or entries[i].ref is not None]
        blobs = [(d, entries[ix[0]].size or 0) for d, ix in small.items()]

        def fetch_batch(batch: list[tuple[str, int]]) -> None:
            got = client.fetch_batch(
                entity,
                project,
                batch,
                lambda d, tmp: cache.commit_partial_as(tmp, d),
                cache.root / "partial",
                bar.add,
            )
            for digest, path in got.items():
                for i in small[digest]:
                    results[i] = str(path)

        # a batch per worker when there is enough to share (as uploads do)
        per_batch = max(BATCH_MIN_BYTES, sum(s for _, s in blobs) // env_workers() + 1)
        try:
            work: list[Callable[[], None]] = [
                functools.partial(fetch_batch, b) for b in _batches(blobs, _size, min(BATCH_BYTES, per_batch))
            ]
            work += [functools.partial(fetch, i) for i in singles]
            if len(work) <= 1:
                for call in work:
                    call()
            else:
                with ThreadPoolExecutor(env_workers()) as pool:
                    for job in [pool.submit(call) for call in work]:
                        job.result()
        finally:
            bar.close()
        return results

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make ``root`` hold exactly the artifact: download it and delete files it does not list."""
        target = Path(root) if root is not None else self._default_root()
        self.download(target)
        wanted = set(self.manifest.entries)
        for path in sorted(target.rglob("*"), reverse=True):
            rel = path.relative_to(target).as_posix()
            if path.is_file() and rel not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return str(target)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Check that ``root`` holds exactly the artifact's files, by sha256; ``ValueError`` if not."""
        target = Path(root) if root is not None else (self._download_root or self._default_root())
        entries = self.manifest.entries
        for entry in entries.values():
            if entry.ref is not None and entry.digest is None:
                continue
            path = target / entry.path
            if not path.is_file():
                raise ValueError(f"verify: {path} is missing (artifact {self.name})")
            digest, _ = hash_file(path)
            if digest != entry.digest:
                raise ValueError(
                    f"verify: {path} does not match artifact {self.name} (sha256 {digest} != {entry.digest})"
                )
        for path in target.rglob("*"):
            if path.is_file() and path.relative_to(target).as_posix() not in entries:
                raise ValueError(f"verify: {path} is not part of artifact {self.name}")

    # -- logging and the server ------------------------------------------------------
    def wait(self, timeout: float | None = None) -> Artifact:
        """Block until the sender has committed the logged artifact; fills ``version`` and ``aliases``."""
        if self._state in ("COMMITTED",):
            return self
        if self._state == "PENDING":
            raise ArtifactError(f"artifact {self._name} is not logged; call run.log_artifact() first")
        if self._offline():
            raise ArtifactError(
                f"artifact {self._name} was logged by an offline run: it gets its version when "
                "`trackwell sync` uploads the run"
            )
        if self._run is not None and self._run._writer is not None and not self._run._finished:
            self._run._writer.sync()
        if not self._done.wait(timeout):
            raise TimeoutError(f"artifact {self._name} was not committed within {timeout} s")
        if self._state == "FAILED":
            raise ArtifactError(f"artifact {self._name} could not be logged: {self._error}")
        return self

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """A draft: log it with the current run. A committed artifact: store edited
        ``aliases``, ``tags``, ``description`` and ``metadata`` on the server.

        A draft saved with no run is logged, as W&B does, by a run of its own of job
        type ``"auto"`` (in ``project``, with ``settings``) that finishes before this
        returns, so the version is on the server (or in the offline run) by then.
        """
        if self._state == "PENDING":
            current = active.get()
            if current is not None:
                current.log_artifact(self)
                return
            quiet = Settings(silent=True) if settings is None else settings  # as W&B
            with active.start(project=project, job_type="auto", settings=quiet) as run:
                run.log_artifact(self)
            return
        client, (e, p, n, v) = self._remote()
        from trackwell.artifacts.client import artifact_path

        body = {"aliases": [a for a in self._aliases if a != "latest"], "tags": self._tags,
                "description": self.description, "metadata": self.metadata}  # fmt: skip
        self._set_info(client.send("PATCH", artifact_path(e, p, n, v), body))

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact | None:
        """Link this version into a collection (``"wandb-registry-model/<collection>"``,
        ``"<project>/<collection>"``, ``"<entity>/<project>/<collection>"``) with ``aliases``.

        As W&B: a committed version is linked at once through the server and the linked
        version is returned; a draft or a version still uploading is linked by the run
        that logs it (the current run, or a run of job type ``"auto"`` for a draft saved
        with no run, finished before this returns), and None is returned.
        """
        if self._state == "COMMITTED" and self._client is not None:
            from trackwell.artifacts.client import artifact_path
            from trackwell.artifacts.upload import target_collection

            names = [aliases] if isinstance(aliases, str) else list(aliases or ())
            e, p, collection = target_collection(target_path, self._entity or "", self._project or "")
            body = {"source": f"{self._entity}/{self._project}/{self._name}:{self.version}", "aliases": names}
            info = self._client.send("POST", artifact_path(e, p, collection, "links"), body)
            return Artifact._from_info(info, self._client)
        run = self._run if self._state == "LOGGED" and self._run is not None else active.get()
        if run is not None:
            run.link_artifact(self, target_path, aliases)
            return None
        with active.start(job_type="auto", settings=Settings(silent=True)) as auto:
            auto.link_artifact(self, target_path, aliases)
        return None

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version from the server (``delete_aliases=True`` when it has aliases)."""
        client, (e, p, n, v) = self._remote()
        from trackwell.artifacts.client import artifact_path

        try:
            client.transport.request(
                "DELETE",
                artifact_path(e, p, n, v),
                params={"delete_aliases": str(bool(delete_aliases)).lower()},
            )
        except CommError as exc:
            if exc.code == "has_aliases":
                raise ArtifactError(
                    f"artifact {self.qualified_name} has aliases {self._aliases}: "
                    "pass delete_aliases=True to delete it anyway"
                ) from None
            raise
        self._state = "DELETED"

    def logged_by(self) -> Any:
        """The run that logged this version (a Public API run), or None."""
        client, (e, p, n, v) = self._remote()
        from trackwell.artifacts.client import artifact_path

        ref = client.get(artifact_path(e, p, n, v, "logged-by"))
        return _api_run(client, ref) if ref else None

    def used_by(self) -> list[Any]:
        """The runs that used this version (Public API runs)."""
        client, (e, p, n, v) = self._remote()
        from trackwell.artifacts.client import artifact_path

        refs = client.get(artifact_path(e, p, n, v, "used-by")).get("items") or []
        return [_api_run(client, ref) for ref in refs]

    def new_draft(self) -> Artifact:
        """A new draft holding this version's entries, to log as the next version."""
        draft = Artifact(self._name, self._type, self.description, dict(self.metadata))
        for path, entry in self.manifest.entries.items():
            copy = ArtifactManifestEntry(
                path, entry.digest, entry.size, entry.ref, entry.etag, dict(entry.extra)
            )
            copy._artifact = draft
            if entry.ref is None and entry.digest is not None:
                # bytes the server already holds: mark them as needing no upload
                copy.extra = dict(entry.extra)
                copy._remote = True  # type: ignore[attr-defined]
            draft.manifest.entries[path] = copy
        return draft

    # -- the hand-over to the run's writer and sender ----------------------------------
    def _log_body(
        self, run: Run, aliases: Sequence[str] | None, tags: Sequence[str] | None
    ) -> dict[str, Any]:
        """Freeze the draft for ``run.log_artifact`` and return its ARTIFACT record (on the caller)."""
        self._check_draft("log_artifact")
        if aliases is not None:
            self.aliases = [a for a in ([aliases] if isinstance(aliases, str) else aliases)]
        if tags is not None:
            self.tags = list(tags)
        self._state = "LOGGED"
        self._run = run
        self._entity = run.entity
        self._project = run.project
        _LIVE[self._client_id] = self
        return {
            "action": "log",
            "client_id": self._client_id,
            "name": self._name,
            "type": self._type,
            "description": self.description,
            "metadata": self.metadata,
            "aliases": [a for a in self._aliases if a != "latest"],
            "tags": self._tags,
            "digest": self.manifest.digest,
            "incremental": self.incremental,
        }

    def _materialize(self, run_dir: Path, body: dict[str, Any]) -> None:
        """On the writer thread: move staging into the run directory and write its manifest."""
        target = run_dir / "artifacts" / self._client_id
        target.parent.mkdir(parents=True, exist_ok=True)
        if self._staging is not None and self._staging.exists():
            try:
                os.replace(self._staging, target)
            except OSError:
                shutil.copytree(self._staging, target, dirs_exist_ok=True)
                shutil.rmtree(self._staging, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        self._staging = target
        entries = {}
        for path, e in self.manifest.entries.items():
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


class _ArtifactMediaContext:
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


class Progress:
    """A one-line progress bar on stderr for transfers over ``PROGRESS_BYTES`` (TTY only, not quiet)."""

    def __init__(self, label: str, total: int, run: Run | None = None) -> None:
        quiet = bool(run is not None and (run.settings.quiet or run.settings.silent))
        quiet = quiet or os.environ.get("TRACKWELL_SILENT", "").lower() in ("1", "true")
        forced = os.environ.get("TRACKWELL_PROGRESS", "").lower() in ("1", "true")
        stream = sys.__stderr__ or sys.stderr
        self._on = total > PROGRESS_BYTES and (forced or (not quiet and stream.isatty()))
        self._stream = stream
        self._label = label
        self._total = total
        self._done = 0
        self._shown = -1
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        if not self._on:
            return
        with self._lock:
            self._done += n
            pct = int(100 * self._done / max(1, self._total))
            if pct != self._shown:
                self._shown = pct
                mb = self._done / 1e6
                print(f"\rtrackwell: {self._label}: {mb:,.1f}/{self._total / 1e6:,.1f} MB ({pct}%)",
                      end="", file=self._stream, flush=True)  # fmt: skip

    def close(self) -> None:
        if self._on and self._shown >= 0:
            print(file=self._stream, flush=True)


def _size(blob: tuple[str, int]) -> int:
    return blob[1]


def _client_for(run: Run) -> ArtifactClient:
    from trackwell.artifacts.client import ArtifactClient

    s = run.settings
    return ArtifactClient(s.base_url or "", s.api_key)


def _api_run(client: ArtifactClient, ref: Mapping[str, Any]) -> Any:
    """The Public API run ``ref`` names (the Public API is a layer above: reached via ``active``)."""
    api = active.api(client.base_url, client.api_key)
    return api.run(f"{ref['entity']}/{ref['project']}/{ref['run_id']}")


def parse_name(name: str, entity: str | None, project: str | None) -> tuple[str, str, str, str]:
    """``"name[:alias]"``, ``"project/name:v1"``, ``"entity/project/name:v1"`` → (e, p, name, version)."""
    if not isinstance(name, str) or not name:
        raise ArtifactError(f"artifact name must be a string like 'name:alias', got {name!r}")
    path, _, version = name.partition(":")
    parts = [p for p in path.split("/") if p]
    if len(parts) == 1:
        e, p, n = entity, project, parts[0]
    elif len(parts) == 2:
        e, p, n = entity, parts[0], parts[1]
    elif len(parts) == 3:
        e, p, n = parts
    else:
        raise ArtifactError(
            f"artifact name {name!r}: use 'name:alias', 'project/name:alias' or 'entity/project/name:alias'"
        )
    if not e or not p:
        raise ArtifactError(f"artifact name {name!r} needs an entity and project (or a run or Api defaults)")
    return e, p, n, version or "latest"
