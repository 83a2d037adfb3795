"""Parsed run logs kept per (path, mtime, size), so asking twice costs one ``stat``.

A live run's log grows, which changes its size and mtime, so a stale entry is never
served; a finished run's log never changes, so it is parsed once per ``Api``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from trackwell._pipeline.runlog import describe_skipped, read_log
from trackwell.api.replay import RunData, replay
from trackwell.errors import warn_user

_Key = tuple[str, int, int]


class LogCache:
    """A small LRU of ``RunData`` by log file identity; safe to share between threads."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[_Key, RunData]] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0  # parses done; tests use it to prove a hit costs no parse

    def load(self, path: Path) -> RunData:
        """The parsed log at ``path``; raises ``OSError`` or ``CorruptRunLog`` like ``read_log``."""
        name = os.fspath(path)
        st = os.stat(name)
        key = (name, st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._entries.get(name)
            if hit is not None and hit[0] == key:
                self._entries.move_to_end(name)
                return hit[1]
        result = read_log(name)  # parse outside the lock: logs can be large
        if result.skipped:
            warn_user(f"trackwell: {describe_skipped(name, result.skipped)}")
        data = replay(result.records, result.torn_bytes)
        data.skipped = result.skipped
        data.log_mtime = st.st_mtime
        with self._lock:
            self.misses += 1
            self._entries[name] = (key, data)
            self._entries.move_to_end(name)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return data

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
