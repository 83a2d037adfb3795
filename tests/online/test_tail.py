"""runlog.LogTail: following a log while it is written, partial frames, torn tails, streams."""

from __future__ import annotations

import threading
from pathlib import Path

import msgpack
import pytest

from trackwell._pipeline import runlog
from trackwell._pipeline.runlog import Kind, LogTail, Record, log_stream
from trackwell.errors import CorruptRunLog


def frame(seq: int, body: dict[str, object] | None = None, kind: str = Kind.HISTORY) -> bytes:
    return runlog.encode_record(runlog.new_packer(), kind, seq, body if body is not None else {"x": seq})


def write(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def seqs(records: list[Record]) -> list[int]:
    return [r.seq for r in records]


def test_a_missing_file_or_a_half_written_header_reads_as_nothing_yet(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    tail = LogTail(log)
    assert tail.read() == []
    write(log, runlog.MAGIC[:3])
    assert tail.read() == []
    write(log, runlog.MAGIC[3:] + frame(0))
    assert seqs(tail.read()) == [0]


def test_a_file_that_is_not_a_run_log_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(b"NOTALOG!" + frame(0))
    with pytest.raises(CorruptRunLog, match="not a trackwell run log"):
        LogTail(log).read()


def test_follows_appends_and_waits_at_a_partial_frame(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(runlog.MAGIC + frame(0) + frame(1))
    tail = LogTail(log)
    assert seqs(tail.read()) == [0, 1]
    assert tail.read() == []
    third = frame(2)
    write(log, third[:5])  # not even a whole frame header
    assert tail.read() == []
    write(log, third[5:12])  # header, part of the payload
    assert tail.read() == []
    assert tail.unread_bytes() == 12
    write(log, third[12:] + frame(3))
    assert seqs(tail.read()) == [2, 3]
    assert tail.unread_bytes() == 0


def test_a_frame_whose_bytes_are_not_all_there_is_never_skipped(tmp_path: Path) -> None:
    """A checksum that fails may be a write still landing: stop there, read it later."""
    log = tmp_path / "run.twlog"
    good = frame(1)
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    log.write_bytes(runlog.MAGIC + frame(0) + bytes(bad))
    tail = LogTail(log)
    assert seqs(tail.read()) == [0]
    assert tail.read() == []
    assert tail.unread_bytes() == len(good)
    with open(log, "r+b") as fh:  # the rest of the write lands
        fh.seek(len(runlog.MAGIC) + len(frame(0)))
        fh.write(good)
    write(log, frame(2))
    assert seqs(tail.read()) == [1, 2]


def test_limits_batch_size_but_always_returns_a_record_larger_than_the_limit(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    big = {"blob": "x" * 10_000}
    log.write_bytes(runlog.MAGIC + frame(0, big) + frame(1) + frame(2) + frame(3))
    tail = LogTail(log)
    first = tail.read(max_bytes=100)
    assert seqs(first) == [0]
    assert first[0].body == big
    assert seqs(tail.read(max_records=2)) == [1, 2]
    assert seqs(tail.read()) == [3]


def test_records_keep_their_raw_payload_for_forwarding(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(runlog.MAGIC + frame(0, {"loss": float("nan")}))
    (rec,) = LogTail(log).read()
    assert rec.raw is not None
    kind, seq, body = msgpack.unpackb(rec.raw, raw=False)
    assert (kind, seq) == (Kind.HISTORY, 0)
    assert body["loss"] != body["loss"]  # NaN survives


def test_rewind_reads_from_the_first_record_again(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(runlog.MAGIC + frame(0) + frame(1))
    tail = LogTail(log)
    assert seqs(tail.read()) == [0, 1]
    tail.rewind()
    assert seqs(tail.read()) == [0, 1]
    tail.close()


def test_a_reader_following_a_live_writer_sees_every_record_once_in_order(tmp_path: Path) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(runlog.MAGIC)
    total = 3000
    done = threading.Event()

    def writer() -> None:
        packer = runlog.new_packer()
        with open(log, "ab", buffering=0) as fh:
            for start in range(0, total, 7):  # batches of 7 records, one write() each
                fh.write(b"".join(runlog.encode_record(packer, Kind.HISTORY, s, {"v": s})
                                  for s in range(start, min(start + 7, total))))  # fmt: skip
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    tail = LogTail(log)
    got: list[int] = []
    while not (done.is_set() and len(got) == total):
        got += seqs(tail.read(max_records=50))
        assert len(got) <= total
    thread.join()
    assert got == list(range(total))


def test_the_stream_of_a_log_is_its_run_records_field() -> None:
    rec = Record(Kind.RUN, 0, {"id": "abc", "start_time": 1.5, "stream": "s1"})
    assert log_stream(rec) == "s1"


def test_a_log_from_before_streams_gets_the_same_derived_stream_every_time() -> None:
    rec = Record(Kind.RUN, 0, {"id": "abc", "start_time": 1700000000.25})
    assert log_stream(rec) == log_stream(Record(Kind.RUN, 0, dict(rec.body))) == "abc-1700000000250"
    assert log_stream(None, "abc") == "abc-0"


def test_new_runs_write_a_random_stream_into_their_first_record(trackwell_dir: Path) -> None:
    import trackwell

    streams = []
    for _ in range(2):
        run = trackwell.init(project="p", mode="offline")
        run.finish()
        first = runlog.read_log(next(run._run_dir.glob("*.twlog"))).records[0]
        assert first.kind == Kind.RUN
        streams.append(first.body["stream"])
    assert streams[0] != streams[1]
    assert all(len(s) == 16 for s in streams)


def test_a_local_resume_keeps_the_logs_stream(trackwell_dir: Path) -> None:
    import trackwell

    run = trackwell.init(project="p", mode="offline", id="keepme")
    run.log({"a": 1})
    run.finish()
    again = trackwell.init(project="p", mode="offline", id="keepme", resume="must")
    again.finish()
    records = runlog.read_log(next(run._run_dir.glob("*.twlog"))).records
    streams = {r.body.get("stream") for r in records if r.kind == Kind.RUN}
    assert streams == {run.stream}


@pytest.mark.parametrize("seq", [0, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32])
def test_without_bodies_kind_and_seq_come_from_the_payload_head(tmp_path: Path, seq: int) -> None:
    log = tmp_path / "run.twlog"
    log.write_bytes(runlog.MAGIC + frame(seq, {"x": 1}) + frame(seq + 1, {"id": "r"}, kind=Kind.RUN))
    first, second = LogTail(log, bodies=(Kind.RUN,)).read()
    assert (first.kind, first.seq, first.body) == (Kind.HISTORY, seq, None)
    assert msgpack.unpackb(first.raw, raw=False) == [Kind.HISTORY, seq, {"x": 1}]
    assert (second.kind, second.seq, second.body) == (Kind.RUN, seq + 1, {"id": "r"})


def test_reads_stop_at_what_the_writer_has_committed(tmp_path: Path) -> None:
    """Bytes of a write the writer may still undo (disk full) are never read."""
    log = tmp_path / "run.twlog"
    committed = len(runlog.MAGIC) + len(frame(0))
    log.write_bytes(runlog.MAGIC + frame(0) + frame(1) + frame(2, {"big": "x" * 10_000}))
    size = committed
    tail = LogTail(log, committed=lambda: size)
    assert seqs(tail.read()) == [0]
    assert tail.read() == []
    size += len(frame(1))
    assert seqs(tail.read(max_bytes=10)) == [1]
    assert tail.read(max_bytes=10) == []  # the big one is on disk but not committed
    size = log.stat().st_size
    assert seqs(tail.read(max_bytes=10)) == [2]
