"""Real server processes: kill -9 mid-ingest loses and duplicates nothing; two processes share PostgreSQL + S3."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import msgpack

from trackwell_server.testing import ServerHandle, start_server_process

from .conftest import free_port

BATCH = 500


def batch_body(first_seq: int, n: int = BATCH) -> bytes:
    records = [
        ["history", s, {"_step": s, "loss": float(s), "tag": f"t{s}"}]
        for s in range(first_seq, first_seq + n)
    ]
    return msgpack.packb({"stream": "s", "first_seq": first_seq, "records": records})


def send(client: httpx.Client, first_seq: int, n: int = BATCH) -> httpx.Response:
    return client.post("/runs/local/p/r/ingest", content=batch_body(first_seq, n),
                       headers={"Content-Type": "application/x-msgpack"})  # fmt: skip


def client_for(handle: ServerHandle, key: str | None) -> httpx.Client:
    return httpx.Client(base_url=handle.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def all_steps(client: httpx.Client) -> list[int]:
    steps: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"page_size": 5000, "keys": "loss"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/runs/local/p/r/history", params=params).json()
        steps += [row["_step"] for row in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return steps


def test_kill_9_mid_ingest_then_restart(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    handle, proc = start_server_process(data, port=port)
    key = handle.admin_key
    client = client_for(handle, key)
    assert client.put("/runs/local/p/r", json={}).status_code == 201
    acked: list[int] = []
    stop = threading.Event()

    def ingest_forever() -> None:
        seq = 0
        while not stop.is_set() and seq < 200 * BATCH:
            try:
                resp = send(client, seq)
            except httpx.HTTPError:
                return  # the server died under us
            acked.append(resp.json()["last_seq"])
            seq += BATCH

    sender = threading.Thread(target=ingest_forever)
    sender.start()
    while len(acked) < 5:  # several batches stored, one more in flight
        assert sender.is_alive(), "the sender stopped before the kill"
        stop.wait(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    sender.join()
    handle, proc = start_server_process(data, port=port)
    try:
        client = client_for(handle, key)
        held = client.get("/runs/local/p/r/streams/s").json()["last_seq"]
        assert held >= acked[-1]  # every acknowledged batch survived
        assert (held + 1) % BATCH == 0  # batches are atomic: all of one, or none
        assert all_steps(client) == list(range(held + 1))
        # the sender resumes from the server's position, re-sending one overlapping batch too
        assert send(client, held + 1 - BATCH).json()["last_seq"] == held
        assert send(client, held + 1).json()["last_seq"] == held + BATCH
        assert all_steps(client) == list(range(held + 1 + BATCH))
        assert client.get("/runs/local/p/r").json()["summary"]["loss"] == float(held + BATCH)
    finally:
        handle.stop()


def test_two_processes_share_postgresql_and_s3(tmp_path: Path, pg_url: str, s3_endpoint: str) -> None:
    # a schema of its own: this test starts from an empty database
    import psycopg

    from .conftest import PG_ADMIN_URL

    schema = f"tw_procs_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    db = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    args = {
        "db_url": db,
        "blob_store": "s3://tw-shared/blobs",
        "extra_args": ["--s3-endpoint-url", s3_endpoint],
    }
    started: dict[str, Any] = {}

    def start(name: str) -> None:  # both at once: migrations must not race
        started[name] = start_server_process(tmp_path / name, **args)

    threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        (a, _), (b, _) = started["a"], started["b"]
        key = a.admin_key or b.admin_key  # whichever process created the admin holds its key
        assert key is not None
        ca, cb = client_for(a, key), client_for(b, key)
        assert ca.put("/runs/local/p/r", json={}).status_code == 201
        assert cb.put("/runs/local/p/r", json={}).status_code == 200
        for i in range(6):  # alternate servers, and resend each batch to the other one
            first, second = (ca, cb) if i % 2 == 0 else (cb, ca)
            assert send(first, i * BATCH).status_code == 200
            assert send(second, i * BATCH).json()["last_seq"] == (i + 1) * BATCH - 1
        assert all_steps(ca) == all_steps(cb) == list(range(6 * BATCH))
        assert ca.put("/runs/local/p/r/files/model.bin", content=b"weights").status_code == 200
        assert cb.get("/runs/local/p/r/files/model.bin").content == b"weights"
        bob = cb.post("/users", json={"name": "bob"}).json()["api_key"]
        assert client_for(a, bob).get("/viewer").json()["user"] == "bob"
    finally:
        for handle, _ in started.values():
            handle.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
