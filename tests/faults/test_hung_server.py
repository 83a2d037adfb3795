"""A server that hangs (SIGSTOP: connections open, nothing answers) while a run finishes: ``finish()``
gives up within its stall budget, not after a request's own timeout, and a later ``trackwell sync``
uploads everything."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import psutil

from trackwell_server.testing import process_tree

from .conftest import Client, ServerProcess, finish, history_rows, log_records, wait_until

STALL = 3.0  # the stall budget the script sets (15 s by default; the mechanism is the same)

SCRIPT = """
    import pathlib, sys, time, trackwell, trackwell._pipeline.uploader
    trackwell._pipeline.uploader.STALL_TIMEOUT = float(sys.argv[1])
    run = trackwell.init(project="hung", mode="online")
    print(run.id, flush=True)
    for i in range(1000):
        run.log({"i": i})
    deadline = time.monotonic() + 120
    while not pathlib.Path("go").exists():
        assert time.monotonic() < deadline, "never told to go on"
        time.sleep(0.01)  # polling for the test's file, not waiting for a thread
    for i in range(1000, 2000):
        run.log({"i": i})
    start = time.monotonic()
    run.finish()
    print(time.monotonic() - start, flush=True)
"""


@contextlib.contextmanager
def hung(server: ServerProcess) -> Iterator[None]:
    """SIGSTOP the server and its workers; SIGCONT them however the block ends."""
    procs = process_tree(server.proc) if server.proc is not None else []
    for proc in procs:
        proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGCONT)


def last_step(client: Client, run_id: str) -> int:
    try:
        return int(client.server_run("hung", run_id)["last_step"])
    except (OSError, TypeError, ValueError):
        return -1


def test_finish_gives_up_on_a_hung_server_within_its_budget(client: Client) -> None:
    proc = client.spawn(SCRIPT, str(STALL))
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=30)[1]
    wait_until(lambda: last_step(client, run_id) == 999 or proc.poll() is not None,
               what="the first rows on the server")  # fmt: skip
    with hung(client.server):
        (client.cwd / "go").touch()
        took = float(finish(proc).split()[-1])
    assert took < STALL + 3.0, f"finish() took {took:.1f} s with a stall budget of {STALL:g} s"

    synced = client.sync(str(client.the_log().parent))

    assert synced.returncode == 0, synced.stderr
    steps = [row["_step"] for row in client.server_rows("hung", run_id)]
    assert steps == list(range(2000))
    records, _ = log_records(client.the_log())
    assert len(history_rows(records)) == 2000
    assert client.server_run("hung", run_id)["state"] == "finished"
