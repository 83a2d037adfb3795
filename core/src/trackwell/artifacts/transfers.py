"""The worker threads artifact transfers run on: an ``Executor`` that still works at interpreter exit.

A run that is not finished explicitly is finished by an ``atexit`` handler, and its
sender uploads the artifacts then. ``concurrent.futures.ThreadPoolExecutor`` cannot
be used there: ``threading``'s shutdown hook, which runs *before* ``atexit``
handlers, makes every executor refuse new work ("cannot schedule new futures after
interpreter shutdown"), so the files were left behind. Running the run's exit path
earlier, from ``threading._register_atexit``, would be private API and would run
before the program's own non-daemon threads are joined, while they may still log.
So transfers run on plain threads of our own, which follow no such rule.

The threads are daemons, started as work arrives, at most ``workers`` of them; a
transfer that hangs can therefore never keep the process from exiting once
``finish()``'s upload budget is spent. Where a thread cannot be started at all
(Python 3.12.1 refuses new threads even in ``atexit`` handlers, "can't create new
thread at interpreter shutdown"), the work runs in the submitting thread: slower,
never lost. Python 3.10, 3.11 and 3.13 start the threads as usual.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

_T = TypeVar("_T")
_Job = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class TransferPool(Executor):
    """Up to ``workers`` daemon threads running submitted calls in order of submission."""

    def __init__(self, workers: int, name: str = "trackwell-transfer") -> None:
        self._workers = max(1, workers)
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)  # released by a thread each time it is done with a job
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the transfer pool is shut down")
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError:  # no new threads now: run the call here
                    if not self._threads:
                        _run(future, fn, args, kwargs)
                        return future
                else:
                    self._threads.append(thread)
            self._jobs.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            _run(*job)
            del job  # drop the call's references before waiting for the next
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in threads:
            self._jobs.put(None)
        if wait:
            for thread in threads:
                thread.join()


def _run(future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # handed to whoever waits on the future, as an executor does
        future.set_exception(exc)
    else:
        future.set_result(result)
