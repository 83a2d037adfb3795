"""A disk that fills up mid-run (a real 1 MB tmpfs).

Nothing is lost once space comes back; while it stays full, the rows waiting in
memory are bounded and what was dropped is said (the writer's cap is made small so
the test stays quick).
"""

from __future__ import annotations

import contextlib
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackwell
from trackwell import rundir
from trackwell._pipeline import logfile
from trackwell._pipeline.runlog import Kind, read_log
from trackwell.errors import DataDroppedWarning


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
    log = rundir.find_log(run._run_dir)
    assert log is not None
    result = read_log(log)
    assert result.torn_bytes == 0
    steps = [r.body["_step"] for r in result.records if r.kind == Kind.HISTORY]
    assert steps == list(range(100))
    assert [r.body["state"] for r in result.records if r.kind == Kind.EXIT] == ["finished"]


def test_rows_held_while_the_disk_is_full_are_bounded_and_the_drop_is_counted(
    tiny_disk: Path, trackwell_dir: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 200_000
    monkeypatch.setattr(logfile, "MAX_HELD_BYTES", cap)
    run = trackwell.init(project="p", dir=tiny_disk, settings={"min_free_disk_mb": 0.01, "console": "off"})
    assert run.flush(timeout=10)
    filler = tiny_disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):  # take all that is left
        fh.write(b"x" * 1_000_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(2000):  # ~2 MB of rows: ten times the cap
            run.log({"step_value": step, "text": "y" * 1000})
            if step % 200 == 199:
                assert run.flush(timeout=10) is False, "flush must report that the rows are not on disk"
                assert run._writer is not None and run._writer.log.held_bytes <= cap
    dropped = [w for w in caught if issubclass(w.category, DataDroppedWarning)]
    assert len(dropped) == 1, "one warning when the cap is reached, not one per batch"
    assert "dropped" in str(dropped[0].message)
    assert "cannot write the run log" in capfd.readouterr().err

    filler.unlink()
    for step in range(2000, 2010):  # after space returns, rows are written again
        run.log({"step_value": step})
    run.finish()
    err = capfd.readouterr().err
    assert "writable again" in err and "were dropped while the disk was full" in err
    count = int(err.split("writable again; ")[1].split(" records")[0].replace(",", ""))

    log = rundir.find_log(run._run_dir)
    assert log is not None
    result = read_log(log)
    assert result.torn_bytes == 0
    steps = [r.body["_step"] for r in result.records if r.kind == Kind.HISTORY]
    kept = len([s for s in steps if s < 2000])
    assert steps[:kept] == list(range(kept)), "what is kept is the oldest: a prefix of the rows"
    assert steps[kept:] == list(range(2000, 2010))
    assert 0 < kept < 2000
    seqs = [r.seq for r in result.records]
    missing = seqs[-1] + 1 - seqs[0] - len(seqs)
    assert count == missing >= 2000 - kept, (count, missing, kept)  # a META record may be among them
    assert [r.body["state"] for r in result.records if r.kind == Kind.EXIT] == ["finished"]
