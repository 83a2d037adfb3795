"""``trackwell sync``'s bookkeeping: which local runs still need uploading, and uploading one.

Uploading goes through the sender's ``Uploader``, the same code a live run uses, so
a run is stored once however it gets there: the server keeps records by (stream,
seq) and the uploader starts where the server's copy ends. ``sync.json`` in a run
directory (written by the uploader) only saves work: a run marked complete for
this server, whose log has not grown since, is skipped without asking the server.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trackwell import rundir
from trackwell._pipeline import runlog
from trackwell._pipeline.marker import read_marker
from trackwell._pipeline.transport import Transport, run_path
from trackwell._pipeline.uploader import Uploader
from trackwell.errors import CommError, CorruptRunLog

#: Consecutive failed requests after which a sync gives up on a run (~15 s of retries).
MAX_FAILURES = 8


class LocalRun:
    """One run directory as sync sees it."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        parsed = rundir.parse_run_dir_name(run_dir.name)
        self.offline = bool(parsed and parsed[0])
        self.run_id = parsed[2] if parsed else run_dir.name
        self.log = rundir.find_log(run_dir)
        self.marker = read_marker(run_dir)

    def synced_to(self, base_url: str) -> bool:
        """Marked complete for this server, and the log has not grown since."""
        m = self.marker
        if not m.get("complete") or m.get("base_url") != base_url.rstrip("/") or self.log is None:
            return False
        try:
            return bool(m.get("log_bytes") == self.log.stat().st_size)
        except OSError:
            return False

    def live(self) -> bool:
        """Its process is still writing it (on this machine): its own sender has it."""
        if self.log is None:
            return False
        info, ended = _last_session(self.log)
        pid = info.get("pid")
        if ended or not isinstance(pid, int) or info.get("host") not in _host_names():
            return False
        import psutil  # a core dependency, imported late: the CLI's start-up stays quick

        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            # A recycled pid belongs to a process started after the log's last write.
            return proc.create_time() <= self.log.stat().st_mtime + 1.0
        except psutil.NoSuchProcess:
            return False
        except (psutil.AccessDenied, OSError):
            return True


def _last_session(log: Path) -> tuple[dict[str, Any], bool]:
    """The newest RUN record's body, and whether the log ends with an EXIT record."""
    info: dict[str, Any] = {}
    last_kind = None
    try:
        with open(log, "rb") as fh:
            for rec in runlog.iter_records(fh):
                last_kind = rec.kind
                if rec.kind == runlog.Kind.RUN and isinstance(rec.body, dict):
                    info = rec.body
    except (OSError, CorruptRunLog):
        return {}, True
    return info, last_kind == runlog.Kind.EXIT


def _host_names() -> set[str]:
    names = {socket.gethostname()}
    names.update(os.environ[v] for v in ("TRACKWELL_HOST", "WANDB_HOST") if os.environ.get(v))
    return names


def find_runs(paths: Iterable[Path]) -> list[LocalRun]:
    """Every run directory under ``paths`` (run directories, ``trackwell/`` dirs or their parents)."""
    seen: set[Path] = set()
    runs = []
    for path in paths:
        for run_dir in rundir.iter_run_dirs(path):
            if run_dir.resolve() not in seen:
                seen.add(run_dir.resolve())
                runs.append(LocalRun(run_dir))
    return runs


def sync_run(
    run: LocalRun,
    transport: Transport,
    entity: str | None = None,
    project: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Uploader:
    """Upload what the server lacks of one run, to the end; the finished uploader.

    Raises ``CommError`` when the server stays unreachable (the next sync goes on where
    this one stopped), or ``sender.UploadFailed`` when it refuses the run.
    """
    if run.log is None:
        raise CorruptRunLog(f"{run.dir} holds no run log")
    total = run.log.stat().st_size
    up = Uploader(run.dir, run.log, transport, entity=entity, project=project, run_id=run.run_id)
    try:
        while not up.done:
            delay = up.step(final=True)
            if progress is not None:
                progress(max(0, up.acked_bytes()), total)
            if delay > 0:
                if up.failures >= MAX_FAILURES:
                    raise CommError(f"giving up on {run.dir.name} for now: {up.error}")
                time.sleep(delay)
        if not up.exit_acked and up.error is None and not run.live():
            mark_crashed(up)
    finally:
        up.save_marker()  # where an interrupted sync got: the next one skips reading that far
        up.close()
    return up


def mark_crashed(up: Uploader) -> None:
    """A log without an EXIT whose process is gone: say so now, not after the heartbeat timeout.

    Only a run the server still shows running, and only for the run's own (primary)
    log: a run that another log (a later session, the primary process) ended keeps
    its final state.
    """
    if up.info.get("primary") is False:
        return
    path = run_path(up.entity or "", up.project or "", up.run_id or "")
    try:
        info = up.transport.get(path)
        if isinstance(info, dict) and info.get("state") == "running":
            up.transport.request("PATCH", path, json_body={"state": "crashed"})
    except CommError:
        pass  # the server's heartbeat check gets there too
