"""The local artifact cache: file contents keyed by sha256, shared by every artifact.

``$TRACKWELL_CACHE_DIR/artifacts`` (default ``~/.cache/trackwell/artifacts``) holds
``obj/sha256/<2 hex>/<digest>``. A download looks here first, so the same content is
fetched from the server once per machine; uploads put their staged files here too
(hard links, no copy). Entries are written through a temporary name and renamed,
so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

#: Bytes read at a time when hashing or copying: big reads keep the per-call overhead
#: negligible; the buffer is reused (one per thread), so a small file allocates nothing.
CHUNK = 4 << 20
_BUFFERS = threading.local()


def _buffer() -> memoryview:
    buf: memoryview | None = getattr(_BUFFERS, "buf", None)
    if buf is None:
        buf = _BUFFERS.buf = memoryview(bytearray(CHUNK))
    return buf


def cache_root() -> Path:
    """``$TRACKWELL_CACHE_DIR/artifacts`` (or ``WANDB_CACHE_DIR``), else ``~/.cache/trackwell/artifacts``."""
    base = os.environ.get("TRACKWELL_CACHE_DIR") or os.environ.get("WANDB_CACHE_DIR")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "trackwell"
    return root / "artifacts"


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in ``CHUNK`` pieces."""
    h = hashlib.sha256()
    size = 0
    buf = _buffer()
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(buf[:n])
            size += n
    return h.hexdigest(), size


def copy_and_hash(src: Path, dest: Path, mkdir: bool = True) -> tuple[str, int]:
    """Copy ``src`` to ``dest`` hashing the bytes as they pass: (sha256, size) of what was copied.

    One pass over the bytes (read once, hashed and written from the same buffer), with
    unbuffered files: for many small files the opens, not the bytes, are the cost.
    """
    h = hashlib.sha256()
    size = 0
    if mkdir:
        dest.parent.mkdir(parents=True, exist_ok=True)
    buf = _buffer()
    # unbuffered: the reads and writes go straight from and to the one buffer
    with open(src, "rb", buffering=0) as fin, open(dest, "wb", buffering=0) as fout:
        while n := fin.readinto(buf):
            chunk = buf[:n]
            h.update(chunk)
            while chunk:
                chunk = chunk[fout.write(chunk) or 0 :]
            size += n
    return h.hexdigest(), size


class Cache:
    """Content-addressed files under ``root`` (``cache_root()`` unless given)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()

    def path(self, digest: str) -> Path:
        return self.root / "obj" / "sha256" / digest[:2] / digest

    def partial(self, digest: str) -> Path:
        """Where a download in progress collects its bytes (kept for a Range resume)."""
        return self.root / "partial" / digest

    def lookup(self, digest: str, size: int | None) -> Path | None:
        """The cached file for ``digest`` when present with the expected size."""
        path = self.path(digest)
        try:
            if size is None or path.stat().st_size == size:
                return path
        except OSError:
            pass
        return None

    def adopt(self, digest: str, src: Path, link: bool = True) -> Path:
        """Put ``src`` (whose sha256 is ``digest``) into the cache: a hard link when possible."""
        dest = self.path(digest)
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link:
            # a hard link appears whole under its name (no temp name needed): one file
            # system call per file instead of four, which counts for 10,000-file artifacts
            try:
                os.link(src, dest)
                return dest
            except FileExistsError:
                return dest
            except OSError:
                pass  # another file system, or no hard links there: copy
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return dest

    def commit_partial(self, digest: str) -> Path:
        """Move a complete, verified partial download into place."""
        dest = self.path(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.partial(digest), dest)
        return dest

    def commit_partial_as(self, tmp: Path, digest: str) -> Path:
        """Move a fetched file whose sha256 is ``digest`` into place."""
        dest = self.path(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return dest


def place(src: Path, dest: Path) -> None:
    """Copy a cached file to ``dest`` (a copy, so editing the download never corrupts the cache)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
