"""Resuming a local run: keep appending to its log where it stopped.

The log is replayed (config, summary rules and aggregates, last step), a torn tail
left by a crash is cut off first so new records follow the last complete one, and a
new RUN record marks the resumption.
"""

from __future__ import annotations

import os
from pathlib import Path

from trackwell import rundir
from trackwell._pipeline import runlog
from trackwell.errors import CorruptRunLog, UsageError, warn_user
from trackwell.run import Run
from trackwell.settings import Settings
from trackwell.wiring import open_log


def find_resumable(base: Path, run_id: str | None, resume: str | None) -> Path | None:
    """The run directory to resume, or None to start a new run."""
    if resume in (None, "never"):
        return None
    if run_id is not None:
        return rundir.find_run_dir(base, run_id)
    if resume == "auto":
        # W&B's "auto": pick up the last run in this directory if it did not finish.
        latest = base / "latest-run"
        if latest.is_dir():
            log = rundir.find_log(latest.resolve())
            if log is not None and not _ended(log):
                return latest.resolve()
    return None


def _ended(log: Path) -> bool:
    try:
        result = runlog.read_log(log)
    except (OSError, CorruptRunLog):
        return True
    return any(r.kind == runlog.Kind.EXIT for r in result.records[-2:])


def resume_run(s: Settings, base: Path, run_dir: Path, start: float) -> Run:
    log = rundir.find_log(run_dir)
    if log is None:
        raise UsageError(f"cannot resume: {run_dir} holds no run log")
    try:
        result = runlog.read_log(log)
    except CorruptRunLog as exc:
        raise UsageError(f"cannot resume {run_dir}: {exc}") from None
    if result.torn_bytes:
        warn_user(
            f"trackwell: resuming {run_dir.name}: dropping {result.torn_bytes} bytes of a "
            "torn record left by a crash",
        )
        os.truncate(log, result.good_bytes)
    if result.skipped:
        warn_user(f"trackwell: resuming {run_dir.name}: {runlog.describe_skipped(log, result.skipped)}")
    from trackwell.api.replay import replay  # the Public API package: only when resuming

    data = replay(result.records)
    info = data.info
    for field, key in (("project", "project"), ("entity", "entity"), ("run_group", "group"),
                       ("job_type", "job_type"), ("notes", "notes")):  # fmt: skip
        if getattr(s, field) in (None, ()) and info.get(key) is not None:
            setattr(s, field, info[key])
    if not s.tags and info.get("tags"):
        s.tags = tuple(info["tags"])
    steps = [step for row in data.history if isinstance(step := row.get("_step"), int)]
    run_id = info.get("id") or run_dir.name.rsplit("-", 1)[-1]
    # after the last seq, not the record count: a corrupt stretch the reader stepped over
    # took seqs with it, and a seq must never be used twice
    next_seq = max((r.seq for r in result.records), default=-1) + 1
    run = Run(
        s, run_id, s.name or info.get("name") or "resumed", run_dir, float(info.get("start_time") or start),
        resumed=True, step=max(steps) + 1 if steps else 0, config=data.config,
        stream=runlog.log_stream(result.records[0] if result.records else None, run_id),
        open_log=open_log(log, seq=next_seq, summary=data.summary_state, config=data.config),
    )  # fmt: skip
    rundir.point_latest(base, run_dir)
    return run
