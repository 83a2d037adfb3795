"""Run files: upload and download, parts, listing, path traversal rejected; S3 through moto."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from trackwell_server.db.engine import make_engine, sqlite_url
from trackwell_server.jobs import collect_blobs
from trackwell_server.plugin_manager import open_blob_store
from trackwell_server.testing import ServerHandle, start_server

from .conftest import Client


def test_upload_list_download(admin: Client, run_path: str) -> None:
    data = os.urandom(100_000)
    resp = admin.put(f"/runs/{run_path}/files/code/train.py", content=data)
    assert resp.status_code == 200
    assert resp.json() == {
        "path": "code/train.py",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert admin.get(f"/runs/{run_path}/files/code/train.py").content == data
    admin.put(f"/runs/{run_path}/files/output.log", content=b"hello\n")
    admin.put(f"/runs/{run_path}/files/output.log", content=b"hello again\n")  # replaced
    listed = admin.get(f"/runs/{run_path}/files").json()["files"]
    assert [(f["path"], f["size"]) for f in listed] == [("code/train.py", len(data)), ("output.log", 12)]
    assert listed[1]["url"].endswith(f"/api/v1/runs/{run_path}/files/output.log")
    assert admin.get(f"/runs/{run_path}/files/output.log").content == b"hello again\n"
    assert admin.get(f"/runs/{run_path}/files/missing.txt").status_code == 404


def test_parts_make_one_file(admin: Client, run_path: str) -> None:
    parts = [os.urandom(1000), os.urandom(1000), b"tail"]
    for i in (2, 0, 1):  # any order
        resp = admin.put(f"/runs/{run_path}/files/big.bin", content=parts[i], params={"part": i, "parts": 3})
        assert resp.status_code == 200, resp.text
    whole = b"".join(parts)
    assert resp.json() == {"path": "big.bin", "size": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}
    assert admin.get(f"/runs/{run_path}/files/big.bin").content == whole
    assert (
        admin.put(f"/runs/{run_path}/files/x", content=b"x", params={"part": 3, "parts": 3}).status_code
        == 422
    )
    assert admin.put(f"/runs/{run_path}/files/x", content=b"x", params={"part": 0}).status_code == 422


@pytest.mark.parametrize(
    "bad",
    [
        "../escape",
        "..%2Fescape",
        "a/../../b",
        "a/%2E%2E/%2E%2E/b",
        "%2Fetc%2Fpasswd",
        "a//b",
        "a/./b",
        "a%5C..%5Cb",
    ],
)
def test_path_traversal_is_rejected(server: ServerHandle, run_path: str, bad: str) -> None:
    # http.client sends the path as written: httpx would normalise the dots away first
    host, port = server.url.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    for method, body in (("PUT", b"x"), ("GET", None)):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request(method, f"/api/v1/runs/{run_path}/files/{bad}", body=body, headers=headers)
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        conn.close()
        assert resp.status in (404, 422), (method, payload)
        assert payload["error"]["code"] in ("invalid", "not_found")
    listed = httpx.get(f"{server.api_url}/runs/{run_path}/files", headers=headers).json()
    assert listed["files"] == []


def test_s3_blob_store(tmp_path: Path, s3_endpoint: str) -> None:
    with start_server(tmp_path, blob_store="s3://tw-bucket/blobs", s3_endpoint_url=s3_endpoint) as server:
        admin = Client(server, server.admin_key)
        admin.put("/runs/local/p/r", json={})
        data = os.urandom(5000)
        assert admin.put("/runs/local/p/r/files/model.bin", content=data).status_code == 200
        assert admin.get("/runs/local/p/r/files/model.bin").content == data
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tw-bucket")["Contents"]]
    digest = hashlib.sha256(data).hexdigest()
    assert keys == [f"blobs/{digest[:2]}/{digest}"]
    assert not (tmp_path / "blobs").exists()


def test_unused_blobs_are_collected(tmp_path: Path, s3_endpoint: str) -> None:
    for store in ("local", "s3"):
        data = tmp_path / store
        blob_store = "s3://tw-gc/blobs" if store == "s3" else None
        with start_server(data, blob_store=blob_store, s3_endpoint_url=s3_endpoint) as server:
            admin = Client(server, server.admin_key)
            for run in ("kept", "gone"):
                admin.put(f"/runs/local/p/{run}", json={})
                admin.put(f"/runs/local/p/{run}/files/f.bin", content=run.encode() * 100)
            admin.put("/runs/local/p/kept/files/f.bin", content=b"replaced")
            admin.delete("/runs/local/p/gone")
            engine = make_engine(sqlite_url(data))
            blobs = open_blob_store(blob_store, data, s3_endpoint)
            assert collect_blobs(engine, blobs, grace=3600) == 0  # too young to go
            assert collect_blobs(engine, blobs, grace=0, now=time.time() + 1) == 2  # "gone", old "kept"
            assert collect_blobs(engine, blobs, grace=0, now=time.time() + 1) == 0  # idempotent
            assert admin.get("/runs/local/p/kept/files/f.bin").content == b"replaced"
            engine.dispose()


def _batch(files: list[tuple[str, bytes]]) -> bytes:
    head = json.dumps({"files": [[path, len(data)] for path, data in files]}).encode()
    return b"\n".join([head, b"".join(data for _, data in files)])


def test_a_batch_stores_many_small_files(admin: Client, users: dict[str, Client], run_path: str) -> None:
    files = [(f"media/images/{i:04d}.png", os.urandom(i % 50)) for i in range(300)]
    admin.put(f"/runs/{run_path}/files/media/images/0001.png", content=b"old")
    resp = admin.post(
        f"/runs/{run_path}/files", content=_batch([*files, ("output.log", b"a"), ("output.log", b"b")])
    )
    assert resp.status_code == 200, resp.text
    stored = resp.json()["files"]
    assert len(stored) == 301 and stored[-1] == {
        "path": "output.log",
        "size": 1,
        "sha256": hashlib.sha256(b"b").hexdigest(),
    }  # a path twice in one batch: the last bytes win
    listed = {f["path"]: f for f in admin.get(f"/runs/{run_path}/files").json()["files"]}
    assert len(listed) == 301
    for path, data in files[:3] + files[-3:]:
        assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest()
        assert admin.get(f"/runs/{run_path}/files/{path}").content == data  # 0001 replaced, 0000 empty
    assert users["bob"].post(f"/runs/{run_path}/files", content=_batch(files[:1])).status_code == 404


@pytest.mark.parametrize(
    "body, message",
    [
        (b"no header line", "JSON line"),
        (b'{"blobs": []}\n', "JSON line"),
        (b'{"files": [["a.txt", -1]]}\n', "[path, size]"),
        (b'{"files": [["a.txt"]]}\n', "[path, size]"),
        (b'{"files": [["../a.txt", 1]]}\nx', "invalid file path"),
        (b'{"files": [["a.txt", 3]]}\nxy', "lists 3 bytes but carries 2"),
        (b'{"files": [["a.txt", 1]]}\nxyz', "lists 1 bytes but carries 3"),
    ],
)
def test_a_bad_batch_is_refused_whole(admin: Client, run_path: str, body: bytes, message: str) -> None:
    resp = admin.post(f"/runs/{run_path}/files", content=body)
    assert resp.status_code == 422 and message in resp.json()["error"]["message"], resp.text
    assert admin.get(f"/runs/{run_path}/files").json()["files"] == []


def test_a_file_in_parts_goes_through_the_one_part_upload_protocol(tmp_path: Path, s3_endpoint: str) -> None:
    """Its parts wait in the upload area as an artifact blob's do, are joined into one blob,
    and a change of part count starts the upload over; on a local store and on S3."""
    parts = [os.urandom(3000), os.urandom(3000), b"end"]
    whole = b"".join(parts)
    for store in ("local", "s3"):
        data = tmp_path / store
        blob_store = "s3://tw-parts/blobs" if store == "s3" else None
        with start_server(data, blob_store=blob_store, s3_endpoint_url=s3_endpoint) as server:
            admin = Client(server, server.admin_key)
            admin.put("/runs/local/p/r", json={})
            url = "/runs/local/p/r/files/big.bin"
            first = admin.put(url, content=b"stale", params={"part": 0, "parts": 2}).json()
            assert first == {"path": "big.bin", "size": 5, "sha256": hashlib.sha256(b"stale").hexdigest(),
                             "parts_received": 1}  # fmt: skip
            for i in (1, 0):  # three parts now: the two-part upload is over
                resp = admin.put(url, content=parts[i], params={"part": i, "parts": 3}).json()
                assert resp["parts_received"] == 2 - i
            done = admin.put(url, content=parts[2], params={"part": 2, "parts": 3}).json()
            digest = hashlib.sha256(whole).hexdigest()
            assert done == {"path": "big.bin", "size": len(whole), "sha256": digest}
            assert admin.get(url).content == whole
            blobs = open_blob_store(blob_store, data, s3_endpoint)
            assert b"".join(blobs.read_range(digest, 0, len(whole))) == whole  # one blob, the whole file
            engine = make_engine(sqlite_url(data))
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM blob_uploads")).scalar() == 0
                assert conn.execute(sa.text("SELECT parts FROM files")).scalar() is None
            engine.dispose()
