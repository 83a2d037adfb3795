"""``trackwell sync`` of the same directory, again and again: each record is stored once, and a
finished run stays finished."""

from __future__ import annotations

from .conftest import Client, history_rows, log_records

ROWS = 12_000  # more than one window of the sender (5,000 records), so every window is re-read

OFFLINE_RUN = f"""
    import trackwell
    run = trackwell.init(project="resync", mode="offline", config={{"lr": 0.1}})
    for i in range({ROWS}):
        run.log({{"i": i}})
    run.finish()
    print(run.id)
"""


def test_repeated_sync_is_idempotent(client: Client) -> None:
    run_id = client.run(OFFLINE_RUN).strip()
    (run_dir,) = (client.cwd / "trackwell").glob("offline-run-*")

    first = client.sync("--include-offline")
    assert first.returncode == 0, first.stderr
    records, _ = log_records(client.the_log())
    assert len(history_rows(records)) == ROWS

    def check(after: str) -> None:
        steps = [row["_step"] for row in client.server_rows("resync", run_id)]
        assert len(steps) == len(set(steps)), f"{len(steps) - len(set(steps))} duplicate rows"
        assert steps == list(range(ROWS))
        info = client.server_run("resync", run_id)
        assert info["state"] == "finished", f"the finished run became {info['state']} after: {after}"
        assert list(info["streams"].values()) == [records[-1].seq]

    check(first.stdout)
    for args in (["--include-offline"], ["--include-synced", str(run_dir)], ["--sync-all"]):
        again = client.sync(*args)
        assert again.returncode == 0, f"sync {' '.join(args)}: {again.stderr}"
        check(f"sync {' '.join(args)}: {again.stdout}")
