"""An artifact's manifest: which files (or references) it holds, by path, with their sha256.

The manifest is the artifact's identity: its digest is the sha256 over the sorted
``(path, digest)`` pairs, so the same content logged twice has the same digest and
the server hands back the existing version instead of making a new one.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackwell.errors import UsageError

if TYPE_CHECKING:
    from trackwell.artifacts.artifact import Artifact

MANIFEST_VERSION = 1


class ArtifactError(UsageError, ValueError):
    """An artifact was built or used wrongly (bad path, missing file, changed file, ...)."""


def clean_path(name: str) -> str:
    """``name`` as an entry path: posix, relative, no ``..``; raises ``ArtifactError`` otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ArtifactError(f"artifact entry names must be non-empty strings, got {name!r}")
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ArtifactError(f"artifact entry name {name!r} must be relative to the artifact root")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArtifactError(f"artifact entry name {name!r} points outside the artifact root ('..')")
    if not parts:
        raise ArtifactError(f"artifact entry name {name!r} names no file")
    return posixpath.join(*parts)


@dataclass
class ArtifactManifestEntry:
    """One file of an artifact: ``path``, ``digest`` (sha256 hex, or None for an unchecked
    reference), ``size``, ``ref`` (the URI of a reference), ``etag``, ``extra``.

    ``local_path`` is where the bytes are on this machine while the artifact is built
    (the staging copy, or the original file for ``policy="immutable"``).
    """

    path: str
    digest: str | None
    size: int | None = None
    ref: str | None = None
    etag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    local_path: str | None = None
    _artifact: Artifact | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "size": self.size,
            "ref": self.ref,
            "etag": self.etag,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, path: str, body: Mapping[str, Any]) -> ArtifactManifestEntry:
        return cls(
            path=path,
            digest=body.get("digest"),
            size=body.get("size"),
            ref=body.get("ref"),
            etag=body.get("etag"),
            extra=dict(body.get("extra") or {}),
        )

    @property
    def name(self) -> str:
        return self.path

    def ref_target(self) -> str | None:
        """W&B's name for a reference's URI."""
        return self.ref

    def download(self, root: str | None = None, skip_cache: bool = False) -> str:
        """Fetch this one file into ``root`` (default: the artifact's download dir); return its path."""
        if self._artifact is None:
            raise ArtifactError(f"entry {self.path!r} belongs to no artifact")
        return self._artifact._download_entries([self], root, skip_cache=skip_cache)[0]


class ArtifactManifest:
    """Entries by path; ``digest`` is the content digest of the whole artifact."""

    def __init__(self, entries: Iterable[ArtifactManifestEntry] = ()) -> None:
        self.entries: dict[str, ArtifactManifestEntry] = {e.path: e for e in entries}

    @property
    def digest(self) -> str:
        return manifest_digest((p, e.digest or e.etag or e.ref or "") for p, e in self.entries.items())

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self.entries.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "entries": {p: e.to_json() for p, e in sorted(self.entries.items())},
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ArtifactManifest:
        entries = body.get("entries") or {}
        return cls(ArtifactManifestEntry.from_json(p, e) for p, e in entries.items())


def manifest_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """sha256 over the sorted ``(path, digest)`` pairs (NUL and newline separated)."""
    h = hashlib.sha256()
    for path, digest in sorted(pairs):
        h.update(f"{path}\0{digest}\n".encode())
    return h.hexdigest()
