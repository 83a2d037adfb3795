"""One damaged byte in the middle of a run log: readers step over it to the next valid record, say how
many bytes they skipped and where, and keep every intact record (the local Public API, ``trackwell
sync``); a reader following a live log still never skips a frame that is only half written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import trackwell
from trackwell._pipeline import runlog
from trackwell._pipeline.runlog import Kind, LogTail
from trackwell.errors import TrackwellWarning

from .conftest import Client, history_rows, log_records

ROWS = 20_000

OFFLINE_RUN = f"""
    import trackwell
    run = trackwell.init(project="corrupt", mode="offline")
    for i in range({ROWS}):
        run.log({{"loss": i / 7, "i": i}})
    run.finish()
    print(run.id)
"""


def flip_middle_byte(log: Path) -> int:
    """Flip every bit of the byte in the middle of ``log``; return its offset."""
    data = bytearray(log.read_bytes())
    at = len(data) // 2
    data[at] ^= 0xFF
    log.write_bytes(bytes(data))
    return at


@pytest.fixture
def damaged(client: Client) -> tuple[str, Path, int]:
    """An offline run of ``ROWS`` rows whose log has one flipped byte in the middle."""
    run_id = client.run(OFFLINE_RUN).strip()
    log = client.the_log()
    return run_id, log, flip_middle_byte(log)


def test_the_local_reader_keeps_every_intact_record_and_says_what_it_skipped(
    damaged: tuple[str, Path, int], client: Client
) -> None:
    run_id, _, at = damaged
    api = trackwell.Api(root=client.cwd / "trackwell")
    with pytest.warns(TrackwellWarning, match=r"skipped \d+ corrupt byte\(s\) \(\d+ at offset \d+\)") as caught:
        run = api.run(f"corrupt/{run_id}")
        steps = [row["_step"] for row in run.scan_history()]
    (message,) = [str(w.message) for w in caught if "corrupt" in str(w.message)]
    where = re.search(r"\((\d+) at offset (\d+)\)", message)
    assert where is not None
    length, offset = map(int, where.groups())
    assert offset <= at < offset + length  # it names the damaged stretch
    assert ROWS - 2 <= len(steps) < ROWS  # the one damaged record is lost, no more
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == ROWS - 1
    assert run.state == "finished"


def test_sync_uploads_every_intact_record_of_a_damaged_log(damaged: tuple[str, Path, int], client: Client) -> None:
    run_id, log, _ = damaged
    kept = [row["_step"] for row in history_rows(log_records(log)[0])]
    assert ROWS - 2 <= len(kept) < ROWS

    synced = client.sync(str(log.parent))

    assert synced.returncode == 0, synced.stderr
    assert "corrupt byte(s)" in synced.stderr
    steps = [row["_step"] for row in client.server_rows("corrupt", run_id)]
    assert steps == kept
    assert client.server_run("corrupt", run_id)["state"] == "finished"
    again = client.sync("--include-synced", str(log.parent))  # stored once, however often
    assert again.returncode == 0, again.stderr
    assert [row["_step"] for row in client.server_rows("corrupt", run_id)] == kept


# -- the readers themselves (no server) -----------------------------------------------------------


def frame(seq: int, kind: str = Kind.HISTORY) -> bytes:
    return runlog.encode_record(runlog.new_packer(), kind, seq, {"x": seq, "_step": seq})


def test_a_live_tail_steps_over_damage_only_below_what_the_writer_committed(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    bad = bytearray(frame(1))
    bad[12] ^= 0xFF
    data = runlog.MAGIC + frame(0) + bytes(bad)
    log.write_bytes(data)
    committed = len(data)
    tail = LogTail(log, committed=lambda: committed)
    assert [r.seq for r in tail.read()] == [0]
    assert tail.read() == []  # nothing valid after it yet: it might still be a write landing
    with open(log, "ab") as fh:
        fh.write(frame(2) + frame(3))
    assert tail.read() == []  # written, not committed
    committed += len(frame(2))
    assert [r.seq for r in tail.read()] == [2]  # committed past it: damage, stepped over
    assert tail.skipped == [(len(runlog.MAGIC) + len(frame(0)), len(bad))]
    committed += len(frame(3))
    assert [r.seq for r in tail.read()] == [3]


def test_a_live_tail_without_a_committed_mark_never_skips_until_the_log_is_final(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    bad = bytearray(frame(1))
    bad[-1] ^= 0xFF
    log.write_bytes(runlog.MAGIC + frame(0) + bytes(bad) + frame(2))
    tail = LogTail(log)
    assert [r.seq for r in tail.read()] == [0]
    assert tail.read() == []
    tail.final = True
    assert [r.seq for r in tail.read()] == [2]


def test_a_damaged_length_does_not_swallow_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    bad = bytearray(frame(1))
    bad[0:4] = (10_000_000).to_bytes(4, "little")  # a length that runs far past the end
    log.write_bytes(runlog.MAGIC + frame(0) + bytes(bad) + b"".join(frame(i) for i in range(2, 50)))
    result = runlog.read_log(log)
    assert [r.seq for r in result.records] == [0, *range(2, 50)]
    assert result.skipped_bytes == len(bad) and result.torn_bytes == 0
    tail = LogTail(log, final=True)
    assert [r.seq for r in tail.read()] == [0]  # up to the damage, then past it
    assert [r.seq for r in tail.read()] == list(range(2, 50))


def test_a_torn_tail_is_still_a_torn_tail(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(runlog.MAGIC + frame(0) + frame(1) + frame(2)[:-3])
    result = runlog.read_log(log)
    assert [r.seq for r in result.records] == [0, 1]
    assert result.skipped == [] and result.torn_bytes == len(frame(2)) - 3
