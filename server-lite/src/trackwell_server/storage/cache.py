"""A per-process cache of decoded series, keyed by the chunks they were built from.

Reading a million-point metric means fetching and joining megabytes of chunk blobs;
charts and notebooks read the same series again and again. Each chunk carries a
random ``rev`` that every write renews, so the list of (id, rev) of a key's chunks
names its content exactly: a hit is always current, and nothing needs invalidating
(several server processes each keep their own cache without talking to each other).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

Series = tuple[np.ndarray, np.ndarray]


class SeriesCache:
    """LRU of (steps, values) by fingerprint, bounded by bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, Series] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, fingerprint: Any) -> Series | None:
        with self._lock:
            hit = self._items.get(fingerprint)
            if hit is not None:
                self._items.move_to_end(fingerprint)
            return hit

    def put(self, fingerprint: Any, series: Series) -> None:
        size = series[0].nbytes + series[1].nbytes
        if size > self.max_bytes // 4:  # one huge series must not flush everything else
            return
        for array in series:
            array.flags.writeable = False  # shared between requests: nobody may change it
        with self._lock:
            if fingerprint in self._items:
                return
            self._items[fingerprint] = series
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= old[0].nbytes + old[1].nbytes


#: 256 MB of decoded history per process
series_cache = SeriesCache(256 * 1024 * 1024)
