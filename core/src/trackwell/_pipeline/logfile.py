"""The run log on disk, as the writer appends to it: all of a batch or none of it.

The log is opened unbuffered, so each batch is one ``write()`` that can be undone: if
the disk refuses it (full), the file is truncated back to the last complete record and
the batch is held in memory, retried with the next one. Past ``MAX_HELD_BYTES`` held,
newer records are dropped and counted, never the oldest (they hold the run's header),
so the log stays a prefix of what was logged.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from trackwell._pipeline import runlog
from trackwell._pipeline.say import stderr
from trackwell.errors import DataDroppedWarning, warn_user

#: Most bytes of encoded records kept in memory while the disk refuses writes; past
#: it, newer records are dropped and counted (the oldest hold the run's header).
MAX_HELD_BYTES = 64 * 1024 * 1024


class LogFile:
    """One run log, open for appending; ``run_id`` names it in what it says on stderr."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        # Unbuffered: each batch is one write() we can undo if the disk refuses it.
        self._fh = open(path, "ab", buffering=0)  # noqa: SIM115 - closed when the run finishes
        #: Bytes written for good (a failed write is undone past them).
        self.size = self._fh.seek(0, os.SEEK_END)
        self.held: list[bytes] = []  # batches of encoded records a failed write left in memory
        self.held_bytes = self.held_records = 0
        self._dropped = _Dropped()  # what a full disk cost once the memory cap was reached
        self._write_failed = False
        if self.size == 0:
            self.append(runlog.MAGIC)

    def append(self, *chunks: bytes) -> None:
        """Append all of ``chunks`` or none of them, so a failed write never tears the log.

        Several chunks rather than one joined: what a full disk left in memory (up to
        MAX_HELD_BYTES) is retried as it is, not copied into each new attempt.
        """
        written = 0
        try:
            for data in chunks:
                view = memoryview(data)
                while view:
                    view = view[self._fh.write(view) :]
                written += len(data)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fh.fileno(), self.size)
            raise
        self.size += written

    def write(self, out: list[bytes]) -> bool | None:
        """Append the records of ``out`` after those held: True when written, False when
        the disk refused them (they are held), None when there was nothing to write."""
        if not (out or self.held):
            return None
        try:
            self.append(*self.held, b"".join(out))
        except OSError as exc:
            # Keep the batch and retry with the next one: a full disk that gets
            # space back loses nothing, up to MAX_HELD_BYTES of records.
            if not self._write_failed:
                self._write_failed = True
                stderr(
                    f"trackwell: ERROR cannot write the run log of {self.run_id}: {exc.strerror or exc}. "
                    f"Keeping new rows in memory (up to {MAX_HELD_BYTES // 2**20} MB) and retrying."
                )
            self._hold(out)
            return False
        self.held = []
        self.held_bytes = self.held_records = 0
        if self._write_failed:
            self._write_failed = False
            lost = self._dropped_text() if self._dropped.records else "nothing was lost"
            stderr(f"trackwell: the run log of {self.run_id} is writable again; {lost}")
        return True

    def fsync(self) -> None:
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Say what a full disk cost, if anything, then sync and close the file."""
        if self.held:
            stderr(
                f"trackwell: ERROR {self.held_records:,} records ({self.held_bytes:,} bytes) of run "
                f"{self.run_id} could not be written at finish: the disk is full"
            )
        if self._dropped.records:
            stderr(f"trackwell: ERROR run {self.run_id}: {self._dropped_text()}")
        with contextlib.suppress(OSError):
            self.fsync()
        self._fh.close()

    def _hold(self, out: list[bytes]) -> None:
        """Keep records the disk refused, the oldest first, until MAX_HELD_BYTES.

        Past the cap the newest are dropped, not the oldest: those hold the run's header
        and config, and the log stays a prefix of what was logged. The drop is counted
        and said once, and again when the disk takes writes or the run finishes.
        """
        room = MAX_HELD_BYTES - self.held_bytes
        fit = 0
        for record in out:
            if len(record) > room:
                break
            room -= len(record)
            fit += 1
        if fit:
            kept = b"".join(out[:fit])
            self.held.append(kept)
            self.held_bytes += len(kept)
            self.held_records += fit
        if fit < len(out):
            self._drop(out[fit:])

    def _drop(self, records: list[bytes]) -> None:
        dropped = self._dropped
        first = not dropped.records
        for record in records:
            head = runlog._head(record[runlog._FRAME.size :])
            if head is not None:
                if dropped.first_seq < 0:
                    dropped.first_seq = head[1]
                dropped.last_seq = max(dropped.last_seq, head[1])
            dropped.records += 1
            dropped.bytes += len(record)
        if first:
            warn_user(
                f"trackwell: the disk is still full and {MAX_HELD_BYTES // 2**20} MB of records of run "
                f"{self.run_id} wait in memory, the most kept; records logged from now on are dropped "
                "until the disk takes writes again (finish() says how many)",
                DataDroppedWarning,
            )

    def _dropped_text(self) -> str:
        d = self._dropped
        return (
            f"{d.records:,} records ({d.bytes / 1e6:.1f} MB, seqs {d.first_seq}-{d.last_seq}) were dropped "
            f"while the disk was full, past the {MAX_HELD_BYTES // 2**20} MB kept in memory"
        )


class _Dropped:
    """What a full disk cost once the rows held in memory reached ``MAX_HELD_BYTES``."""

    __slots__ = ("records", "bytes", "first_seq", "last_seq")

    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0
        self.first_seq = -1
        self.last_seq = -1
