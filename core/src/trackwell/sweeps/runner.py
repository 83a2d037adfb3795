"""The sweep agent: asks the controller for a trial, runs it, reports how it ended, repeats.

A trial runs in this process (``function=``) or as a subprocess (the configuration's
``program``/``command``). Either way the run learns it belongs to the sweep through
environment variables that ``trackwell.init()`` reads (``TRACKWELL_SWEEP_ID``,
``TRACKWELL_RUN_ID``, ``TRACKWELL_SWEEP_PARAM_PATH`` with the parameters as JSON,
project and entity), so the training code needs no change. While a trial runs, a
heartbeat asks the server which runs to stop (hyperband, a canceled sweep). A trial
that raises or exits non-zero is reported ``failed`` and the agent goes on.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackwell import active
from trackwell.sweeps import commands
from trackwell.sweeps.client import SweepClient
from trackwell.sweeps.config import nest, parse

#: Seconds between heartbeats while a trial runs, and between asks while a sweep is paused.
HEARTBEAT_ENV = "TRACKWELL_SWEEP_HEARTBEAT"
PARAM_PATH_ENV = "TRACKWELL_SWEEP_PARAM_PATH"
_TRIAL_ENV = ("TRACKWELL_SWEEP_ID", "TRACKWELL_RUN_ID", "TRACKWELL_PROJECT", "TRACKWELL_ENTITY",
              "TRACKWELL_MODE", PARAM_PATH_ENV)  # fmt: skip


class SweepRunStopped(BaseException):
    """Raised inside ``function`` when the controller stops its trial (a ``BaseException``,
    so a training loop's ``except Exception`` does not swallow it)."""


def _interval() -> float:
    return float(os.environ.get(HEARTBEAT_ENV) or 5.0)


class Agent:
    """One agent on one sweep: ``Agent(...).run()`` runs trials until ``count`` or the sweep ends."""

    def __init__(
        self,
        sweep_id: str,
        function: Callable[[], Any] | None = None,
        entity: str | None = None,
        project: str | None = None,
        count: int | None = None,
    ) -> None:
        if count is not None and count < 1:
            from trackwell.errors import UsageError

            raise UsageError(f"count must be a positive number of runs, got {count!r}")
        self.client = SweepClient(sweep_id, entity, project)
        self.function = function
        self.count = count
        self.name = f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
        self.results: list[tuple[str, str]] = []  # (run_id, end state), for callers and tests

    def run(self) -> None:
        info = self.client.info()
        cfg = parse(info["config"])
        done = 0
        while self.count is None or done < self.count:
            answer = self.client.next(self.name)
            if answer["action"] == "done":
                print(
                    f"trackwell: sweep {self.client.path} is done ({answer.get('reason')})", file=sys.stderr
                )
                return
            if answer["action"] == "wait":
                time.sleep(_interval())  # polling the server, not waiting for a thread of ours
                continue
            run_id, params = answer["run_id"], nest(answer["params"])
            print(f"trackwell: sweep agent starting run {run_id} with {json.dumps(params)}", file=sys.stderr)
            with tempfile.TemporaryDirectory(prefix="trackwell-sweep-") as tmp:
                param_file = Path(tmp) / "params.json"
                param_file.write_text(json.dumps(params), encoding="utf-8")
                env = {
                    "TRACKWELL_SWEEP_ID": self.client.sweep_id, "TRACKWELL_RUN_ID": run_id,
                    "TRACKWELL_PROJECT": self.client.project, "TRACKWELL_ENTITY": self.client.entity,
                    "TRACKWELL_MODE": "online", PARAM_PATH_ENV: str(param_file),
                }  # fmt: skip
                if self.function is not None:
                    state, error = self._in_process(run_id, env)
                else:
                    argv = commands.build(cfg.command, cfg.program, params, str(param_file))
                    state, error = self._subprocess(run_id, argv, env)
            self.client.report(run_id, state, error)
            self.results.append((run_id, state))
            done += 1

    # -- in this process ----------------------------------------------------------
    def _in_process(self, run_id: str, env: dict[str, str]) -> tuple[str, str | None]:
        assert self.function is not None
        saved = {k: os.environ.get(k) for k in _TRIAL_ENV}
        os.environ.update(env)
        stopped = threading.Event()
        caller = threading.current_thread()
        # A stop that arrives as the function returns must not land in the agent's own
        # code: it is only raised while the function runs, and one raised but not yet
        # delivered when the function returns is withdrawn.
        guard = threading.Lock()
        running = [True]

        def on_stop() -> None:
            with guard:
                if running[0]:
                    _raise_in(caller, stopped)

        beat = _Heartbeat(self.client, run_id, on_stop)
        state, error = "finished", None
        try:
            beat.start()
            try:
                self.function()
            finally:
                with guard:
                    running[0] = False
                    if stopped.is_set() and caller.ident is not None:
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(caller.ident), None)
        except SweepRunStopped:
            state = "stopped"
        except Exception as exc:  # a crashed trial is recorded and the agent goes on
            state, error = "failed", "".join(traceback.format_exception(exc))
            traceback.print_exc()
        finally:
            beat.stop()
            state = "stopped" if stopped.is_set() else state
            self._finish_run(run_id, state)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return state, error

    @staticmethod
    def _finish_run(run_id: str, state: str) -> None:
        run = active.get()  # the trial's run, if ``function`` left it open
        if run is not None and run.id == run_id and not run._ended:
            run.finish(exit_code=0 if state in ("finished", "stopped") else 1)

    # -- as a subprocess ------------------------------------------------------------
    def _subprocess(self, run_id: str, argv: list[str], env: dict[str, str]) -> tuple[str, str | None]:
        proc = subprocess.Popen(argv, env={**os.environ, **env})
        stop = threading.Event()
        beat = _Heartbeat(self.client, run_id, stop.set)
        beat.start()
        try:
            while proc.poll() is None:
                if stop.wait(0.1):
                    proc.terminate()
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                    break
        finally:
            beat.stop()
        if stop.is_set():
            return "stopped", None
        if proc.returncode != 0:
            return "failed", f"{argv[0]} exited with status {proc.returncode}"
        return "finished", None


class _Heartbeat(threading.Thread):
    """Asks the server every interval whether ``run_id`` must stop; calls ``on_stop`` once if so."""

    def __init__(self, client: SweepClient, run_id: str, on_stop: Callable[[], None]) -> None:
        super().__init__(name="trackwell-sweep-heartbeat", daemon=True)
        self.client, self.run_id, self.on_stop = client, run_id, on_stop
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(_interval()):
            try:
                answer = self.client.heartbeat([self.run_id])
            except Exception as exc:  # a missed beat is retried at the next one
                print(f"trackwell: sweep heartbeat failed: {exc}", file=sys.stderr)
                continue
            if self.run_id in answer.get("stop", []) and not self._done.is_set():
                print(f"trackwell: the sweep controller stopped run {self.run_id}", file=sys.stderr)
                self.on_stop()
                return

    def stop(self) -> None:
        self._done.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(timeout=30)


def _raise_in(thread: threading.Thread, stopped: threading.Event) -> None:
    """Interrupt ``function`` where it runs: ``SweepRunStopped`` raised in its thread."""
    stopped.set()
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(SweepRunStopped)
        )
