"""An upload that starts over where the server already holds more than one window of the log (the
sender reads at most 5,000 records at a time): a resumed run, a ``sync`` after an outage, a ``sync``
interrupted with Ctrl-C. Every record above what the server holds goes up, once, and a finished run
ends ``finished`` on the server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from .conftest import TIMEOUT, Client, finish, history_rows, log_records, wait_until

ROWS = 20_000  # four windows of the sender's reads

LOG_ROWS = """
    import sys, trackwell
    run = trackwell.init(project="resume", mode=sys.argv[1])
    for i in range(int(sys.argv[2])):
        run.log({"i": i})
    run.finish()
    print(run.id)
"""

RESUME = """
    import sys, trackwell
    run = trackwell.init(project="resume", id=sys.argv[1], resume="allow")
    for i in range(10):
        run.log({"more": i})
    run.finish()
"""

#: Logs ``argv[1]`` rows, waits for the test to create ``go`` (it stops the server meanwhile),
#: logs as many again and finishes (giving up on the upload after upload_timeout).
PHASED = """
    import pathlib, sys, time, trackwell
    run = trackwell.init(project="resume", mode="online")
    print(run.id, flush=True)
    n = int(sys.argv[1])
    for i in range(n):
        run.log({"i": i})
    deadline = time.monotonic() + 120
    while not pathlib.Path("go").exists():
        assert time.monotonic() < deadline, "never told to go on"
        time.sleep(0.01)  # polling for the test's file, not waiting for a thread
    for i in range(n, 2 * n):
        run.log({"i": i})
    run.finish()
"""


def last_step(client: Client, run_id: str) -> int:
    try:
        return int(client.server_run("resume", run_id)["last_step"])
    except (OSError, TypeError, ValueError):
        return -1


def check_all_rows(client: Client, run_id: str, total: int) -> None:
    steps = [row["_step"] for row in client.server_rows("resume", run_id)]
    assert len(steps) == len(set(steps)), f"{len(steps) - len(set(steps))} duplicate rows on the server"
    assert steps == list(range(total)), f"the server holds {len(steps)} of {total} rows"
    records, _ = log_records(client.the_log())
    info = client.server_run("resume", run_id)
    assert info["state"] == "finished"
    assert list(info["streams"].values()) == [records[-1].seq]  # every record, the EXIT included


def test_a_resumed_run_uploads_what_it_adds_after_many_acknowledged_windows(client: Client) -> None:
    run_id = client.run(LOG_ROWS, "online", str(ROWS)).strip()
    assert last_step(client, run_id) == ROWS - 1

    client.run(RESUME, run_id)

    info = client.server_run("resume", run_id)
    assert info["last_step"] == ROWS + 9
    assert info["state"] == "finished"
    rows = client.server_rows("resume", run_id)
    assert [row["_step"] for row in rows] == list(range(ROWS + 10))
    assert [row["more"] for row in rows[ROWS:]] == list(range(10))


def test_sync_after_an_outage_uploads_the_rest_and_the_run_stays_finished(client: Client) -> None:
    half = 8_000  # the server holds more than a window when it goes down
    proc = client.spawn(PHASED, str(half), TRACKWELL_UPLOAD_TIMEOUT="2")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=30)[1]
    wait_until(lambda: last_step(client, run_id) == half - 1 or proc.poll() is not None,
               what="the first half on the server")  # fmt: skip
    client.server.stop()
    (client.cwd / "go").touch()
    finish(proc)  # gives up on the upload after upload_timeout: the server is down
    client.server.start()

    synced = client.sync(str(client.the_log().parent))

    assert synced.returncode == 0, synced.stderr
    assert "no new records" not in synced.stdout
    check_all_rows(client, run_id, 2 * half)


@pytest.mark.parametrize("marker", ["as left", "pointing too far"])
def test_sync_interrupted_with_ctrl_c_then_run_again_uploads_every_row_once(client: Client, marker: str) -> None:
    run_id = client.run(LOG_ROWS, "offline", str(ROWS)).strip()
    run_dir = client.the_log().parent
    # Smaller batches make the upload take long enough to interrupt it past the second sync's
    # first window (5,000 records): the defect was that window read all acknowledged.
    slow_sync = (
        "import runpy, trackwell._pipeline.uploader as s; s.MAX_BATCH_RECORDS = 500; "
        "runpy.run_module('trackwell', run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", slow_sync, "sync", str(run_dir)], cwd=client.cwd, env=client.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_until(lambda: last_step(client, run_id) > 6_000 or proc.poll() is not None, timeout=TIMEOUT,
               what="the sync under way")  # fmt: skip
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode != 0, "the sync ended before it could be interrupted"
    assert last_step(client, run_id) < ROWS - 1
    if marker == "pointing too far":
        # sync.json's hint names the wrong place (an edited or copied file): it must be checked,
        # not trusted, or the records it jumps over would never be sent
        saved = json.loads((run_dir / "sync.json").read_text())
        seq = saved["acked_record"][0]
        offsets = {rec.seq: rec.offset for rec in log_records(client.the_log())[0]}
        saved["acked_record"] = [seq, offsets[seq + 3_000]]
        (run_dir / "sync.json").write_text(json.dumps(saved))

    again = client.sync(str(run_dir))

    assert again.returncode == 0, again.stderr
    records, _ = log_records(client.the_log())
    assert len(history_rows(records)) == ROWS
    check_all_rows(client, run_id, ROWS)
