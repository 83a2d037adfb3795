"""The server killed (kill -9) or down mid-run, then back on the same port and data: every row of the
run arrives exactly once, and the run reaches ``finished``."""

from __future__ import annotations

import pytest

from .conftest import Client, finish, history_rows, log_records, wait_until

#: Logs ``argv[1]`` rows, then keeps logging in small paced bursts (a training loop) until the
#: test creates ``go`` (it has restarted the server meanwhile), then 1,000 rows more and finishes.
PHASED = """
    import pathlib, sys, time, trackwell
    here = pathlib.Path(".")
    run = trackwell.init(project="outage", mode="online")
    print(run.id, flush=True)
    n = int(sys.argv[1])
    for i in range(n):
        run.log({"i": i})
    deadline = time.monotonic() + 120
    while not (here / "go").exists():
        for _ in range(20):
            run.log({"i": n})
            n += 1
        time.sleep(0.002)  # the pace of a training step, not a wait for anything
        assert time.monotonic() < deadline, "never told to go on"
    for i in range(n, n + 1000):
        run.log({"i": i})
    run.finish()
    print(n + 1000)
"""


def held(client: Client, run_id: str) -> int:
    """The last step the server holds for the run; -1 before the run reaches it or while it is down."""
    try:
        return int(client.server_run("outage", run_id)["last_step"] or 0)
    except OSError:
        return -1


@pytest.mark.parametrize("fault", ["kill -9", "outage"])
def test_server_fault_mid_run_every_row_arrives_once(fault: str, client: Client) -> None:
    server = client.server
    proc = client.spawn(PHASED, "3000")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=30)[1]

    wait_until(lambda: held(client, run_id) > 1000 or proc.poll() is not None, what="rows reaching the server")
    if fault == "kill -9":
        server.kill()
    else:
        server.stop()
    log = client.the_log()
    size = log.stat().st_size
    wait_until(lambda: log.stat().st_size > size + 50_000 or proc.poll() is not None,
               what="the client logging on while the server is down")  # fmt: skip
    server.start()
    (client.cwd / "go").touch()
    total = int(finish(proc).split()[-1])

    steps = [row["_step"] for row in client.server_rows("outage", run_id)]
    assert len(steps) == len(set(steps)), f"{len(steps) - len(set(steps))} duplicate rows on the server"
    assert steps == list(range(total)), f"server holds {len(steps)} rows of {total}"
    records, _ = log_records(log)
    assert len(history_rows(records)) == total
    info = client.server_run("outage", run_id)
    assert info["state"] == "finished"
    assert list(info["streams"].values()) == [records[-1].seq]  # every record of the log acknowledged


def test_server_down_at_init_then_up_mid_run(client: Client) -> None:
    """The server is down when the run starts (an online init() must not fail or hang on it) and
    comes up while the run logs: the first half, logged with no server, arrives too, exactly once."""
    server = client.server
    server.stop()
    proc = client.spawn(PHASED, "3000")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=30)[1]
    log = client.the_log()
    wait_until(lambda: log.stat().st_size > 50_000 or proc.poll() is not None, what="logging with no server")
    server.start()
    (client.cwd / "go").touch()
    total = int(finish(proc).split()[-1])
    steps = [row["_step"] for row in client.server_rows("outage", run_id)]
    assert len(steps) == len(set(steps)), f"{len(steps) - len(set(steps))} duplicate rows on the server"
    assert steps == list(range(total)), f"server holds {len(steps)} rows of {total}"
    assert client.server_run("outage", run_id)["state"] == "finished"


def test_repeated_restarts_mid_run(client: Client) -> None:
    """Two kill -9s and restarts in one run, the second soon after the first restart: every row once."""
    server = client.server
    proc = client.spawn(PHASED, "2000")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    log = client.the_log()
    for _ in range(2):
        before = held(client, run_id)
        wait_until(lambda before=before: held(client, run_id) > before + 200 or proc.poll() is not None,
                   what="ingest under way")  # fmt: skip
        server.kill()
        size = log.stat().st_size
        wait_until(lambda size=size: log.stat().st_size > size + 20_000 or proc.poll() is not None,
                   what="the client logging on while the server is dead")  # fmt: skip
        server.start()
    (client.cwd / "go").touch()
    total = int(finish(proc).split()[-1])
    steps = [row["_step"] for row in client.server_rows("outage", run_id)]
    assert steps == list(range(total))
    assert client.server_run("outage", run_id)["state"] == "finished"
