"""An artifact version's manifest, checked, merged, sorted and stored as it streams in.

A manifest may list a million files. Held as Python objects that is over half a GB
of small objects (the server went from 510 to 1,048 MB RSS and stayed there: the
allocator keeps freed small objects' memory). Here each entry is checked and written
to a temporary SQLite table as it is read, so the server's memory stays flat whatever
the manifest's size; the table deduplicates paths (the last one wins, as in JSON),
merges an incremental version with its base, and gives the entries back in path order
for the canonical JSON the blob store keeps.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any

from trackwell_server.errors import ApiError
from trackwell_server.jsonstream import JsonStream
from trackwell_server.storage.artifacts import MAX_ENTRIES, check_entry
from trackwell_server.storage.blobs import BlobStore

#: entries written to the table at a time, and digests handed out at a time
_BATCH = 5000
#: bytes of canonical JSON gathered before each write
_WRITE = 1 << 20


#: ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, with one
#: encoder for all entries rather than a new one per call
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
#: ``json.dumps(text, ensure_ascii=False)`` for a string
_string = json.encoder.encode_basestring


class ManifestBuilder:
    """The entries of one version being created, in a temporary table (a file, deleted on close)."""

    def __init__(self) -> None:
        self._file = tempfile.NamedTemporaryFile(prefix="trackwell-manifest-", suffix=".db")  # noqa: SIM115
        self._db = sqlite3.connect(self._file.name, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-8192", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        # path order is UTF-8 byte order (BINARY), which is code point order: json.dumps's sort_keys
        self._db.execute(
            "CREATE TABLE entries (path TEXT PRIMARY KEY, body TEXT NOT NULL, digest TEXT,"
            " size INTEGER NOT NULL, removed INTEGER NOT NULL)"
        )
        self._pending: list[tuple[str, str, str | None, int, int]] = []
        self._replace = True
        self.received = 0
        self.removals: str | None = None  # the first removal marker's path

    def __enter__(self) -> ManifestBuilder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    def close(self) -> None:
        self._db.close()
        self._file.close()

    # -- filling -------------------------------------------------------------------
    def read_entries(self, stream: JsonStream) -> None:
        """Read the ``entries`` object at ``stream``'s cursor, checking each entry as it comes."""
        for path in stream.members():
            self.add(path, stream.value())
            self.received += 1
            if self.received > MAX_ENTRIES:
                raise ApiError(422, f"a manifest may have at most {MAX_ENTRIES:,} entries")

    def add(self, path: str, entry: Any) -> None:
        facts = check_entry(path, entry)
        row: tuple[str, str, str | None, int, int]
        if facts is None:
            self.removals = self.removals or path
            row = (path, "null", None, 0, 1)
        else:
            row = (path, _canonical(entry), facts[0], facts[1], 0)
        self._pending.append(row)
        if len(self._pending) >= _BATCH:
            self._flush()

    def merge_base(self, chunks: Iterable[bytes]) -> None:
        """Add the entries of the base version's stored manifest under those received (which win)."""
        self._flush()
        self._replace = False
        stream = JsonStream(chunks)
        for key in stream.members():
            if key == "entries":
                for path in stream.members():
                    self.add(path, stream.value())
            else:
                stream.value()
        self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        verb = "INSERT OR REPLACE" if self._replace else "INSERT OR IGNORE"
        try:
            self._db.executemany(f"{verb} INTO entries VALUES (?, ?, ?, ?, ?)", self._pending)
        except UnicodeEncodeError:
            raise ApiError(422, "a manifest path or entry holds a lone surrogate (not UTF-8)") from None
        self._pending = []

    # -- reading back ----------------------------------------------------------------
    def settle(self, incremental: bool) -> tuple[int, int]:
        """Apply the removal markers (an incremental version's only); return (entries, total size)."""
        self._flush()
        if self.removals is not None and not incremental:
            raise ApiError(422, f"manifest entry {self.removals!r}: size must be an integer >= 0")
        self._db.execute("DELETE FROM entries WHERE removed = 1")
        count, size = self._db.execute("SELECT count(*), coalesce(sum(size), 0) FROM entries").fetchone()
        if count > MAX_ENTRIES:
            raise ApiError(422, f"a manifest may have at most {MAX_ENTRIES:,} entries, this has {count:,}")
        return int(count), int(size)

    def digests(self) -> Iterator[str]:
        """The blob digests the entries name, each once, in order."""
        cursor = self._db.execute(
            "SELECT DISTINCT digest FROM entries WHERE digest IS NOT NULL ORDER BY digest"
        )
        while batch := cursor.fetchmany(_BATCH):
            yield from (digest for (digest,) in batch)

    def write_canonical(self, out: IO[bytes]) -> str:
        """Write the canonical JSON (``{"entries": {...}, "version": 1}``, keys sorted, no spaces,
        what ``json.dumps(..., sort_keys=True)`` makes of it) to ``out``; return its sha256."""
        sha = hashlib.sha256()
        parts = ['{"entries":{']
        held = len(parts[0])
        first = True
        for path, body in self._db.execute("SELECT path, body FROM entries ORDER BY path"):
            piece = ("" if first else ",") + _string(path) + ":" + body
            first = False
            parts.append(piece)
            held += len(piece)
            if held >= _WRITE:
                data = "".join(parts).encode()
                sha.update(data)
                out.write(data)
                parts, held = [], 0
        parts.append('},"version":1}')
        data = "".join(parts).encode()
        sha.update(data)
        out.write(data)
        return sha.hexdigest()

    def store(self, blobs: BlobStore) -> str:
        """Put the canonical manifest into the blob store (streamed through a temporary file);
        return its sha256, the blob's name."""
        with tempfile.TemporaryFile(prefix="trackwell-manifest-") as spool:
            sha = self.write_canonical(spool)
            spool.seek(0)
            writer = blobs.writer(sha)
            try:
                while chunk := spool.read(_WRITE):
                    writer.write(chunk)
            except BaseException:
                writer.abort()
                raise
            writer.commit()
        return sha
