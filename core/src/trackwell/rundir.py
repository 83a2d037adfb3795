"""Where a run's files live, and how runs are named on disk.

<root>/trackwell/
    latest-run -> offline-run-20261126_071000-1a2b3c4d
    offline-run-20261126_071000-1a2b3c4d/     ("run-..." once synced live to a server)
        run-1a2b3c4d.twlog    the run log: the source of truth
        files/                config.yaml, metadata.json, output.log, summary.json,
                              diff.patch, requirements.txt, and files from run.save()
        logs/debug.log        trackwell's own diagnostics for this run
"""

from __future__ import annotations

import os
import random
import re
import shutil
import string
import time
from pathlib import Path

from trackwell.errors import RunDirError

LOG_SUFFIX = ".twlog"
_RUN_DIR = re.compile(r"^(offline-)?run-(\d{8}_\d{6})-([A-Za-z0-9_-]+)$")
_ID_CHARS = string.ascii_lowercase + string.digits
# Our own generator, seeded from the OS: training scripts seed the global `random`
# (Lightning's seed_everything, keras.utils.set_random_seed, HF's Trainer), and run
# ids drawn from it were the same for every run of a script.
_ids = random.SystemRandom()


def new_run_id(length: int = 8) -> str:
    return "".join(_ids.choices(_ID_CHARS, k=length))


def check_run_id(run_id: str) -> str:
    """Run ids become file names: W&B's rule of word characters, at most 64 of them."""
    if not run_id or len(run_id) > 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", run_id):
        raise RunDirError(
            f"invalid run id {run_id!r}: use 1-64 letters, digits, '-' or '_' "
            "(it names files in the run directory)"
        )
    return run_id


def trackwell_dir(root_dir: str | os.PathLike[str] | None) -> Path:
    return Path(root_dir or os.getcwd()) / "trackwell"


def run_dir_name(run_id: str, offline: bool, start: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(start or time.time()))
    return f"{'offline-' if offline else ''}run-{stamp}-{run_id}"


def parse_run_dir_name(name: str) -> tuple[bool, str, str] | None:
    """(offline, timestamp, run id) for a run directory name, None for anything else."""
    m = _RUN_DIR.match(name)
    return (bool(m.group(1)), m.group(2), m.group(3)) if m else None


def log_path(run_dir: Path, run_id: str) -> Path:
    return run_dir / f"run-{run_id}{LOG_SUFFIX}"


def find_log(run_dir: Path) -> Path | None:
    logs = sorted(run_dir.glob(f"run-*{LOG_SUFFIX}"))
    return logs[0] if logs else None


def iter_run_dirs(root: Path) -> list[Path]:
    """Run directories under ``root`` (a trackwell dir, its parent, or one run dir)."""
    root = Path(root)
    if parse_run_dir_name(root.name) and root.is_dir():
        return [root]
    if (root / "trackwell").is_dir() and not any(
        parse_run_dir_name(p.name) for p in root.iterdir() if p.is_dir()
    ):
        root = root / "trackwell"
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and parse_run_dir_name(p.name)
    )


def find_run_dir(root: Path, run_id: str) -> Path | None:
    """The newest local directory of run ``run_id`` under ``root``, if any."""
    found = [p for p in iter_run_dirs(root) if parse_run_dir_name(p.name)[2] == run_id]  # type: ignore[index]
    return found[-1] if found else None


def create_run_dir(base: Path, run_id: str, offline: bool, start: float, min_free_mb: float) -> Path:
    """Create a new run directory and prove it is writable, or raise RunDirError now.

    Failing here, at ``init()``, is the point: a full disk or a read-only path found
    later on the writer thread would lose data silently. The directory is always new:
    a run reusing an id within the same second gets the next second's name rather
    than appending to another run's log.
    """
    run_dir = base / run_dir_name(run_id, offline, start)
    try:
        base.mkdir(parents=True, exist_ok=True)
        for later in range(1, 1000):
            try:
                run_dir.mkdir()
                break
            except FileExistsError:
                run_dir = base / run_dir_name(run_id, offline, start + later)
        (run_dir / "files").mkdir(exist_ok=True)
        (run_dir / "logs").mkdir(exist_ok=True)
        probe = run_dir / ".write-test"
        with open(probe, "wb") as fh:
            fh.write(b"ok")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(
            f"cannot write the run directory {run_dir}: {exc.strerror or exc}. "
            "Pass dir=... to trackwell.init() or set TRACKWELL_DIR to a writable folder."
        ) from None
    free_mb = shutil.disk_usage(run_dir).free / 1e6
    if free_mb < min_free_mb:
        raise RunDirError(
            f"only {free_mb:.1f} MB free on the disk holding {run_dir} "
            f"(trackwell needs at least {min_free_mb:g} MB; TRACKWELL_MIN_FREE_DISK_MB sets it). "
            "Free some space or pass dir=... to trackwell.init()."
        )
    return run_dir


def point_latest(base: Path, run_dir: Path) -> None:
    """Atomically point ``latest-run`` at ``run_dir`` (best effort: it is a convenience)."""
    link = base / "latest-run"
    tmp = base / f".latest-run-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, link)
    except OSError:
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link, ignore_errors=True)
