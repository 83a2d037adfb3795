"""CPU, memory, disk and network metrics through psutil: the built-in host metrics source.

Keys follow W&B's names (shown there under ``system/``):

- ``cpu``: this process's CPU use as a percent of the whole machine (all cores);
- ``cpu.<i>.cpu_percent``: each core's system-wide use; ``proc.cpu.threads``;
- ``memory_percent`` (system), ``proc.memory.availableMB`` (system),
  ``proc.memory.rssMB`` and ``proc.memory.percent`` (this process);
- ``disk.<path>.usagePercent`` and ``disk.<path>.usageGB`` for each watched path
  (the root disk by default), ``disk.in``/``disk.out``: MB read/written since start;
- ``network.sent``/``network.recv``: bytes since start.

psutil is imported in ``setup()``, on the sampling thread, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trackwell.plugins import hookimpl

if TYPE_CHECKING:
    from trackwell.sysmetrics import MetricsSource

_MB = 1024 * 1024
_GB = 1024 * _MB


class PsutilSource:
    """Host and process metrics for one process (this one unless ``pid`` is given)."""

    name = "psutil"

    def __init__(self, pid: int | None = None, disk_paths: Sequence[str] | None = None) -> None:
        self.pid = pid if pid is not None else os.getpid()
        self.disk_paths = tuple(disk_paths) if disk_paths else (os.path.abspath(os.sep),)
        self._psutil: Any = None
        self._proc: Any = None
        self._cpu_count = 1
        self._disk0: Any = None
        self._net0: Any = None

    def setup(self) -> bool:
        try:
            import psutil
        except ImportError:
            return False
        self._psutil = psutil
        self._proc = psutil.Process(self.pid)
        self._cpu_count = psutil.cpu_count() or 1
        # cpu_percent(None) measures since the previous call: prime both counters so
        # the first sample covers the time since setup, not since boot.
        self._proc.cpu_percent()
        psutil.cpu_percent(percpu=True)
        self._disk0 = self._io(psutil.disk_io_counters)
        self._net0 = self._io(psutil.net_io_counters)
        return True

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        # Each group is independent: a vanished mount or an unreadable counter loses
        # its own keys, not the whole sample.
        for group in (self._cpu, self._memory, self._disk, self._network):
            try:
                out.update(group())
            except (OSError, self._psutil.Error):
                continue
        return out

    def close(self) -> None:
        self._proc = None

    def _io(self, counters: Callable[[], Any]) -> Any:
        try:
            return counters()  # None where the OS does not expose them (some containers)
        except (OSError, RuntimeError):
            return None

    def _cpu(self) -> dict[str, float]:
        out = {"cpu": self._proc.cpu_percent() / self._cpu_count}
        for i, pct in enumerate(self._psutil.cpu_percent(percpu=True)):
            out[f"cpu.{i}.cpu_percent"] = pct
        out["proc.cpu.threads"] = self._proc.num_threads()
        return out

    def _memory(self) -> dict[str, float]:
        vm = self._psutil.virtual_memory()
        return {
            "memory_percent": vm.percent,
            "proc.memory.availableMB": vm.available / _MB,
            "proc.memory.rssMB": self._proc.memory_info().rss / _MB,
            "proc.memory.percent": self._proc.memory_percent(),
        }

    def _disk(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for path in self.disk_paths:
            usage = self._psutil.disk_usage(path)
            out[f"disk.{path}.usagePercent"] = usage.percent
            out[f"disk.{path}.usageGB"] = usage.used / _GB
        io = self._io(self._psutil.disk_io_counters)
        if io is not None and self._disk0 is not None:
            out["disk.in"] = (io.read_bytes - self._disk0.read_bytes) / _MB
            out["disk.out"] = (io.write_bytes - self._disk0.write_bytes) / _MB
        return out

    def _network(self) -> dict[str, float]:
        net = self._io(self._psutil.net_io_counters)
        if net is None or self._net0 is None:
            return {}
        return {
            "network.sent": net.bytes_sent - self._net0.bytes_sent,
            "network.recv": net.bytes_recv - self._net0.bytes_recv,
        }


@hookimpl
def register_system_metrics(register: Callable[[MetricsSource], None]) -> None:
    register(PsutilSource())
