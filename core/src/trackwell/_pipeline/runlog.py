"""The run log: an append-only file of framed, checksummed records.

Why a custom frame instead of JSON lines: a crash can tear the last write in half,
and a reader must tell a torn record from a complete one without guessing. Every
record is ``<u32 length><u32 crc32>payload`` (little endian) after an 8-byte file
header; the payload is msgpack, which keeps NaN and +-Inf exact and is cheap to
encode on the writer thread.

A payload is ``[kind, seq, body]``: ``kind`` names the record (see ``Kind``),
``seq`` counts records from 0 in file order (the sender's idempotency key),
``body`` is a map whose shape depends on the kind (documented in docs/design.md).

A damaged byte in the middle (a bad disk sector, a copy cut and patched) must not
cost the records after it: readers step over bytes that do not frame a valid record
to the next one that does (its length sane, its checksum right, its payload a
``[kind, seq, body]`` with a seq above the last good one), and say what they skipped
(``ReadResult.skipped``, ``LogTail.skipped``). Seqs then skip numbers, which the
server accepts (docs/server-api.md, ingest).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Container, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgpack

from trackwell.errors import CorruptRunLog
from trackwell.records import Kind

MAGIC = b"TWLOG\x00\x01\n"
_FRAME = struct.Struct("<II")
#: A frame longer than this is treated as corruption, not an allocation request.
MAX_RECORD_BYTES = 256 * 1024 * 1024


def _default(obj: Any) -> Any:
    """Last resort for values the caller-side normalizer let through."""
    if isinstance(obj, int):  # past 64 bits: encode_record's fallback turns it into a float
        raise OverflowError("integer too large for msgpack")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return repr(obj)


def encode_record(packer: msgpack.Packer, kind: str, seq: int, body: Any) -> bytes:
    """Frame one record; the caller appends the bytes to the log."""
    try:
        payload: bytes = packer.pack((kind, seq, body))
    except (OverflowError, TypeError, ValueError):
        clean = _sanitize(body)
        if isinstance(body, dict):  # fix the caller's copy too, so what it derives matches the log
            body.clear()
            body.update(clean)
        payload = packer.pack((kind, seq, clean))
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _sanitize(obj: Any) -> Any:
    """Rebuild a body msgpack refused: huge ints become floats, unknowns their repr."""
    if isinstance(obj, dict):
        return {str(k): _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (float, str, bytes)):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else float(obj)
    return repr(obj)


def new_packer() -> msgpack.Packer:
    return msgpack.Packer(use_bin_type=True, default=_default)


class Record:
    """One decoded record; ``raw`` is its msgpack payload when a ``LogTail`` read it."""

    __slots__ = ("body", "kind", "offset", "raw", "seq")

    def __init__(self, kind: str, seq: int, body: Any, raw: bytes | None = None, offset: int = -1) -> None:
        self.kind = kind
        self.seq = seq
        self.body = body
        self.raw = raw
        self.offset = offset  # where its frame starts in the file (-1 when not read from one)

    def __repr__(self) -> str:
        return f"Record({self.kind!r}, {self.seq}, {self.body!r})"


class ReadResult:
    """What a scan of a log found: the records, the corrupt bytes skipped, a torn end."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.torn_bytes = 0  # bytes after the last complete record that were dropped
        self.good_bytes = 0  # file offset just past the last complete record
        self.skipped: list[tuple[int, int]] = []  # (offset, length) of corrupt bytes stepped over

    @property
    def skipped_bytes(self) -> int:
        return sum(n for _, n in self.skipped)


def describe_skipped(path: str | Path, skipped: list[tuple[int, int]]) -> str:
    """One line for a user: how many corrupt bytes a reader stepped over, and where."""
    total = sum(n for _, n in skipped)
    where = ", ".join(f"{n} at offset {at}" for at, n in skipped[:5])
    more = f" and {len(skipped) - 5} more place(s)" if len(skipped) > 5 else ""
    return (
        f"{path}: skipped {total} corrupt byte(s) ({where}{more}); the record(s) in them are lost, "
        "every intact record was read"
    )


