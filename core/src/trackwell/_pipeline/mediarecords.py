"""Media and tables in logged values, on the writer thread: each object replaced by its
record (its files written under ``files/media/``), each table logged under a key also
staged as a ``run_table`` artifact, and a FILES record naming the new media files.

Everything type-specific comes through the ``ports.Encoding`` the writer is given, so
this module knows no media type. Rows of plain values never get here: the writer's
packer stops at the first media object (``pack_default``), and only then is the row
encoded again through ``MediaRecords``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from trackwell._pipeline import ports, runlog
from trackwell._pipeline.rowcheck import SCALARS
from trackwell.errors import DataDroppedWarning, warn_user
from trackwell.records import Kind


class MediaInRow(Exception):
    """Raised by the packer at a Media object; deliberately not a TypeError, which
    encode_record would turn into a repr."""


def pack_default(media_type: type) -> Callable[[Any], Any]:
    """The packer's ``default``: stop at the first ``media_type`` object (the row is then
    encoded again with its media replaced by records), else what the run log stores."""

    def default(obj: Any) -> Any:
        if isinstance(obj, media_type):
            raise MediaInRow
        return runlog._default(obj)

    return default


class MediaRecords:
    """The media state of one run: where its media files go, and which tables are artifacts."""

    def __init__(self, encoding: ports.Encoding, files_dir: Path) -> None:
        self._encoding = encoding
        self.files_dir = files_dir
        self._ctx: ports.MediaDir | None = None  # made at the first media object
        self._table_digests: dict[str, Any] = {}  # key -> sha256 of the table last made an artifact

    @property
    def started(self) -> bool:
        """Some media object was encoded: FILES records may be due."""
        return self._ctx is not None

    def encode_row(self, row: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
        """Replace each Media object in ``row`` by its record, writing its files under
        ``files/media/``. A value whose encoding fails is dropped with a warning; the
        rest of the row is kept. Returns the ``(key, table, record)`` of each Table
        logged directly under a key (each also becomes a ``run_table`` artifact)."""
        encoding = self._encoding
        if self._ctx is None:
            self._ctx = encoding.media_dir(self.files_dir)
        tables = []
        for key in list(row):
            value = row[key]
            if type(value) in SCALARS:
                continue
            try:
                row[key] = encoding.encode(value, self._ctx)
                if isinstance(value, encoding.object_type) and row[key].get("_type") == "table-file":
                    tables.append((key, value, row[key]))
            except Exception as exc:
                del row[key]
                warn_user(
                    f"trackwell.log(): could not encode {type(value).__name__} under {key!r} at step "
                    f"{row.get('_step')}: {exc}; that key was dropped, the rest of the row was kept",
                    DataDroppedWarning,
                )
        return tables

    def table_artifacts(
        self,
        run: Any,
        tables: list[tuple[str, Any, dict[str, Any]]],
        out: list[bytes],
        seq: int,
        packer: msgpack.Packer,
    ) -> int:
        """As W&B does, each table logged under ``key`` is also artifact
        ``run-<run id>-<key>`` of type ``run_table`` (``artifact.get(key)`` gives it back),
        staged here, uploaded by the sender like any logged artifact (at sync, offline).
        A table whose bytes did not change since it was last logged under the key adds
        no version. Records get seqs from ``seq`` on; returns how many were added."""
        added = 0
        for key, table, record in tables:
            if self._table_digests.get(key) == record.get("sha256"):
                continue
            try:
                body = self._encoding.stage_table(run, key, table)
            except Exception as exc:  # the row is logged; only its artifact copy is lost
                warn_user(
                    f"trackwell.log(): the table under {key!r} was logged, but its run_table artifact "
                    f"could not be made: {exc}",
                    DataDroppedWarning,
                )
                continue
            self._table_digests[key] = record.get("sha256")
            out.append(runlog.encode_record(packer, Kind.ARTIFACT, seq + added, body))
            added += 1
        return added

    def files_record(self, out: list[bytes], seq: int, packer: msgpack.Packer) -> bool:
        """Add to ``out`` (at ``seq``) a FILES record naming the media files written since
        the last one, so the sender uploads exactly those instead of rescanning ``files/``;
        False when there were none."""
        if self._ctx is None:
            return False
        paths = self._ctx.take_written()
        if not paths:
            return False
        out.append(runlog.encode_record(packer, Kind.FILES, seq, {"paths": paths, "policy": "media"}))
        return True
