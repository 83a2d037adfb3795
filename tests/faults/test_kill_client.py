"""kill -9 of an online client at random moments: the log keeps whole records, loses at most one
flush interval, and ``trackwell sync`` afterwards puts exactly the log's rows on the server."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from .conftest import Client, ServerProcess, history_rows, kill_9, log_records, wait_until

FLUSH_INTERVAL = 0.2
#: Scheduling delay allowed on top of the flush interval: the writer thread of a child on a
#: shared 2-core CI machine may wake late. A writer that stopped writing would lose seconds.
SLACK = 0.3

#: Logs until killed. Each row carries the system-wide monotonic clock (``t``), which the
#: parent reads too, so the rows lost to the kill can be measured in time. ``paced`` sleeps
#: every 10 rows (a training step releasing the GIL); flat out is the writer's worst case.
LOG_UNTIL_KILLED = """
    import sys, time, trackwell
    paced = sys.argv[1] == "paced"
    run = trackwell.init(project="kill", mode="online", config={"lr": 0.1})
    print(run.id, flush=True)
    i = 0
    while True:
        run.log({"i": i, "sq": i * i, "t": time.monotonic()})
        i += 1
        if paced and i % 10 == 0:
            time.sleep(0.001)
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_then_sync_uploads_exactly_the_log(
    seed: int, shared_server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    pace = "flat" if seed % 2 else "paced"
    client = Client(shared_server, tmp_path / "client")
    proc = client.spawn(LOG_UNTIL_KILLED, pace, TRACKWELL_FLUSH_INTERVAL=str(FLUSH_INTERVAL))
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=30)[1]
    wait_until(lambda: (client.cwd / "trackwell").exists() and any((client.cwd / "trackwell").glob("*/run-*.twlog")),
               what="the run log created")  # fmt: skip
    time.sleep(rng.uniform(0.05, 1.0))  # the fault's random moment, not a wait for anything
    killed_at = time.monotonic()
    kill_9(proc)

    records, torn = log_records(client.the_log())
    assert [r.seq for r in records] == list(range(len(records))), "a record missing or out of order"
    rows = history_rows(records)
    assert rows, f"nothing logged after {pace} logging (torn tail: {torn} bytes)"
    for step, row in enumerate(rows):  # every record read back is whole and exact
        assert (row["_step"], row["i"], row["sq"]) == (step, step, step * step)
    lost_s = killed_at - rows[-1]["t"]
    assert lost_s <= FLUSH_INTERVAL + SLACK, (
        f"kill -9 lost the rows of the last {lost_s:.3f} s (flush interval {FLUSH_INTERVAL} s, {pace})"
    )

    synced = client.sync()
    assert synced.returncode == 0, synced.stderr
    on_server = client.server_rows("kill", run_id)
    steps = [row["_step"] for row in on_server]
    assert len(steps) == len(set(steps)), "duplicate rows on the server"
    assert steps == list(range(len(rows))), (
        f"server holds {len(steps)} rows, the log {len(rows)} (sync said: {synced.stdout.strip()!r})"
    )
    assert [row["i"] for row in on_server] == [row["i"] for row in rows]
    info = client.server_run("kill", run_id)
    assert info["state"] == "crashed"  # killed: no exit record, so crashed once synced
    assert info["config"] == {"lr": 0.1}