def iter_records(fh: BinaryIO, result: ReadResult | None = None) -> Iterator[Record]:
    """Yield every complete record, stepping over corrupt bytes; stop at a torn tail.

    ``result.skipped`` says where bytes were stepped over, ``result.torn_bytes`` how
    much of the end was dropped, so tools can report both.
    """
    head = fh.read(len(MAGIC))
    if head != MAGIC:
        raise CorruptRunLog(f"not a trackwell run log (bad header {head[:8]!r})")
    if result is not None:
        result.good_bytes = len(MAGIC)
    unpack = _FRAME.unpack
    last_seq = -1
    pos = len(MAGIC)
    while True:
        frame = fh.read(_FRAME.size)
        if not frame:
            return
        rec = None
        if len(frame) == _FRAME.size:
            length, crc = unpack(frame)
            if length <= MAX_RECORD_BYTES:
                payload = fh.read(length)
                if len(payload) == length and zlib.crc32(payload) == crc:
                    rec = _decode(payload, pos)
        if rec is None:
            end = fh.seek(0, os.SEEK_END)
            nxt = find_record(fh, pos + 1, last_seq, end)
            if nxt is None:
                if result is not None:
                    result.torn_bytes = end - pos
                return
            if result is not None:
                result.skipped.append((pos, nxt - pos))
            pos = fh.seek(nxt)
            continue
        pos += _FRAME.size + len(payload)
        last_seq = max(last_seq, rec.seq)
        if result is not None:
            result.good_bytes = pos
        yield rec


def _decode(payload: bytes, offset: int, raw: bool = False) -> Record | None:
    """The record a checksummed payload holds, or None when it is not ``[kind, seq, body]``."""
    try:
        kind, seq, body = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    if not isinstance(kind, str) or type(seq) is not int:
        return None
    return Record(kind, seq, body, payload if raw else None, offset)


#: How much of a log ``find_record`` reads at a time while looking for the next record.
_SCAN_CHUNK = 1024 * 1024


def find_record(fh: BinaryIO, start: int, after_seq: int, end: int) -> int | None:
    """The offset of the first valid record at or after ``start`` that ends by ``end``
    and has a seq above ``after_seq``; None when there is none.

    Valid means all of: a sane length, the checksum right, and a payload that decodes
    as ``[kind, seq, body]``. Candidates are found by the payload's first byte (a
    3-element msgpack array, 0x93) and a cheap look at kind and seq before any
    checksum, so scanning megabytes of damage stays fast.
    """
    pos = start
    while end - pos > _FRAME.size:
        fh.seek(pos)
        chunk = fh.read(min(_SCAN_CHUNK, end - pos))
        if len(chunk) <= _FRAME.size:
            return None
        i = _FRAME.size
        while (i := chunk.find(b"\x93", i)) >= 0:
            at = pos + i - _FRAME.size
            if _valid_at(fh, chunk, i, at, after_seq, end):
                return at
            i += 1
        pos += len(chunk) - _FRAME.size  # a frame header across the chunk's end is seen next time
    return None


def _valid_at(fh: BinaryIO, chunk: bytes, i: int, at: int, after_seq: int, end: int) -> bool:
    length, crc = _FRAME.unpack_from(chunk, i - _FRAME.size)
    if length < 4 or length > MAX_RECORD_BYTES or at + _FRAME.size + length > end:
        return False
    if i + length <= len(chunk):
        payload = chunk[i : i + length]
    else:
        head = _head(chunk[i : i + 16])
        if head is None or head[1] <= after_seq:
            return False
        fh.seek(at + _FRAME.size)
        payload = fh.read(length)
    head = _head(payload)
    if head is None or head[1] <= after_seq or zlib.crc32(payload) != crc:
        return False
    return _decode(payload, at) is not None


def read_log(path: str | Path) -> ReadResult:
    """Read a whole run log into memory, stepping over corrupt bytes, dropping only a torn tail."""
    result = ReadResult()
    with open(path, "rb") as fh:
        result.records.extend(iter_records(fh, result))
    return result


