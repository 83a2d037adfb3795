"""Eight SDK processes logging flat out into one server with two workers, on SQLite and PostgreSQL:
0 rows lost, 0 errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .conftest import Client, ServerProcess

WRITERS = 8
ROWS = 2_000

WRITER = """
    import sys, trackwell
    n = int(sys.argv[1])
    run = trackwell.init(project="many", group="g", mode="online", config={"n": n})
    for i in range(int(sys.argv[2])):
        run.log({"i": i, "n": n, "loss": 1 / (i + 1)})
    run.finish()
    print(run.id)
"""


def test_eight_concurrent_writers_lose_nothing(start_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = start_server(workers=2)
    client = Client(server, tmp_path / "client")  # one user, eight processes (a sweep's agents)
    procs = [client.spawn(WRITER, str(n), str(ROWS), name=f"writer{n}.py") for n in range(WRITERS)]
    outcomes = [(*proc.communicate(timeout=120), proc.returncode) for proc in procs]
    errors = [f"writer {n} exit {code}: {err}" for n, (_, err, code) in enumerate(outcomes)
              if code != 0 or "ERROR" in err or "Traceback" in err]  # fmt: skip
    assert errors == []
    ids = [out.strip() for out, _, _ in outcomes]
    assert len(set(ids)) == WRITERS
    for n, run_id in enumerate(ids):
        info = client.server_run("many", run_id)
        assert (info["state"], info["config"], info["group"]) == ("finished", {"n": n}, "g")
        rows = client.server_rows("many", run_id)
        assert [r["_step"] for r in rows] == list(range(ROWS)), f"writer {n}: {len(rows)} rows of {ROWS}"
        assert {r["n"] for r in rows} == {n}
