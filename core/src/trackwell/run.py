"""The run: the caller's side of logging.

Everything here runs on the training loop's thread, so it only validates, normalizes
and enqueues; the writer thread (``writer.py``) does the rest. ``session.init()``
builds runs; users never construct one directly.
"""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trackwell._pipeline import ops
from trackwell._pipeline.writer import BACKLOG_LIMIT, WAKE_AT, Writer
from trackwell.alerts import AlertLevel, AlertThrottle, make_alert
from trackwell.config import Config
from trackwell.errors import DataDroppedWarning, RunFinishedError, UsageError, warn_user
from trackwell.limits import MAX_STEP
from trackwell.metrics import MetricRule, SummaryState
from trackwell.normalize import normalize_row
from trackwell.records import Kind
from trackwell.run_artifacts import ArtifactMethods
from trackwell.settings import Settings
from trackwell.summary import Summary

if TYPE_CHECKING:
    from trackwell._pipeline.sender import Sender

_now = time.time
_HISTORY = ops.HISTORY  # a module global: log() builds one tuple per call
SAVE_POLICIES = ("live", "now", "end")


class Run(ArtifactMethods):
    """A single tracked run, returned by ``trackwell.init()``.

    Its collaborators come at construction (``trackwell.session``/``resume`` build it):
    ``open_log(run)`` opens the run's writer (``trackwell.wiring.open_log``), and
    ``_start(plugins, sender, console)`` starts its threads once ``init()`` has set the
    config. Other SDK modules use this small interface, never the run's state:
    ``_check_live``, ``_record`` (a record for the log), ``_stage`` (a logged artifact),
    ``_sync_log``, ``_call_at_finish``, ``_ended`` and ``_turn_off_in_fork``; plugins use
    ``trackwell.extend``.
    """

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        name: str,
        run_dir: Path,
        start_time: float,
        resumed: bool = False,
        *,
        step: int = 0,
        config: Mapping[str, Any] | None = None,
        stream: str | None = None,
        open_log: Callable[[Run], Writer] | None = None,
    ) -> None:
        self.settings = settings
        self.id = run_id
        self._name = name
        self._run_dir = run_dir  # the run directory: its log, markers and files/
        self.start_time = start_time
        self.resumed = resumed
        self.project: str = settings.project or "uncategorized"
        self.entity: str | None = settings.entity
        self.group: str | None = settings.run_group
        self.job_type: str | None = settings.job_type
        self.sweep_id: str | None = settings.sweep_id
        self._tags: tuple[str, ...] = tuple(settings.tags)
        self._notes: str | None = settings.notes
        self.state = "running"
        self.url: str | None = None  # the run's page, once an online run's entity is known
        self.stream = stream  # the run log's stream id (its first RUN record says it)
        self._step = step  # a continued run (resumed, forked) goes on after its last step
        self._pending: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._finished = False
        self._killed = False
        self._preempting = False  # mark_preempting() was called
        self._throttle = AlertThrottle()
        self._final_summary: dict[str, Any] | None = None
        self._writer: Writer | None = None
        self._queue: Any = None  # the writer's queue (a deque), set by _attach
        self._sender: Sender | None = None  # online runs only
        self._console: Any = None
        self._on_finish: list[Callable[[Run], None]] = []
        self.config = Config(self._emit_config, config)
        self.summary = Summary(self)
        self._local_summary = SummaryState()  # used only when there is no writer
        if settings.mode == "disabled":
            self.log = self._log_disabled  # type: ignore[method-assign]
        if open_log is not None:  # every run but a disabled one: its writer, its RUN record first
            self._attach(open_log(self))
            self._record(Kind.RUN, self.run_info())

    @property
    def _in_finish_hooks(self) -> bool:
        """on_run_finish plugins are running (on the writer thread): they may still log."""
        writer = self._writer
        return writer is not None and writer.in_finish_hooks

    # -- identity ----------------------------------------------------------
    @property
    def dir(self) -> str:
        """The folder of the run's files, as W&B's ``run.dir``: what a script writes here is
        uploaded with the run and listed by the Public API's ``run.files()``."""
        return str(self._run_dir / "files")

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        self._emit_run_update({"name": self._name})

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self._tags = tuple(str(t) for t in value)
        self._emit_run_update({"tags": list(self._tags)})

    @property
    def notes(self) -> str | None:
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._notes = value
        self._emit_run_update({"notes": value})

    @property
    def path(self) -> str:
        return "/".join(p for p in (self.entity, self.project, self.id) if p)

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self._step

    @property
    def offline(self) -> bool:
        return self.settings.mode == "offline"

    @property
    def disabled(self) -> bool:
        return self.settings.mode == "disabled"

    def project_name(self) -> str:
        return self.project

    def run_info(self) -> dict[str, Any]:
        """The body of this run's RUN record."""
        import os
        import socket

        info = {
            "id": self.id,
            "name": self._name,
            "project": self.project,
            "entity": self.entity,
            "group": self.group,
            "job_type": self.job_type,
            "tags": list(self._tags),
            "notes": self._notes,
            "mode": self.settings.mode,
            "start_time": self.start_time,
            "pid": os.getpid(),
            "host": self.settings.host or socket.gethostname(),
            "resumed": self.resumed,
            "sweep_id": self.sweep_id,
        }
        if self.stream is not None:
            info["stream"] = self.stream
        if self._preempting:
            info["preempting"] = True
        s = self.settings
        if s.x_label is not None:
            info["label"] = s.x_label
        if s.x_shared and not s.x_primary:
            # A process attached to a shared run: the primary owns its name, group, tags,
            # notes and final state, so this log names none of them (the server keeps a
            # field a RUN record leaves out).
            for field in ("name", "group", "job_type", "tags", "notes"):
                info.pop(field)
            info["primary"] = False
        return info

    # -- logging ------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Log a row of metrics: one step per call unless ``step``/``commit`` say otherwise.

        The call validates and enqueues; encoding and disk writes happen on the writer
        thread. A ``step`` lower than the current one is warned about and dropped.
        """
        if self._finished and not self._in_finish_hooks:
            raise RunFinishedError(
                f"run {self.id} is finished; the call to log() was ignored. "
                "Start a new run with trackwell.init() to keep logging."
            )
        if type(data) is not dict and not isinstance(data, Mapping):
            raise TypeError(f"trackwell.log() takes a dict of metrics, got {type(data).__name__}")
        row = normalize_row(data, step, self)
        if commit is None:
            if step is None and self._pending is None:
                if not row:
                    return
                with self._lock:
                    q = self._queue
                    q.append((_HISTORY, row, self._step, _now()))
                    self._step += 1
                if len(q) > WAKE_AT:
                    self._backpressure(q)
                return
            if type(step) is int and step > self._step:
                # The common explicit-step loop: each call starts a new pending row.
                with self._lock:
                    if self._step < step <= MAX_STEP:  # past 64 bits: refused by _log_slow
                        pending = self._pending
                        if pending:
                            q = self._queue
                            q.append((_HISTORY, pending, self._step, _now()))
                            if len(q) > WAKE_AT:
                                self._backpressure(q)
                        self._pending = row
                        self._step = step
                        return
        self._log_slow(row, step, commit)
        if len(self._queue) > WAKE_AT:
            self._backpressure(self._queue)

    def _backpressure(self, q: Any) -> None:
        """Wake the writer; if it is far behind, hand it the GIL for a moment.

        Only a loop that logs faster than rows can be written ever gets here; the
        pause bounds the queue (and memory) instead of letting it grow without end.
        """
        self._wake.set()
        if len(q) > BACKLOG_LIMIT:
            time.sleep(0)

    def _log_slow(self, row: dict[str, Any], step: Any, commit: bool | None) -> None:
        with self._lock:
            if step is not None:
                try:
                    step = operator.index(step)
                except TypeError:
                    raise TypeError(f"log(step=...) must be an integer, got {step!r}") from None
                if step > MAX_STEP:
                    warn_user(
                        f"trackwell.log(): step {step} is past the largest step a run can hold "
                        f"({MAX_STEP}, a signed 64-bit integer); this row (keys "
                        f"{', '.join(map(repr, list(row)[:5]))}) was not recorded",
                        DataDroppedWarning,
                    )
                    return
                if step < self._step:
                    warn_user(
                        f"Tried to log to step {step} that is less than the current step "
                        f"{self._step}. Steps must be monotonically increasing, so this data "
                        "will be ignored.",
                        DataDroppedWarning,
                    )
                    return
                if step > self._step:
                    self._commit_pending()
                    self._step = step
                self._merge_pending(row)
                if commit:
                    self._commit_pending()
                return
            self._merge_pending(row)
            if commit is None or commit:
                self._commit_pending()

    def _merge_pending(self, row: dict[str, Any]) -> None:
        if self._pending is None:
            self._pending = row
        else:
            self._pending.update(row)

    def _commit_pending(self) -> None:
        """Queue the accumulated row at the current step (caller holds the lock)."""
        row = self._pending
        self._pending = None
        if row:
            self._queue.append((_HISTORY, row, self._step, _now()))
            self._step += 1

    def _log_disabled(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        return None

    # -- other recorded calls --------------------------------------------------
    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> MetricRule:
        """Say how a metric (or a glob such as ``train/*``) is charted and summarized."""
        rule = MetricRule(name, step_metric, step_sync, bool(hidden), summary, goal)
        self._check_live("define_metric")
        if self._writer is None:
            self._local_summary.define(rule)
        else:
            self._record(Kind.METRIC, rule.to_dict())
        return rule

    def alert(
        self,
        title: str,
        text: str,
        level: AlertLevel | str | None = None,
        wait_duration: float | timedelta | None = None,
    ) -> None:
        """Raise an alert: recorded in the run and delivered to every alert sink.

        Alerts with the same title closer together than ``wait_duration`` seconds
        (default 60) are dropped, so a check inside a loop cannot flood anyone.
        """
        alert = make_alert(title, text, level, wait_duration)
        self._check_live("alert")
        if self._writer is None or not self._throttle.allow(alert):
            return
        self._queue.append((ops.ALERT, alert))

    def save(self, glob_str: str, base_path: str | None = None, policy: str = "live") -> bool:
        """Copy files matching ``glob_str`` into the run's ``files/`` directory.

        ``policy``: ``live`` copies now and again whenever the file changes, ``now``
        copies once now, ``end`` copies when the run finishes.
        """
        if policy not in SAVE_POLICIES:
            raise UsageError(f"save(policy=...) must be one of {', '.join(SAVE_POLICIES)}, not {policy!r}")
        if not isinstance(glob_str, str) or not glob_str:
            raise UsageError("save() needs a file path or glob pattern")
        self._check_live("save")
        if self._writer is not None:
            self._queue.append((ops.SAVE, glob_str, base_path, policy))
        return True

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> Any:
        """Log histograms of a PyTorch model's gradients and/or parameters every ``log_freq`` steps.

        Implemented by the ``trackwell-torch`` package (found through
        ``trackwell.integration.torch``), so the core never imports torch; without it
        this raises ``ModuleNotFoundError`` saying how to install it (``pip install -e integrations/torch``).
        """
        self._check_live("watch")
        return _torch_integration().watch(
            models, criterion=criterion, log=log, log_freq=log_freq, idx=idx, log_graph=log_graph, run=self
        )

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks ``watch()`` put on ``models`` (all models this run watches when None)."""
        _torch_integration().unwatch(models, run=self)

    def _check_live(self, what: str) -> None:
        if self._finished and not self._in_finish_hooks:
            raise RunFinishedError(f"run {self.id} is finished; the call to {what}() was ignored")

    def _record(self, kind: str, body: Any) -> None:
        if self._writer is not None:
            self._queue.append((ops.RECORD, kind, body))

    def _stage(self, stage: Callable[[Path, dict[str, Any]], None], body: dict[str, Any]) -> None:
        """Queue a logged artifact: the writer calls ``stage(run_dir, body)`` (which moves its
        files into the run directory and completes ``body``), then records ``body``."""
        if self._writer is not None:
            self._queue.append((ops.STAGE, stage, body))
            self._wake.set()  # staged now, not at the next flush tick: the sender starts sooner

    def _emit_config(self, update: dict[str, Any], remove: list[str]) -> None:
        if self._finished:
            raise RunFinishedError(f"run {self.id} is finished; its config can no longer change")
        self._record(Kind.CONFIG, {"update": update, "remove": remove})

    def _emit_run_update(self, fields: dict[str, Any]) -> None:
        if self._writer is not None and not self._finished:
            self._record(Kind.RUN, self.run_info() | fields)

    # -- summary plumbing ------------------------------------------------------
    def _summary_snapshot(self) -> dict[str, Any]:
        if self._final_summary is not None:
            return self._final_summary
        writer = self._writer
        if writer is None:
            return self._local_summary.snapshot()
        writer.sync()
        with writer.lock:
            return writer.summary.snapshot()

    def _summary_edit(self, update: dict[str, Any], remove: list[str]) -> None:
        self._check_live("summary update")
        if self._writer is None:
            self._local_summary.edit(update, remove)
        else:
            self._record(Kind.SUMMARY, {"update": update, "remove": remove})

    # -- the end ---------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything logged so far to disk (fsync'd); True when done in time."""
        if self._writer is None or self._finished:
            return True
        return self._writer.sync(fsync=True, timeout=timeout)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: write what is queued, record the final state, print a summary.

        Safe to call twice; also called at interpreter exit and on an unhandled
        exception, so a script that forgets it still leaves a complete run.
        """
        with self._lock:
            if self._finished:
                return
            self._commit_pending()
            self._finished = True
        code = 0 if exit_code is None else int(exit_code)
        self.state = "killed" if self._killed else ("finished" if code == 0 else "failed")
        if self._console is not None:
            self._console.stop()
        writer = self._writer
        if writer is not None:
            if not writer.finish(code, self.state, self.settings.finish_timeout):
                warn_user(
                    f"trackwell: the run log of {self.id} was not closed within "
                    f"{self.settings.finish_timeout:g} s; what was written so far is safe in {self._run_dir}",
                )
            with writer.lock:
                self._final_summary = writer.summary.snapshot()
            if quiet is not None:
                self.settings.quiet = bool(quiet)
            if self._sender is not None:
                self._sender.finish(
                    self.settings.upload_timeout, writer.next_seq - 1, quiet=self.settings.silent
                )
            if writer.plugins is not None:  # the plugin manager guards each plugin's call
                writer.plugins.hook.report_run_finish(
                    run=self, summary=self._final_summary, history=writer.sparks.history(),
                    alerts=writer.alert_count,
                )  # fmt: skip
        else:
            self._final_summary = self._local_summary.snapshot()
        for callback in self._on_finish:
            callback(self)

    def mark_preempting(self) -> None:
        """Say this run is about to be preempted (W&B's ``run.mark_preempting``).

        Written to the run log at once: the local Api shows the run ``preempting`` while
        its process lives and ``preempted`` if it dies without finishing.
        """
        self._check_live("mark_preempting")
        self._preempting = True
        self._emit_run_update({})
        self.flush()

    def _sync_log(self) -> None:
        """Wait until what was queued so far is in the run log (not fsync'd): then an
        online run's sender can see it. Nothing to wait for in a finished or disabled run."""
        if self._writer is not None and not self._finished:
            self._writer.sync()

    def _call_at_finish(self, callback: Callable[[Run], None]) -> None:
        """Call ``callback(run)`` as the last step of ``finish()`` (``trackwell.extend.on_finish``)."""
        self._on_finish.append(callback)

    @property
    def _ended(self) -> bool:
        """``finish()`` has run: nothing more can be logged."""
        return self._finished

    def _turn_off_in_fork(self, refuse: Callable[..., Any], finish: Callable[..., Any]) -> bool:
        """In a forked child, make this copy of a live run refuse writes (``trackwell.child``):
        ``log``, the summary and ``flush`` call ``refuse``, ``finish`` is replaced (it is the
        parent's to end). False if the run had ended before the fork."""
        if self._finished:
            return False
        self._queue = refuse  # only append() and len() are used
        for method in ("log", "_summary_snapshot", "flush"):  # these don't all reach the queue
            setattr(self, method, refuse)
        self.finish = finish  # type: ignore[method-assign]  # atexit calls it in a child too
        return True

    def mark_killed(self) -> None:
        """Record that the run ends because of an interrupt (state ``killed``)."""
        self._killed = True

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        code = 0
        if exc_type is not None:
            code = 1
            if issubclass(exc_type, KeyboardInterrupt):
                self._killed = True
                code = 255
        self.finish(exit_code=code)
        return False

    def __getstate__(self) -> Any:
        """Refused: a run in another process (multiprocessing spawn) could not log to this one."""
        from trackwell import child

        raise child.refuse_pickle(self)

    def __repr__(self) -> str:
        return f"<Run {self.path} ({self.state}) name={self._name!r} dir={str(self._run_dir)!r}>"

    # -- wiring: the run's collaborators -----------------------------------------
    def _attach(self, writer: Writer) -> None:
        from trackwell import child

        child.track(self)  # a forked child's copy of the run refuses to log (rows would be lost)
        self._writer = writer
        self._queue = writer.queue
        self._wake = writer.wake

    def _start(
        self,
        plugins: Any,
        sender: Callable[[Run, Writer], Sender] | None = None,
        console: Callable[[Callable[[str], None]], Any] | None = None,
    ) -> None:
        """Start the run's threads, once ``init()`` has set its config: the writer with the
        run's ``plugins``, an online run's ``sender(run, writer)``, and ``console(write)``
        capture (its ``start()``/``stop()``), whose text goes to the writer's queue."""
        writer = self._writer
        assert writer is not None, "a disabled run has no threads"
        writer.start(plugins)
        if sender is not None:
            self._sender = sender(self, writer)
        if console is not None:
            queue = writer.queue
            self._console = console(lambda text: queue.append((ops.OUTPUT, text)))
            self._console.start()


def _torch_integration() -> Any:
    from trackwell.integration import load

    return load("torch")