class LogTail:
    """Reads a run log while it grows: complete records only, in order.

    The sender follows the log the writer is appending to. A reader can see a batch
    half written (the length runs past the end, or the checksum fails because the
    rest has not landed), so ``read()`` stops before such a frame and tries it again
    next time; it never skips one. Once the writer is done, whatever still does not
    read is a torn tail (``unread_bytes()`` tells how much). Records keep their raw
    payload, so the sender can forward them without encoding them again.

    Bytes that do not frame a record are stepped over only when they cannot be a
    write still landing: the log is ``final`` (its writer has closed it), or they lie
    below what the writer has ``committed`` and a valid record follows them there.
    ``skipped`` lists them as (offset, length).

    ``bodies`` names the kinds whose body is decoded; other records get ``body=None``
    (their kind and seq are read from the payload's first bytes). The sender needs
    few bodies, and decoding every row's dict would double its CPU per record.
    ``committed`` returns how many bytes the writer has committed: reads stop there,
    so a batch the writer undoes after a failed write (disk full) is never read.
    """

    def __init__(
        self,
        path: str | Path,
        bodies: Container[str] | None = None,
        committed: Callable[[], int] | None = None,
        final: bool = False,
    ) -> None:
        self.path = Path(path)
        self.offset = 0  # just past the last complete record read; 0 before the header
        self.final = final  # nothing more will be written: a bad frame is damage, not a write landing
        self.skipped: list[tuple[int, int]] = []  # (offset, length) of corrupt bytes stepped over
        self._last_seq = -1  # of the last record read
        self._bodies = bodies
        self._committed = committed
        self._fh: BinaryIO | None = None

    def read(self, max_records: int = 10_000, max_bytes: int = 4 * 1024 * 1024) -> list[Record]:
        """The next complete records (at least one if any is there, even past ``max_bytes``)."""
        fh = self._open()
        if fh is None:
            return []
        if self.offset == 0:
            fh.seek(0)
            head = fh.read(len(MAGIC))
            if len(head) < len(MAGIC):
                return []  # the writer has not written the header yet
            if head != MAGIC:
                raise CorruptRunLog(f"{self.path} is not a trackwell run log (bad header {head!r})")
            self.offset = len(MAGIC)
            self._last_seq = -1
        while True:
            records, bad = self._read(fh, max_records, max_bytes)
            if records or not bad or not self._resync(fh):
                return records

    def _read(self, fh: BinaryIO, max_records: int, max_bytes: int) -> tuple[list[Record], bool]:
        """Records from ``offset`` on; True as well when they stop at a frame that does not read."""
        limit = None if self._committed is None else self._committed() - self.offset
        fh.seek(self.offset)
        buf = fh.read(max_bytes if limit is None else max(0, min(max_bytes, limit)))
        records: list[Record] = []
        pos = 0
        bad = False
        unpack = _FRAME.unpack_from
        bodies = self._bodies
        while len(records) < max_records and len(buf) - pos >= _FRAME.size:
            length, crc = unpack(buf, pos)
            end = pos + _FRAME.size + length
            if length > MAX_RECORD_BYTES:
                bad = True
                break
            if end > len(buf):
                if records or (limit is not None and end > limit):
                    bad = not records  # past what the writer committed: no frame's length does that
                    break  # the next call starts with it
                buf += fh.read(end - len(buf))  # one record larger than max_bytes
                if end > len(buf):
                    bad = True
                    break
            payload = buf[pos + _FRAME.size : end]
            if zlib.crc32(payload) != crc:
                bad = True
                break
            at = self.offset + pos
            if bodies is not None and (peek := _head(payload)) is not None and peek[0] not in bodies:
                rec: Record | None = Record(peek[0], peek[1], None, payload, at)
            else:
                rec = _decode(payload, at, raw=True)
            if rec is None:
                bad = True
                break
            records.append(rec)
            pos = end
        self.offset += pos
        if records:
            self._last_seq = max(self._last_seq, records[-1].seq)
        return records, bad

    def _resync(self, fh: BinaryIO) -> bool:
        """Step over the bad frame at ``offset`` to the next valid record, when that is safe."""
        if self.final:
            end = fh.seek(0, os.SEEK_END)
        elif self._committed is not None:
            end = self._committed()  # bytes below it are all written: a bad frame there is damage
        else:
            return False  # a live log with no committed mark: it may be a write still landing
        nxt = find_record(fh, self.offset + 1, self._last_seq, end)
        if nxt is None:
            return False
        self.skipped.append((self.offset, nxt - self.offset))
        self.offset = nxt
        return True

    def rewind(self) -> None:
        """Start again from the first record (the server asked for older records)."""
        self.offset = 0
        self.skipped = []

    def seek(self, offset: int, seq: int) -> bool:
        """Go on from the record ``seq`` said to start at ``offset`` (a hint kept from an
        earlier read); False, and nothing changed, unless a valid record with that seq is there."""
        fh = self._open()
        if fh is None or offset < len(MAGIC):
            return False
        fh.seek(0)
        if fh.read(len(MAGIC)) != MAGIC:
            return False
        fh.seek(offset)
        frame = fh.read(_FRAME.size)
        if len(frame) < _FRAME.size:
            return False
        length, crc = _FRAME.unpack(frame)
        if length > MAX_RECORD_BYTES:
            return False
        payload = fh.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            return False
        head = _head(payload)
        if head is None or head[1] != seq:
            return False
        self.offset = offset
        self._last_seq = seq - 1
        return True

    def unread_bytes(self) -> int:
        """Bytes after the last complete record read: a partial write, or a torn tail."""
        try:
            return max(0, self.path.stat().st_size - max(self.offset, len(MAGIC)))
        except OSError:
            return 0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _open(self) -> BinaryIO | None:
        if self._fh is None:
            try:
                self._fh = open(self.path, "rb")  # noqa: SIM115 - kept open while tailing; close()
            except FileNotFoundError:
                return None
        return self._fh


