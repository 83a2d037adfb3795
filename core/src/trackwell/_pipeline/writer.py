"""The writer thread: the one place that turns queued calls into the run log.

The caller's thread only appends tuples to ``Writer.queue`` (a deque: appending is
atomic and lock-free under the GIL). This thread wakes every ``flush_interval``
seconds, or sooner when the queue grows long or someone waits on it, encodes
everything queued into framed records, appends them to the run log in one write,
and flushes. A kill -9 therefore loses at most one flush interval of rows.

Queue items are tuples whose first element is an op code of ``ops.py``, which lists
them with their arguments.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from trackwell import limits
from trackwell._pipeline import ops, ports, runlog
from trackwell._pipeline.logfile import LogFile
from trackwell._pipeline.mediarecords import MediaInRow, MediaRecords, pack_default
from trackwell._pipeline.rowcheck import KeyCheck, check_sizes, refuse
from trackwell._pipeline.runfiles import RunFiles, write_config_yaml
from trackwell._pipeline.runlog import Kind
from trackwell._pipeline.say import stderr
from trackwell.alerts import Alert
from trackwell.errors import DataDroppedWarning, warn_user
from trackwell.metrics import MetricRule, Sparks, SummaryState
from trackwell.normalize import storable

if TYPE_CHECKING:
    import pluggy

    from trackwell.run import Run
    from trackwell.sysmetrics import SystemMonitor

logger = logging.getLogger("trackwell")

#: Wake the writer early once this many items wait, so memory stays bounded.
WAKE_AT = 1000
#: Past this many waiting items the caller yields the GIL to the writer (backpressure).
BACKLOG_LIMIT = 4000
#: Longest finish() waits for the metadata thread (git on a slow network disk).
META_TIMEOUT = 5.0
#: Most items encoded before the next write; keeps the unflushed window short.
MAX_BATCH = 5000


def _labelled(row: dict[str, Any], label: str) -> dict[str, Any]:
    return {k if k[:1] == "_" else f"{label}/{k}": v for k, v in row.items()}


class Writer:
    """Owns the run log file and everything derived from the stream of records."""

    def __init__(
        self,
        run: Run,
        log_file: Path,
        encoding: ports.Encoding,
        seq: int = 0,
        summary: SummaryState | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.run = run
        self._encoding = encoding
        self.queue: deque[tuple[Any, ...]] = deque()
        self.wake = threading.Event()
        self._urgent = threading.Event()  # a sync() or finish() waits: don't nap between batches
        # Guards summary/sparks while a batch is applied; reentrant because hooks run
        # inside a batch and may read run.summary.
        self.lock = threading.RLock()
        self.summary = summary or SummaryState()
        self.sparks = Sparks()
        self.files_dir = Path(run.dir)  # the run's files/ folder
        self.run_dir = self.files_dir.parent
        self.config: dict[str, Any] = dict(config or {})  # mirrored into files/config.yaml
        self.alert_count = 0
        self._seq = seq
        self.log_file = log_file
        #: Set after each batch reaches the log: an online run's sender waits on it.
        self.flushed: threading.Event | None = None
        # A Media object in a row stops the packer (see pack_default), so rows of plain
        # values never pay for a media check: the row is encoded first, as before.
        self._packer = msgpack.Packer(use_bin_type=True, default=pack_default(encoding.object_type))
        self._media = MediaRecords(encoding, self.files_dir)
        self.log = LogFile(log_file, run.id)
        self.files = RunFiles(self.files_dir)
        self._keys = KeyCheck()
        #: True while on_run_finish hooks run: the finished run still takes their rows.
        self.in_finish_hooks = False
        self._config_dirty = False
        self._sinks: list[tuple[str, Callable[[Run, Alert], None]]] = []
        self._pm: pluggy.PluginManager | None = None
        #: The run's plugin manager, once started: the run's reports go through it too.
        self.plugins: pluggy.PluginManager | None = None
        self._on_log = False
        self._syncs: list[threading.Event] = []  # sync() waiters released after on_log
        self._monitor: SystemMonitor | None = None
        self._meta_thread: threading.Thread | None = None
        self._interval = max(0.01, float(run.settings.flush_interval))
        self._thread = threading.Thread(target=self._main, name="trackwell-writer", daemon=True)

    # -- called from other threads ------------------------------------------
    def start(self, plugins: pluggy.PluginManager | None = None) -> None:
        """Start the thread; ``plugins`` get the run's hooks (none for a run without them)."""
        self._pm = self.plugins = plugins
        self._thread.start()

    @property
    def committed_bytes(self) -> int:
        """Bytes of the log that are written for good (a failed write is undone past them)."""
        return self.log.size

    @property
    def next_seq(self) -> int:
        """The seq the next record gets; after finish(), one past the last record."""
        return self._seq

    def sync(self, fsync: bool = False, timeout: float = 30.0) -> bool:
        """Block until everything queued so far is in the run log.

        False on timeout, or when the disk refused the write (the rows are kept in
        memory and retried with the next batch).
        """
        if not self._thread.is_alive():
            return False
        if threading.current_thread() is self._thread:
            return True  # a hook asking: it runs between batches, so nothing older waits
        done = threading.Event()
        self.queue.append((ops.SYNC, done, fsync))
        self._urgent.set()
        self.wake.set()
        return done.wait(timeout) and not self.log.held

    def finish(self, exit_code: int, state: str, timeout: float) -> bool:
        done = threading.Event()
        self.queue.append((ops.FINISH, exit_code, state, done))
        self._urgent.set()
        self.wake.set()
        finished = done.wait(timeout) if self._thread.is_alive() else False
        self._thread.join(timeout=1.0 if finished else 0)
        return finished

    # -- the thread --------------------------------------------------------
    def _main(self) -> None:
        try:
            self._start_plugins()
        except Exception:  # a broken plugin must not cost the run its log
            logger.exception("trackwell: plugin start-up failed; logging continues without it")
        wait = self.wake.wait
        clear = self.wake.clear
        q = self.queue
        while True:
            wait(self._interval)
            clear()
            try:
                # Batches are bounded so a busy producer can't postpone the write.
                while True:
                    if self._drain():
                        return
                    if not q:
                        self._urgent.clear()  # every sync/finish queued so far is done
                        break
                    if len(q) < WAKE_AT and not self._urgent.is_set():
                        break
            except Exception:  # keep the thread alive: the log is the buffer
                logger.exception("trackwell: the writer failed to write a batch")

    def _start_plugins(self) -> None:
        pm = self._pm
        if pm is None:
            return
        from trackwell.plugins.registrar import ALERT_SINKS, collect

        self._sinks.extend(collect(pm, ALERT_SINKS).items())
        self._on_log = bool(pm.hook.on_log.get_hookimpls())
        self._call_hook("on_run_start", run=self.run)
        if not self.run.settings.disable_stats:
            from trackwell.sysmetrics import SystemMonitor, collect_sources

            self._monitor = SystemMonitor(
                collect_sources(pm), self.run.settings.stats_sampling_interval, self._emit_stats
            )
            self._monitor.start()
        # git and friends are slow: a side thread queues the META record when ready.
        self._meta_thread = threading.Thread(
            target=self._collect_metadata, name="trackwell-meta", daemon=True
        )
        self._meta_thread.start()

    def _collect_metadata(self) -> None:
        from trackwell.metadata import collect_metadata

        try:
            meta = collect_metadata(self.run.settings, self.files_dir)
        except Exception:
            logger.exception("trackwell: could not collect run metadata")
            return
        self.queue.append((ops.RECORD, Kind.META, meta))

    @property
    def _row_label(self) -> str | None:
        """The key prefix of a process attached to a shared run (its rows share the steps
        of every other process's, so its keys must not be theirs); None otherwise."""
        s = self.run.settings
        return (s.x_label or self.run.stream) if s.x_shared and not s.x_primary else None

    def _emit_stats(self, sample: dict[str, float]) -> None:
        label = self.run.settings.x_label
        if label:  # several processes write one shared run: say whose machine this is
            sample = {k.replace("system/", f"system/{label}/", 1): v for k, v in sample.items()}
        self.queue.append((ops.STATS, sample))

    def _call_hook(self, name: str, **kwargs: Any) -> None:
        if self._pm is None:
            return
        try:
            getattr(self._pm.hook, name)(**kwargs)
        except Exception:
            logger.exception("trackwell: a plugin's %s hook failed", name)

    def _drain(self) -> bool:
        """Write everything queued; True once the run is finished."""
        out: list[bytes] = []
        rows: list[dict[str, Any]] | None = [] if self._on_log else None
        with self.lock:
            finished = self._consume(out, rows)
            if not finished:
                self._write(out)
        if rows:
            self._call_hook("on_log", run=self.run, rows=rows)
        self._release_syncs()
        return finished

    def _release_syncs(self) -> None:
        # A sync() returns only after on_log has seen the rows before it, so a plugin
        # (or its test) can rely on run.flush().
        while self._syncs:
            self._syncs.pop().set()

    def _consume(self, out: list[bytes], rows: list[dict[str, Any]] | None, closing: bool = False) -> bool:
        """Encode queued items into ``out``; True when a finish request was handled.

        History rows are inlined here: this loop runs once per logged row.
        """
        q = self.queue
        popleft = q.popleft
        left = max(len(q), MAX_BATCH) if closing else MAX_BATCH
        encode = runlog.encode_record
        packer = self._packer
        start = self.run.start_time
        sync_steps = self.summary.sync_steps
        fold = self.summary.fold
        sparks_add = self.sparks.add
        label = self._row_label
        keys = self._keys
        known, nested = keys.known, keys.nested
        max_value = limits.current().max_value_bytes
        history, finish = ops.HISTORY, ops.FINISH  # locals: compared once per queued item
        while q and left:
            left -= 1
            item = popleft()
            if item[0] == history:
                row = item[1] if label is None else _labelled(item[1], label)
                row["_step"] = item[2]
                row["_timestamp"] = item[3]
                row["_runtime"] = item[3] - start
                tables = None
                try:
                    if not row.keys() <= known or (nested and not nested.isdisjoint(row)):
                        keys.admit(row)
                    sync_steps(row)
                    # Encode before folding: encoding turns what msgpack can't hold (ints
                    # past 64 bits) into what the log stores, so the summary agrees with it.
                    data: bytes | None
                    try:
                        data = encode(packer, Kind.HISTORY, self._seq, row)
                    except MediaInRow:
                        tables = self._media.encode_row(row)
                        data = self._encode(Kind.HISTORY, row)
                    except Exception:  # a value msgpack refuses (a lone surrogate): this row alone
                        data = self._encode(Kind.HISTORY, row)
                    if data is not None and len(data) > max_value:
                        data = check_sizes(row, packer, self._seq)
                except Exception as exc:  # whatever it was, it costs this row and no other
                    refuse(row, f"it could not be recorded ({type(exc).__name__}: {exc})")
                    data = None
                if data is None:  # refused with a warning; the next row takes its seq
                    continue
                out.append(data)
                self._seq += 1
                if tables:  # their ARTIFACT records follow the row's
                    self._seq += self._media.table_artifacts(self.run, tables, out, self._seq, packer)
                try:
                    fold(row)
                    sparks_add(row)
                except Exception:  # the row is in the log; only the live summary missed it
                    logger.exception("trackwell: could not fold step %s into the summary", item[2])
                if rows is not None:
                    rows.append(row)
            elif item[0] == finish:
                if closing:  # a second finish() while closing: already on its way
                    item[3].set()
                    continue
                self._media_files(out)
                self._write(out)
                out.clear()
                try:
                    self._close(item[1], item[2])
                finally:
                    item[3].set()  # never leave finish() waiting, whatever failed
                return True
            else:
                try:
                    self._other(item, out)
                except Exception:  # one bad item (a file that won't copy) must not cost the batch
                    logger.exception("trackwell: could not process %r", item[0])
        if self._media.started:
            self._media_files(out)
        return False

    # -- values that cannot be stored ------------------------------------------------
    def _encode(self, kind: str, body: Any) -> bytes | None:
        """Encode one record alone, making it storable; None (with a warning) if it can't be.

        The slow path of a record msgpack refused: strings with lone surrogates get them
        escaped (see ``storable_text``), then ``encode_record`` turns what is left (huge
        ints, unknown objects) into floats and reprs. ``body`` is fixed in place, so the
        summary and plugins see what the log holds.
        """
        try:
            clean = storable(body)
            if isinstance(body, dict) and clean is not body:
                body.clear()
                body.update(clean)
            fixed = body if isinstance(body, dict) else clean
            return runlog.encode_record(self._packer, kind, self._seq, fixed)
        except Exception as exc:
            if kind == Kind.HISTORY and isinstance(body, dict):
                refuse(body, f"it could not be encoded ({type(exc).__name__}: {exc})")
                return None
            warn_user(
                f"trackwell: a {kind} record could not be encoded ({type(exc).__name__}: {exc}); "
                "it was not recorded",
                DataDroppedWarning,
            )
            return None

    # -- media -------------------------------------------------------------------
    def _media_files(self, out: list[bytes]) -> None:
        if self._media.files_record(out, self._seq, self._packer):
            self._seq += 1

    def _other(self, item: tuple[Any, ...], out: list[bytes]) -> None:
        op = item[0]
        add = self._add
        if op == ops.RECORD:
            if item[1] == Kind.SUMMARY and item[2].get("update"):
                # Media set in the summary (a Histogram, an Image) are stored as their
                # records, files under media/, as history rows do; never the raw object.
                self._media.encode_row(item[2]["update"])
            if add(out, item[1], item[2]):
                self._apply_record(item[1], item[2])
        elif op == ops.STATS:
            sample = item[1]
            now = time.time()
            sample["_timestamp"] = now
            sample["_runtime"] = now - self.run.start_time
            add(out, Kind.STATS, sample)
        elif op == ops.OUTPUT:
            self.files.write_output(item[1])
        elif op == ops.ALERT:
            add(out, Kind.ALERT, item[1].to_dict())
            self._deliver_alert(item[1])
        elif op == ops.SAVE:
            paths = self.files.save(item[1], item[2], item[3])
            if paths:
                add(out, Kind.FILES, {"paths": paths, "policy": item[3]})
        elif op == ops.STAGE:
            item[1](self.run_dir, item[2])
            add(out, Kind.ARTIFACT, item[2])
        elif op == ops.SYNC:
            self._write(out, fsync=item[2])
            out.clear()
            if self._on_log:
                self._syncs.append(item[1])
            else:
                item[1].set()

    def _add(self, out: list[bytes], kind: str, body: Any) -> bool:
        """Encode one record into ``out`` under the next seq; False (warned) if it can't be."""
        try:
            data: bytes | None = runlog.encode_record(self._packer, kind, self._seq, body)
        except Exception:
            data = self._encode(kind, body)
        if data is None:
            return False
        out.append(data)
        self._seq += 1
        return True

    def _apply_record(self, kind: str, body: Any) -> None:
        if kind == Kind.CONFIG:
            self.config.update(body.get("update") or {})
            for key in body.get("remove") or ():
                self.config.pop(key, None)
            self._config_dirty = True
        elif kind == Kind.SUMMARY:
            self.summary.edit(body.get("update"), body.get("remove"))
        elif kind == Kind.METRIC:
            self.summary.define(MetricRule.from_dict(body))

    def _write(self, out: list[bytes], fsync: bool = False) -> None:
        written = self.log.write(out)
        if written is False:
            return  # held in memory (a full disk): retried with the next batch
        if written and self.flushed is not None:
            self.flushed.set()
        self.files.flush_output()
        if self._config_dirty:
            self._config_dirty = False
            write_config_yaml(self.files_dir / "config.yaml", self.config)
        if fsync:
            self.log.fsync()
        self.files.refresh_live()

    # -- alerts ----------------------------------------------------------------
    def _deliver_alert(self, alert: Alert) -> None:
        self.alert_count += 1
        for name, deliver in self._sinks:
            try:
                deliver(self.run, alert)
            except Exception:
                logger.exception("trackwell: alert sink %r failed", name)

    # -- the end -------------------------------------------------------------------
    def _close(self, exit_code: int, state: str) -> None:
        if self._meta_thread is not None:  # a short run must still get its META record
            self._meta_thread.join(timeout=META_TIMEOUT)
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        self.in_finish_hooks = True  # the run takes what on_run_finish plugins log
        try:
            self._call_hook("on_run_finish", run=self.run, exit_code=exit_code, state=state)
        finally:
            self.in_finish_hooks = False
        # Rows or stats that plugins or the monitor queued while we stopped them.
        out: list[bytes] = []
        self._consume(out, None, closing=True)
        self._release_syncs()
        encode = runlog.encode_record
        saved = self.files.save_end()
        if saved:
            out.append(encode(self._packer, Kind.FILES, self._seq, {"paths": saved, "policy": "end"}))
            self._seq += 1
        now = time.time()
        runtime = now - self.run.start_time
        summary = self.summary.snapshot()
        exit_body = {"exit_code": exit_code, "state": state, "runtime": runtime, "_timestamp": now}
        settings = self.run.settings
        if settings.x_shared and not settings.x_primary:
            # Attached to a shared run: the primary's summary and end state are the run's,
            # so no final_summary (readers replay this log's rows) and an exit the server
            # does not apply to the run.
            exit_body["primary"] = False
        else:
            out.append(encode(self._packer, Kind.FINAL_SUMMARY, self._seq, summary))
            self._seq += 1
        out.append(encode(self._packer, Kind.EXIT, self._seq, exit_body))
        self._seq += 1
        self._write(out)
        self.log.close()
        self.files.close_output()
        try:  # conveniences: the run log already holds both
            write_config_yaml(self.files_dir / "config.yaml", self.config)
            for name in ("summary.json", "wandb-summary.json"):  # the second where W&B users look
                with open(self.files_dir / name, "w", encoding="utf-8") as fh:
                    json.dump(summary, fh, indent=1, default=repr)
        except OSError as exc:
            stderr(f"trackwell: could not write config.yaml/summary.json of {self.run.id}: {exc}")
