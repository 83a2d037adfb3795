"""The live run's sender thread: runs an ``Uploader`` (``uploader.py``) until ``finish()``.

An online run's writer wakes it after each batch it flushes; at the end, ``finish()``
waits for the upload within the run's ``upload_timeout``, saying how far it got, and
tells the user how to send the rest later (it is safe in the run directory).
"""

from __future__ import annotations

import threading
import time

from trackwell._pipeline import uploader
from trackwell._pipeline.runlog import describe_skipped
from trackwell._pipeline.say import stderr
from trackwell._pipeline.uploader import Uploader, UploadFailed

__all__ = ["Sender"]


class Sender:
    """The live run's sender thread: runs an ``Uploader`` until ``finish()``.

    The writer sets ``wake`` after each batch it flushes, so new records go out
    within a moment without polling; a step with nothing to do waits on it.
    """

    def __init__(self, uploader: Uploader, wake: threading.Event) -> None:
        self.uploader = uploader
        self.wake = wake
        self._closing = threading.Event()  # the writer has closed the log
        self._abort = threading.Event()  # finish() gave up waiting
        self._kick = threading.Event()  # cut a backoff wait short
        # Set when the thread ends. finish() waits on this, not on Thread.join(): a join
        # interrupted by Ctrl-C marks a live thread stopped (CPython, bpo-45274's fix).
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._main, name="trackwell-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        up = self.uploader
        try:
            while not self._abort.is_set():
                self.wake.clear()
                delay = up.step(final=self._closing.is_set())
                if up.done:
                    return
                if delay <= 0:
                    continue
                if up.retry_at > time.monotonic():
                    self._kick.wait(delay)
                    self._kick.clear()
                else:
                    self.wake.wait(delay)
        except UploadFailed as exc:
            up.error = str(exc)
            stderr(
                f"trackwell: ERROR the server refused run {up.run_id}: {exc}. The run goes on "
                f"logging to {up.run_dir}; fix the cause, then run `trackwell sync {up.run_dir}`"
            )
        except Exception as exc:  # a bug here must never reach training; the log keeps everything
            up.error = f"{type(exc).__name__}: {exc}"
            stderr(f"trackwell: ERROR the sender of run {up.run_id} stopped: {up.error}")
        finally:
            if up.tail.skipped:
                stderr(f"trackwell: WARNING {describe_skipped(up.tail.path, up.tail.skipped)}")
            up.close()
            self._ended.set()

    def finish(self, timeout: float, last_seq: int, quiet: bool = False) -> bool:
        """Wait up to ``timeout`` s for the upload to end; True when all of it is up.

        Called after the writer closed the log; ``last_seq`` is its last record. Slow
        uploads show progress; one that runs out of time says what is left and how to
        send it later (it is safe in the run directory).
        """
        up = self.uploader
        try:
            return self._finish(timeout, last_seq, quiet)
        finally:
            if up.artifacts is not None:
                up.artifacts.report()  # artifact jobs that failed for good, where the user sees them

    def _finish(self, timeout: float, last_seq: int, quiet: bool) -> bool:
        up = self.uploader
        try:
            up.deadline = time.monotonic() + timeout
            self._closing.set()
            self._kick.set()
            self.wake.set()
            if self._wait(timeout, last_seq, quiet):
                doing = "retries failing" if up.error else "no answer from the server"
                why = f": nothing went through for {uploader.STALL_TIMEOUT:g} s ({doing}"
            else:
                why = f" within {timeout:g} s (upload_timeout"
        except KeyboardInterrupt:  # Ctrl-C while waiting means: stop waiting, not lose data
            why = " (upload interrupted"
        if not self._ended.is_set():
            self._abort.set()
            self._kick.set()
            self.wake.set()
            why += f"; last error: {up.error})" if up.error else ")"
        elif up.done and up.error is None:
            return True
        else:  # the sender gave up: the server refused the run
            why = f": {up.error}"
        records = up.records_left(last_seq)
        files = len(up.changed_files())
        stderr(
            f"trackwell: {records} record(s) and {files} file(s) of run {up.run_id} did not reach "
            f"the server{why}. They are safe in {up.run_dir}: run `trackwell sync {up.run_dir}` "
            "to upload them."
        )
        return False

    def _wait(self, timeout: float, last_seq: int, quiet: bool) -> bool:
        """Join the thread for up to ``timeout`` s, saying how far it got every few seconds.

        A slow upload that moves gets the whole ``timeout``; one with no request answered
        for ``uploader.STALL_TIMEOUT`` s (the server is down, or hung: a request that never gets
        an answer counts too) stops the wait there, so a script whose server is away
        does not hang at exit for the full upload timeout. True means it stopped for
        that reason.
        """
        up = self.uploader
        start = time.monotonic()
        shown = start + 2.0
        while not self._ended.is_set():
            now = time.monotonic()
            remaining = start + timeout - now
            if remaining <= 0:
                return False
            if now - max(start, up.last_contact) >= uploader.STALL_TIMEOUT:
                return True
            if self._ended.wait(min(remaining, 0.5)):
                return False
            if not quiet and time.monotonic() >= shown:
                shown = time.monotonic() + 5.0
                state = f" (retrying: {up.error})" if up.error else ""
                stderr(
                    f"trackwell: uploading run {up.run_id}: {up.records_left(last_seq)} records left{state}"
                )
        return False
