"""Server benchmarks: ingest throughput, history reads, and log() in online mode.

The server runs as a real subprocess (``python -m trackwell_server``) on 127.0.0.1,
the way a user starts it, so the figures include HTTP, (de)serialisation and the
database. Batches are encoded before the clock starts: the ingest figure is what
the server sustains, not what this script can encode.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from harness import WorkloadError, repeat
from report import Check, fmt

PG_URL = os.environ.get("TRACKWELL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class ServerPlan:
    ingest_rows: int  # rows of 10 metrics ingested (points = rows * 10)
    batch_rows: int  # rows per ingest request
    series_points: int  # points of the one metric read back with samples=500
    online_steps: int  # log() calls timed in online mode


FULL = ServerPlan(ingest_rows=100_000, batch_rows=5_000, series_points=1_000_000, online_steps=20_000)
QUICK = ServerPlan(ingest_rows=10_000, batch_rows=5_000, series_points=50_000, online_steps=2_000)


def pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


class Client:
    """A keep-alive HTTP client for the benchmark's own requests (no SDK in the way)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(
        self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"
    ) -> Any:
        headers = {"Content-Type": ctype, "Accept": "application/json"}
        self.conn.request(method, "/api/v1" + path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 400:
            raise WorkloadError(f"{method} {path}: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data) if data else None


@contextmanager
def server(db_url: str | None = None) -> Iterator[int]:
    """A fresh server subprocess with its own data directory; yields its port.

    Started by server-lite's own ``start_server_process`` (the kill -9 tests use it
    too). PostgreSQL runs get a schema of their own (``?options=-csearch_path=...``)
    so a benchmark never reads another run's tables, and the schema is dropped after.
    """
    from trackwell_server.testing import start_server_process

    schema = None
    with tempfile.TemporaryDirectory(prefix="twbench-server-") as data:
        if db_url:
            schema = "bench_" + uuid.uuid4().hex[:10]
            _pg(f"CREATE SCHEMA {schema}")
            db_url = f"{db_url}?options=-csearch_path%3D{schema}"
        try:
            try:
                handle, _ = start_server_process(data, db_url=db_url, auth=False)
            except (RuntimeError, TimeoutError) as exc:
                log = Path(data, "server.log").read_text(errors="replace")[-2000:]
                raise WorkloadError(f"the server did not start: {exc}\n{log}") from None
            try:
                yield int(handle.url.rsplit(":", 1)[1])
            finally:
                handle.stop()
        finally:
            if schema:
                _pg(f"DROP SCHEMA {schema} CASCADE")


def _pg(sql: str) -> None:
    env = {**os.environ, "PGOPTIONS": "--client-min-messages=warning"}
    cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql]
    subprocess.run(cmd, check=True, env=env)


def _batches(rows: int, batch_rows: int, keys: list[str], stream: str) -> list[bytes]:
    """Ingest bodies as the SDK's sender builds them: a RUN record, then history rows."""
    now = time.time()
    records: list[list[Any]] = [["run", 0, {"id": "r", "project": "bench", "stream": stream}]]
    for step in range(rows):
        row: dict[str, Any] = {k: step * 0.001 + i for i, k in enumerate(keys)}
        row.update(_step=step, _timestamp=now + step * 1e-3, _runtime=step * 1e-3)
        records.append(["history", step + 1, row])
    out = []
    for start in range(0, len(records), batch_rows):
        chunk = records[start : start + batch_rows]
        body = {"stream": stream, "first_seq": chunk[0][1], "records": chunk}
        out.append(msgpack.packb(body, use_bin_type=True))
    return out


def _ingest(client: Client, run: str, batches: list[bytes]) -> float:
    client.request("PUT", f"/runs/local/bench/{run}", json.dumps({"name": run}).encode())
    t0 = time.perf_counter()
    for body in batches:
        client.request("POST", f"/runs/local/bench/{run}/ingest", body, "application/x-msgpack")
    return time.perf_counter() - t0


def bench_ingest(plan: ServerPlan, raw: dict[str, Any], db: str) -> list[Check]:
    """Scalar points per second through ``/ingest``, 10 metrics per row, in batches."""
    keys = [f"train/m{i}" for i in range(10)]
    batches = _batches(plan.ingest_rows, plan.batch_rows, keys, uuid.uuid4().hex)
    points = plan.ingest_rows * len(keys)
    with server(PG_URL if db == "PostgreSQL" else None) as port:
        client = Client(port)
        wall = _ingest(client, "ingest", batches)
        # read it back once, so a server that "accepts" without storing cannot pass
        got = client.request("GET", "/runs/local/bench/ingest")
    if got.get("last_step") != plan.ingest_rows - 1:
        raise WorkloadError(
            f"ingested {plan.ingest_rows} rows but the run says last_step={got.get('last_step')}"
        )
    rate = points / wall
    raw[f"ingest_{db}"] = {"points": points, "wall_s": wall, "points_per_s": rate}
    gated = db == "SQLite"  # the target is for SQLite; PostgreSQL is the same measure, reported
    return [
        Check(
            f"ingest {db}: scalar points/s ({points:,} pts, {plan.batch_rows:,} rows/batch)",
            rate,
            "pts/s",
            measured=fmt(rate, "pts/s"),
            target="≥ 1,000,000 pts/s" if gated else "info",
            ok=rate >= 1_000_000 if gated else None,
            detail=f"{len(batches)} requests in {wall:.3f} s; batches pre-encoded (msgpack); "
            "one client, one server process",
        )
    ]


def bench_history(plan: ServerPlan, raw: dict[str, Any]) -> list[Check]:
    """Reads through the Public API: a 1M-point DataFrame and a 500-sample series."""
    import trackwell

    keys = [f"train/m{i}" for i in range(10)]
    wide_rows = plan.series_points // len(keys)
    with server() as port:
        client = Client(port)
        _ingest(client, "wide", _batches(wide_rows, plan.batch_rows, keys, uuid.uuid4().hex))
        _ingest(client, "long", _batches(plan.series_points, 20_000, ["loss"], uuid.uuid4().hex))
        api = trackwell.Api(overrides={"base_url": f"http://127.0.0.1:{port}", "entity": "local"})
        frame_s = []
        for _ in range(3):
            api.flush()
            t0 = time.perf_counter()
            df = api.run("local/bench/wide").history(keys=keys, pandas=True, samples=None)
            frame_s.append(time.perf_counter() - t0)
        if df.shape[0] != wide_rows or df[keys[3]].iloc[-1] != (wide_rows - 1) * 0.001 + 3:
            raise WorkloadError(f"history(pandas=True) returned shape {df.shape}, expected {wide_rows} rows")
        run = api.run("local/bench/long")
        sample_s = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows = run.history(keys=["loss"], samples=500, pandas=False)
            sample_s.append(time.perf_counter() - t0)
        if not 2 <= len(rows) <= 1000:
            raise WorkloadError(f"history(samples=500) returned {len(rows)} rows")
    frame, sample = sorted(frame_s)[1], sorted(sample_s)[2]
    raw["history"] = {"frame_s": frame_s, "samples_s": sample_s}
    return [
        Check(
            f"run.history(pandas=True): {wide_rows * len(keys):,} points",
            frame * 1e3,
            "ms",
            1000.0,
            detail=f"median of 3, {wide_rows:,} rows × {len(keys)} metrics, "
            "through trackwell.Api() over HTTP",
        ),
        Check(
            f"run.history(samples=500) of a {plan.series_points:,}-point metric",
            sample * 1e3,
            "ms",
            50.0,
            detail=f"median of 5; {len(rows)} rows back (min and max of each bucket kept)",
        ),
    ]


def bench_online_log(python: str, plan: ServerPlan, raw: dict[str, Any]) -> list[Check]:
    """Caller-side ``log()`` with a live server (online) next to offline, same process kind."""
    with server() as port:
        extra = {"TRACKWELL_BASE_URL": f"http://127.0.0.1:{port}", "TRACKWELL_ENTITY": "local"}
        params = {"steps": plan.online_steps, "metrics": 10, "mode": "online"}
        online = repeat(python, "log", 3, params, extra=extra)
    offline = repeat(python, "log", 3, {"steps": plan.online_steps, "metrics": 10})
    on = sorted(o.result["median_us"] for o in online)[1]
    off = sorted(o.result["median_us"] for o in offline)[1]
    raw["online_log"] = {"online": [o.result for o in online], "offline": [o.result for o in offline]}
    return [
        Check(
            f"log() 10 scalars online: caller median ({plan.online_steps:,} steps)",
            on,
            "us",
            5.0,
            detail=f"offline in the same sitting: {fmt(off, 'us')}; online p99 "
            f"{fmt(sorted(o.result['p99_us'] for o in online)[1], 'us')}",
        )
    ]
