"""Table benchmark: one 100k-row x 10-column table through log(), in a fresh interpreter.

Measures what the training loop pays (building the Table; ``log()``, which only copies
the row list), the writer's time until the Parquet file is on disk (``run.flush()``),
and the file's size against the same table as JSON rows (what W&B writes).
Targets: log() under 50 ms, the writer under 1 s, the file under 10 MB. CPU times are
printed beside the wall times, which a loaded machine stretches.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from report import Check

_SCRIPT = r"""
import json, sys, time
import numpy as np
import trackwell
n = int(sys.argv[1])
trackwell.Table.MAX_ROWS = n  # log() keeps W&B's 10,000 rows unless raised
rng = np.random.default_rng(0)
values = rng.random((n, 7)).tolist()
rows = [[i, f"label{i % 100}", i % 3 == 0, *v] for i, v in enumerate(values)]
columns = ["id", "label", "flag", *[f"f{j}" for j in range(7)]]
run = trackwell.init(project="bench-tables", mode="offline")
warm = trackwell.Table(columns=columns, data=rows[:10])
run.log({"warm": warm}); run.flush()  # pyarrow's import stays out of the figures
t0 = time.perf_counter(); c0 = time.process_time()
table = trackwell.Table(columns=columns, data=rows)
t1 = time.perf_counter(); c1 = time.process_time()
run.log({"table": table})
t2 = time.perf_counter(); c2 = time.process_time()
run.flush()  # the caller waits here: the process's CPU time is the writer's
t3 = time.perf_counter(); c3 = time.process_time()
t4 = time.perf_counter()
built = trackwell.Table(columns=columns)
for row in rows:
    built.add_data(*row)
add_s = time.perf_counter() - t4
record = run.summary["table"]
json_size = len(json.dumps({"columns": columns, "data": rows}))
run.finish()
print(json.dumps({"build_s": t1 - t0, "log_s": t2 - t1, "writer_s": t3 - t2, "build_cpu_s": c1 - c0,
                  "writer_cpu_s": c3 - c2, "add_data_s": add_s, "size": record["size"],
                  "json_size": json_size}))
"""


@dataclass(frozen=True)
class TablesPlan:
    rows: int
    runs: int


FULL = TablesPlan(rows=100_000, runs=3)
QUICK = TablesPlan(rows=100_000, runs=1)


def bench_tables(python: str, plan: TablesPlan, raw: dict[str, Any]) -> list[Check]:
    outs = []
    for _ in range(plan.runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "TRACKWELL_DIR": tmp,
                "TRACKWELL_CONFIG_DIR": tmp,
                "TRACKWELL_SILENT": "true",
                "TRACKWELL_X_DISABLE_STATS": "true",
            }
            proc = subprocess.run(
                [python, "-c", _SCRIPT, str(plan.rows)], capture_output=True, text=True, cwd=tmp,
                env={**os.environ, **env}, timeout=300, check=False,
            )  # fmt: skip
            if proc.returncode:
                raise OSError(f"tables workload failed: {proc.stderr.strip()[-500:]}")
            outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    raw["tables"] = outs
    k = f"{plan.rows // 1000}k"
    best = {
        key: min(o[key] for o in outs)
        for key in ("build_s", "log_s", "writer_s", "build_cpu_s", "writer_cpu_s", "add_data_s")
    }
    size, json_size = outs[0]["size"], outs[0]["json_size"]
    return [
        Check(f"Table {k} rows x 10 cols: build (caller)", best["build_s"] * 1e3, "ms",
              detail=f"best of {plan.runs}; CPU {best['build_cpu_s'] * 1e3:.0f} ms (copy, type check)"),
        Check(f"Table {k} rows built by add_data(*row)", best["add_data_s"] * 1e3, "ms",
              detail=f"{best['add_data_s'] / plan.rows * 1e6:.1f} us a row"),
        Check(f"log() of a {k}-row table: caller", best["log_s"] * 1e3, "ms", limit=50),
        Check(f"log() of a {k}-row table: writer until flushed", best["writer_s"], "s", limit=1.0,
              detail=f"writer CPU {best['writer_cpu_s']:.3f} s (wall time counts other load on the machine)"),
        Check(f"{k}-row table file (Parquet)", size / 1e6, "MB", limit=10,
              detail=f"the same rows as JSON: {json_size / 1e6:.1f} MB ({json_size / size:.1f}x)"),
    ]  # fmt: skip
