"""A disk that fills up mid-run loses nothing once space comes back (real tmpfs)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackwell
from trackwell import rundir
from trackwell.runlog import Kind, read_log


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, check=False
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_at_init_fails_early(tiny_disk: Path, trackwell_dir: Path) -> None:
    filler = tiny_disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        fh.write(b"x" * 2_000_000)
    with pytest.raises(trackwell.errors.RunDirError, match=r"cannot write the run directory|MB free"):
        trackwell.init(project="p", dir=tiny_disk)


def test_rows_logged_while_the_disk_is_full_are_written_when_space_returns(
    tiny_disk: Path, trackwell_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = trackwell.init(project="p", dir=tiny_disk, settings={"min_free_disk_mb": 0.01, "console": "off"})
    assert run.flush(timeout=10)
    filler = tiny_disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):  # take all that is left
        fh.write(b"x" * 1_000_000)
    for step in range(100):
        run.log({"step_value": step, "text": "y" * 4000})
    assert run.flush(timeout=10) is False, "flush must report that the rows are not on disk"
    assert "cannot write the run log" in capfd.readouterr().err
    filler.unlink()
    run.finish()
    assert "writable again" in capfd.readouterr().err
    log = rundir.find_log(run.dir)
    assert log is not None
    result = read_log(log)
    assert result.torn_bytes == 0
    steps = [r.body["_step"] for r in result.records if r.kind == Kind.HISTORY]
    assert steps == list(range(100))
    assert [r.body["state"] for r in result.records if r.kind == Kind.EXIT] == ["finished"]
