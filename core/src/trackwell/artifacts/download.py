"""Reading an artifact's entries, and fetching a committed one's files: cached, parallel, verified.

``Artifact.get``, ``download``, ``file``, ``checkout`` and ``verify`` call in here. A file the
cache holds (sha256-keyed) is not fetched again; small files travel in batches, big
ones alone, resumed with ``Range`` (``trackwell.artifacts.client``); references are
fetched from their source (``trackwell.artifacts.references``).
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from trackwell.artifacts.cache import Cache, hash_file, place
from trackwell.artifacts.manifest import ArtifactError, ArtifactManifestEntry, clean_path
from trackwell.artifacts.progress import Progress

if TYPE_CHECKING:
    from trackwell.artifacts.artifact import Artifact
    from trackwell.artifacts.client import ArtifactClient
    from trackwell.media.base import Media


def check_local_references(
    art: Artifact, client: ArtifactClient, entries: list[ArtifactManifestEntry]
) -> None:
    """Refuse ``file://`` references unless the artifact is the caller's own entity's.

    Such a reference names a path on whichever machine downloads it: in someone
    else's artifact, ``file:///home/you/.ssh/id_rsa`` would copy your own file into
    the artifact folder (and whatever then uploads that folder).
    """
    local = [e.ref for e in entries if e.ref is not None and e.ref.lower().startswith("file:")]
    if not local:
        return
    own = client.get("/viewer").get("entity")
    if art._entity is not None and art._entity == own:
        return
    raise ArtifactError(
        f"artifact {art.qualified_name} belongs to {art._entity!r}, not to you ({own!r}), and holds "
        f"{len(local)} file:// reference(s) such as {local[0]}: they name files on this machine, which "
        "downloading would copy into the artifact folder. Pass allow_local_references=True to "
        "download() if you expect that"
    )


def read_object(art: Artifact, name: str) -> Media | None:
    """The media object or table stored with ``add(obj, name)``, rebuilt; None if absent."""
    from trackwell.media.base import media_type

    entries = art.manifest.entries
    path = clean_path(name)
    if path not in entries:
        matches = sorted(
            p for p in entries if fnmatch.fnmatch(p, f"{path}.*.json") and "/" not in p[len(path) + 1 :]
        )
        if not matches:
            return None
        path = matches[0]
    record = json.loads(read_entry(art, path))

    def read(rel: str) -> bytes:
        return read_entry(art, clean_path(rel))

    obj = media_type(str(record["_type"])).from_record(record, read)
    return obj


def read_entry(art: Artifact, path: str) -> bytes:
    """The bytes of entry ``path``: from staging for a draft, else through the cache."""
    entry = art.manifest.entries.get(path)
    if entry is None:
        # a media record's files are stored under the names the context gave them
        raise KeyError(f"artifact {art.name} has no entry {path!r}")
    if art._state == "PENDING" or (entry.local_path and art._local_file(entry).exists()):
        return art._local_file(entry).read_bytes()
    [local] = fetch_to_cache(art, [entry])
    if local is None:
        raise FileNotFoundError(f"artifact {art.name}: the reference of {path!r} is missing")
    return Path(local).read_bytes()


def download_entries(
    art: Artifact,
    entries: list[ArtifactManifestEntry],
    root: str | os.PathLike[str] | None,
    skip_cache: bool = False,
    allow_missing_references: bool = False,
    allow_local_references: bool = False,
) -> list[str]:
    """Fetch ``entries`` (through the cache) and place them under ``root``; their paths."""
    dest_root = Path(root) if root is not None else art._default_root()
    local = fetch_to_cache(art, entries, skip_cache, allow_missing_references, allow_local_references)
    out = []
    for entry, src in zip(entries, local, strict=True):
        dest = dest_root / entry.path
        if src is None:
            continue
        place(Path(src), dest)
        out.append(str(dest))
    art._download_root = dest_root
    return out


def fetch_to_cache(
    art: Artifact,
    entries: list[ArtifactManifestEntry],
    skip_cache: bool = False,
    allow_missing: bool = False,
    allow_local: bool = False,
) -> list[str | None]:
    """Each entry as a verified local file (in the cache), fetching what is missing."""
    from trackwell.artifacts import references

    client, (entity, project, _, _) = art._remote()
    if not allow_local:
        check_local_references(art, client, entries)
    if art._info.get("source"):
        src = art._info["source"]
        entity, project = src["entity"], src["project"]
        entity, project = (
            art._entity or entity,
            art._project or project,
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
    bar = Progress(f"downloading {art._name}", total, art._run)

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


def checkout(art: Artifact, root: str | os.PathLike[str] | None = None) -> str:
    """Make ``root`` hold exactly the artifact: download it and delete files it does not list."""
    target = Path(root) if root is not None else art._default_root()
    art.download(target)
    wanted = set(art.manifest.entries)
    for path in sorted(target.rglob("*"), reverse=True):
        rel = path.relative_to(target).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return str(target)


def verify(art: Artifact, root: str | os.PathLike[str] | None = None) -> None:
    """Check that ``root`` holds exactly the artifact's files, by sha256; ``ValueError`` if not."""
    target = Path(root) if root is not None else (art._download_root or art._default_root())
    entries = art.manifest.entries
    for entry in entries.values():
        if entry.ref is not None and entry.digest is None:
            continue
        path = target / entry.path
        if not path.is_file():
            raise ValueError(f"verify: {path} is missing (artifact {art.name})")
        digest, _ = hash_file(path)
        if digest != entry.digest:
            raise ValueError(
                f"verify: {path} does not match artifact {art.name} (sha256 {digest} != {entry.digest})"
            )
    for path in target.rglob("*"):
        if path.is_file() and path.relative_to(target).as_posix() not in entries:
            raise ValueError(f"verify: {path} is not part of artifact {art.name}")



def _size(blob: tuple[str, int]) -> int:
    return blob[1]
