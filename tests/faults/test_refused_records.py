"""Records the server will not store, met by the sender: a value over the server's limits (refused
alone in the ingest answer) and a record larger than a whole request (413). Each is reported on the
console, naming the record, and passed over; every other row and the run's final state reach the
server. The logs are written as an older SDK (or a mismatched limit) would leave them: today's
``log()`` refuses such values itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackwell._pipeline import runlog
from trackwell._pipeline.runlog import Kind

from .conftest import Client, history_rows, log_records

ROWS = 6_000

OFFLINE_RUN = f"""
    import trackwell
    run = trackwell.init(project="refused", mode="offline")
    for i in range({ROWS}):
        run.log({{"i": i}})
    run.finish()
    print(run.id)
"""


def insert_row(log: Path, at_step: int, row: dict[str, object]) -> None:
    """Rewrite ``log`` with ``row`` as one more history record after step ``at_step`` (seqs renumbered)."""
    records, _ = log_records(log)
    packer = runlog.new_packer()
    out = [runlog.MAGIC]
    seq = 0
    for rec in records:
        out.append(runlog.encode_record(packer, rec.kind, seq, rec.body))
        seq += 1
        if rec.kind == Kind.HISTORY and rec.body.get("_step") == at_step:
            out.append(runlog.encode_record(packer, Kind.HISTORY, seq, {**rec.body, **row}))
            seq += 1
    log.write_bytes(b"".join(out))


@pytest.mark.parametrize(
    ("value", "why"),
    [("x" * (2 * 1024 * 1024), "over the limits: refused alone"), ("y" * (26 * 1024 * 1024), "413")],
    ids=["over-a-limit", "larger-than-a-request"],
)
def test_a_record_the_server_will_not_store_is_reported_and_the_rest_goes_up(
    client: Client, value: str, why: str
) -> None:
    run_id = client.run(OFFLINE_RUN).strip()
    log = client.the_log()
    insert_row(log, 2_500, {"huge": value})

    synced = client.sync(str(log.parent))

    assert synced.returncode == 0, synced.stderr
    warnings = [line for line in synced.stderr.splitlines() if "refused record" in line]
    assert len(warnings) == 1, synced.stderr  # one console line, naming the record
    assert "history, step 2500" in warnings[0]
    assert "1 refused by the server" in synced.stdout
    steps = [row["_step"] for row in client.server_rows("refused", run_id)]
    assert steps == list(range(ROWS))  # every other row, once: the bad one is not stored
    records, _ = log_records(log)
    assert len(history_rows(records)) == ROWS + 1  # the local log keeps it
    info = client.server_run("refused", run_id)
    assert info["state"] == "finished"
    assert list(info["streams"].values()) == [records[-1].seq]
