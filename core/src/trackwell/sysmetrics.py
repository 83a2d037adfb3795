"""System metrics: the sources plugins contribute and the thread that samples them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pluggy

logger = logging.getLogger(__name__)

PREFIX = "system/"
THREAD_NAME = "trackwell-stats"


class MetricsSource(Protocol):
    """What ``register_system_metrics`` registers; see that hook for the contract.

    ``setup()``, ``sample()`` and ``close()`` all run on the sampling thread.
    ``close()`` is called only for sources whose ``setup()`` returned True.
    """

    name: str

    def setup(self) -> bool: ...

    def sample(self) -> dict[str, float]: ...

    def close(self) -> None: ...


class SystemMonitor:
    """Sample every source on one daemon thread: once at start, then every ``interval``.

    Each sample merges the sources' dicts, prefixes keys with ``system/`` and passes the
    result to ``emit``. A source that fails in ``setup()`` is dropped quietly; one that
    fails in ``sample()`` is reported once and dropped; neither stops the others.
    """

    def __init__(
        self,
        sources: list[MetricsSource],
        interval: float,
        emit: Callable[[dict[str, float]], None],
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self._sources = list(sources)
        self._interval = interval
        self._emit = emit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._emit_failed = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the sampling thread; a monitor starts at most once."""
        if self._thread is not None:
            raise RuntimeError("SystemMonitor already started")
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop sampling (no final sample) and wait up to ``timeout`` for sources to close.

        Sources are closed on the sampling thread itself, after its last sample; if a
        source is stuck past ``timeout``, the daemon thread closes them when it returns.
        """
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the sampling thread ------------------------------------------------------

    def _run(self) -> None:
        active = [s for s in self._sources if not self._stop.is_set() and _setup(s)]
        ready = list(active)  # everything set up gets closed, even if dropped later
        try:
            next_at = time.monotonic()
            while active and not self._stop.is_set():
                self._sample_once(active)
                # A fixed schedule, so slow sampling does not make the interval drift;
                # after a stall, skip the missed ticks instead of sampling in a burst.
                next_at += self._interval
                now = time.monotonic()
                if next_at < now:
                    next_at = now + self._interval
                if self._stop.wait(next_at - now):
                    break
        finally:
            for source in ready:
                try:
                    source.close()
                except Exception:
                    logger.debug("system metrics source %r failed to close", source.name, exc_info=True)

    def _sample_once(self, active: list[MetricsSource]) -> None:
        row: dict[str, float] = {}
        for source in list(active):
            try:
                values = {f"{PREFIX}{k}": float(v) for k, v in source.sample().items()}
            except Exception:
                logger.warning(
                    "system metrics source %r failed; it is disabled for this run",
                    source.name,
                    exc_info=True,
                )
                active.remove(source)
                continue
            row.update(values)
        if not row:
            return
        try:
            self._emit(row)
        except Exception:
            # The run's queue may be closing; say so once, not every interval.
            if not self._emit_failed:
                self._emit_failed = True
                logger.warning("could not record system metrics", exc_info=True)


def _setup(source: MetricsSource) -> bool:
    try:
        ok = bool(source.setup())
    except Exception:
        logger.debug("system metrics source %r failed to set up", source.name, exc_info=True)
        return False
    if not ok:
        logger.debug("system metrics source %r is not available here", source.name)
    return ok


# -- collecting sources from plugins -----------------------------------------------


def collect_sources(pm: pluggy.PluginManager) -> list[MetricsSource]:
    """Call ``register_system_metrics`` and return the sources plugins registered.

    The registrar (``trackwell.plugins.registrar``) rejects, naming the plugin, a source
    lacking ``name`` or one of ``setup``/``sample``/``close`` (``TypeError``) and a name
    registered twice (``ValueError`` naming both plugins).
    """
    from trackwell.plugins.registrar import SYSTEM_METRICS, collect

    return list(collect(pm, SYSTEM_METRICS).values())
