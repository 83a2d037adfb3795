"""Keep a server's copy of local run directories current, without writing to them.

``trackwell ui`` serves local runs through a throwaway server: this module feeds it.
Each run goes up through the sender's ``Uploader`` (the same code as a live run and
``trackwell sync``), but with ``markers=False``: ``sync.json`` in the run directory
records uploads to the user's real server, and a copy made for browsing must neither
read nor overwrite it. Nothing under the run directories is written.

A run whose log may still grow (no EXIT record yet, its process alive) keeps its
uploader open between passes, so a pass sends only the records appended since the
last one and a run still training shows live in the dashboard. A finished run's
uploader is closed; if its log grows later (a resumed run) it is picked up again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from trackwell.errors import TrackwellError
from trackwell.extend import LocalRun, Transport, Uploader, mark_crashed, rundir

#: Longest one pass spends on one run before moving on (a huge log goes up over several passes).
RUN_SLICE_S = 2.0
#: How often a caught-up run without EXIT is checked for a live process (reads its whole log).
LIVE_CHECK_S = 10.0


class _MirroredRun:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self.uploader: Uploader | None = None
        self.closed_at = -1  # log size when the uploader last finished
        self.next_live_check = 0.0

    def poll(self, connect: Callable[[], Transport]) -> bool:
        """Send what the server lacks of this run (up to ``RUN_SLICE_S``); True if anything went."""
        log = rundir.find_log(self.dir)
        if log is None:
            return False
        if self.uploader is None:
            try:
                size = log.stat().st_size
            except OSError:
                return False
            if size == self.closed_at:
                return False
            run_id = (rundir.parse_run_dir_name(self.dir.name) or ("", "", None))[2]
            self.uploader = Uploader(self.dir, log, connect(), run_id=run_id, live=True, markers=False)
        up = self.uploader
        acked = up.acked
        deadline = time.monotonic() + RUN_SLICE_S
        try:
            while time.monotonic() < deadline and up.step() <= 0:
                pass
            if up.stream is not None and not up.pending and up.failures == 0 and self._over(up):
                while not up.done:
                    if up.step(final=True) > 0:
                        return up.acked != acked  # retry the end on the next pass
                self._close()
        except TrackwellError as exc:  # refused for good (UploadFailed) or a corrupt log
            print(f"trackwell ui: cannot import {self.dir.name}: {exc}", file=sys.stderr)
            self._close()
            try:
                self.closed_at = log.stat().st_size  # tried again once the log grows
            except OSError:
                pass
        return up.acked != acked

    def _over(self, up: Uploader) -> bool:
        """The run ended: its EXIT is on the server, or its process is gone."""
        if up.exit_acked:
            return True
        now = time.monotonic()
        if now < self.next_live_check:
            return False
        self.next_live_check = now + LIVE_CHECK_S
        if LocalRun(self.dir).live():
            return False
        mark_crashed(up)
        return True

    def _close(self) -> None:
        if self.uploader is not None:
            self.closed_at = self.uploader.tail.offset
            self.uploader.close()
            self.uploader = None

    def close(self) -> None:
        if self.uploader is not None:
            self.uploader.close()
            self.uploader = None


class Mirror:
    """The run directories under ``root``, copied into the server ``connect()`` reaches.

    Call ``poll()`` periodically: each call finds new run directories and sends every
    run's new records and files.
    """

    def __init__(self, root: Path, connect: Callable[[], Transport]) -> None:
        self.root = root
        self.connect = connect
        self.runs: dict[Path, _MirroredRun] = {}

    def poll(self) -> int:
        """One pass over every run; how many runs sent something."""
        changed = 0
        for run_dir in rundir.iter_run_dirs(self.root):
            run = self.runs.get(run_dir)
            if run is None:
                run = self.runs[run_dir] = _MirroredRun(run_dir)
            changed += run.poll(self.connect)
        return changed

    def close(self) -> None:
        for run in self.runs.values():
            run.close()