def _head(payload: bytes) -> tuple[str, int] | None:
    """(kind, seq) of a ``[kind, seq, body]`` payload from its first bytes, or None.

    Covers what ``encode_record`` writes (a short kind string, a non-negative seq);
    anything else gets None and is decoded in full.
    """
    if len(payload) < 4 or payload[0] != 0x93 or payload[1] & 0xE0 != 0xA0:
        return None
    end = 2 + (payload[1] & 0x1F)
    if len(payload) <= end:
        return None
    kind = payload[2:end].decode("utf-8", "replace")
    tag = payload[end]
    if tag < 0x80:
        return kind, tag
    size = _UINT_SIZES.get(tag)
    if size is None or len(payload) < end + 1 + size:
        return None
    return kind, int.from_bytes(payload[end + 1 : end + 1 + size], "big")


#: msgpack's unsigned integer tags and their sizes in bytes.
_UINT_SIZES = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}


def log_stream(first: Record | None, run_id: str | None = None) -> str:
    """The stream id of a log: its first RUN record's ``stream``.

    Logs written before streams existed get one derived from the run id and start
    time, which is the same every time the log is read, so syncing one twice still
    lands in one stream.
    """
    body = first.body if first is not None and first.kind == Kind.RUN and isinstance(first.body, dict) else {}
    stream = body.get("stream")
    if isinstance(stream, str) and stream:
        return stream
    rid = body.get("id") or run_id or "run"
    start = body.get("start_time")
    millis = int(float(start) * 1000) if isinstance(start, (int, float)) else 0
    return f"{rid}-{millis}"


def new_stream_id() -> str:
    """A random stream id, safe in a URL path: 16 hex characters.

    ``os.urandom`` rather than ``secrets``: the id needs no more, and importing
    ``secrets`` (hashlib, hmac) costs init() several milliseconds.
    """
    return os.urandom(8).hex()
