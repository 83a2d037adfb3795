"""The one-line progress bar that big artifact uploads and downloads show on a terminal."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trackwell.run import Run

#: Transfers bigger than this show a progress bar (on a terminal, unless quiet).
PROGRESS_BYTES = 8 * 1024 * 1024


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
