"""Artifacts over HTTP against a real server: blobs, versions, aliases, lineage, links, GC."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from trackwell_server.db.engine import make_engine, sqlite_url
from trackwell_server.jobs import collect_blobs
from trackwell_server.plugin_manager import open_blob_store
from trackwell_server.testing import start_server

from .conftest import Client, unique


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(client: Client, proj: str, data: bytes) -> str:
    digest = sha(data)
    resp = client.put(f"/artifacts/{proj}/blobs/{digest}", content=data)
    assert resp.status_code == 200, resp.text
    assert resp.json()["complete"] is True
    return digest


def commit(client: Client, proj: str, name: str, files: dict[str, bytes], **kw: Any) -> Any:
    entries = {
        path: {"digest": upload(client, proj, data), "size": len(data)} for path, data in files.items()
    }
    body = {
        "name": name,
        "type": kw.pop("type", "dataset"),
        "digest": sha(repr(sorted(entries.items())).encode()),
        "manifest": {"version": 1, "entries": entries},
        **kw,
    }
    return client.post(f"/artifacts/{proj}", json=body)


def test_blob_check_put_get_range(admin: Client) -> None:
    proj = f"local/{unique()}"
    data = os.urandom(5000)
    digest = sha(data)
    assert admin.post(f"/artifacts/{proj}/blobs/check", json={"digests": [digest]}).json() == {
        "missing": [digest]
    }
    upload(admin, proj, data)
    assert admin.post(f"/artifacts/{proj}/blobs/check", json={"digests": [digest]}).json() == {"missing": []}
    whole = admin.get(f"/artifacts/{proj}/blobs/{digest}")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["etag"] == f'"{digest}"' and whole.headers["content-length"] == "5000"
    part = admin.get(f"/artifacts/{proj}/blobs/{digest}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == "bytes 100-199/5000"
    tail = admin.get(f"/artifacts/{proj}/blobs/{digest}", headers={"Range": "bytes=4990-"})
    assert tail.status_code == 206 and tail.content == data[4990:]
    assert admin.get(f"/artifacts/{proj}/blobs/{digest}", headers={"Range": "bytes=6000-"}).status_code == 416


def test_digest_mismatch_keeps_nothing(admin: Client) -> None:
    proj = f"local/{unique()}"
    wrong = sha(b"something else")
    resp = admin.put(f"/artifacts/{proj}/blobs/{wrong}", content=b"these bytes")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "digest_mismatch"
    assert admin.post(f"/artifacts/{proj}/blobs/check", json={"digests": [wrong]}).json()["missing"] == [
        wrong
    ]


def test_parts_any_order_parallel_resume_and_mismatch(admin: Client) -> None:
    proj = f"local/{unique()}"
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = sha(data)
    size = 1024 * 1024
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    n = len(pieces)
    # part 2 first, then "interrupted": the client asks what arrived
    assert (
        admin.put(f"/artifacts/{proj}/blobs/{digest}?part=2&parts={n}", content=pieces[2]).json()["complete"]
        is False
    )
    got = admin.get(f"/artifacts/{proj}/blobs/{digest}/parts").json()
    assert got == {"received": [2], "parts": n, "complete": False}
    results: list[Any] = []
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(
                admin.put(f"/artifacts/{proj}/blobs/{digest}?part={i}&parts={n}", content=pieces[i])
            )
        )
        for i in range(n)
        if i != 2
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert sum(r.json()["complete"] for r in results) >= 1
    assert admin.get(f"/artifacts/{proj}/blobs/{digest}").content == data
    assert admin.get(f"/artifacts/{proj}/blobs/{digest}/parts").json()["complete"] is True
    # parts whose whole does not hash to the name: 422, and a fresh start
    bad = sha(b"not these")
    admin.put(f"/artifacts/{proj}/blobs/{bad}?part=0&parts=2", content=b"abc")
    resp = admin.put(f"/artifacts/{proj}/blobs/{bad}?part=1&parts=2", content=b"def")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "digest_mismatch"
    assert admin.get(f"/artifacts/{proj}/blobs/{bad}/parts").json() == {
        "received": [],
        "parts": None,
        "complete": False,
    }


def test_versions_dedupe_aliases_tags_client_id(admin: Client) -> None:
    proj = f"local/{unique()}"
    first = commit(admin, proj, "data", {"a.txt": b"one", "sub/b.bin": b"two"}, aliases=["best"], tags=["x"])
    assert first.status_code == 201, first.text
    v0 = first.json()
    assert (v0["version"], v0["created"], v0["size"], v0["file_count"]) == ("v0", True, 6, 2)
    assert v0["aliases"] == ["latest", "best"]
    again = commit(admin, proj, "data", {"a.txt": b"one", "sub/b.bin": b"two"}, aliases=["prod"])
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["version"] == "v0"
    assert again.json()["aliases"] == ["latest", "best", "prod"]
    second = commit(admin, proj, "data", {"a.txt": b"changed"}, aliases=["best"], client_id="c-1")
    assert second.json()["version"] == "v1"
    assert admin.get(f"/artifacts/{proj}/data/v0").json()["aliases"] == ["prod"]
    assert admin.get(f"/artifacts/{proj}/data/best").json()["version"] == "v1"
    assert admin.get(f"/artifacts/{proj}/data/latest").json()["version"] == "v1"
    retry = commit(admin, proj, "data", {"a.txt": b"yet other"}, client_id="c-1")
    assert retry.status_code == 200 and retry.json()["version"] == "v1"
    manifest = admin.get(f"/artifacts/{proj}/data/v0/manifest").json()
    assert manifest["entries"]["sub/b.bin"] == {"digest": sha(b"two"), "size": 3}
    patched = admin.patch(
        f"/artifacts/{proj}/data/v0",
        json={"aliases": ["old"], "tags": ["t1"], "description": "d", "metadata": {"k": 1}},
    )
    assert patched.status_code == 200
    assert (patched.json()["aliases"], patched.json()["tags"], patched.json()["metadata"]) == (
        ["old"],
        ["t1"],
        {"k": 1},
    )
    wrong_type = commit(admin, proj, "data", {"z": b"z"}, type="model")
    assert wrong_type.status_code == 409 and wrong_type.json()["error"]["code"] == "type_mismatch"
    versions = admin.get(f"/artifacts/{proj}/data/versions", params={"per_page": 1}).json()
    assert [v["version"] for v in versions["items"]] == ["v1"]
    more = admin.get(f"/artifacts/{proj}/data/versions", params={"cursor": versions["next_cursor"]}).json()
    assert [v["version"] for v in more["items"]] == ["v0"] and more["next_cursor"] is None
    colls = admin.get(f"/artifacts/{proj}").json()["items"]
    assert colls[0]["name"] == "data" and colls[0]["version_count"] == 2
    assert admin.get(f"/artifact-types/{proj}").json() == {"items": [{"name": "dataset", "collections": 1}]}
    # delete: refused while it has aliases
    resp = admin.delete(f"/artifacts/{proj}/data/v0")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "has_aliases"
    assert admin.delete(f"/artifacts/{proj}/data/v0", params={"delete_aliases": "true"}).status_code == 204
    assert admin.get(f"/artifacts/{proj}/data/v0").status_code == 404
    third = commit(admin, proj, "data", {"a.txt": b"third"})
    assert third.json()["version"] == "v2"  # indices are never reused


def test_missing_blobs_and_bad_input(admin: Client) -> None:
    proj = f"local/{unique()}"
    ghost = sha(b"never uploaded")
    body: dict[str, Any] = {
        "name": "m",
        "type": "model",
        "digest": "d1",
        "manifest": {
            "version": 1,
            "entries": {
                "w.bin": {"digest": ghost, "size": 1},
                "ext": {"digest": None, "ref": "s3://b/k", "size": 5},
            },
        },
    }
    resp = admin.post(f"/artifacts/{proj}", json=body)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "missing_blobs"
    assert resp.json()["missing"] == [ghost]
    for path in ("../x", "/abs", "a/../b", "a\x00b", "a//b", "."):
        body["manifest"]["entries"] = {path: {"digest": None, "ref": "https://x/y", "size": 1}}
        assert admin.post(f"/artifacts/{proj}", json=body).status_code == 422, path
    for name in ("a:b", "a/b", "", "blobs", "-x"):
        assert commit(admin, proj, name, {"f": b"1"}).status_code in (404, 405, 422), name
    assert commit(admin, proj, "ok", {"f": b"1"}, aliases=["bad:alias"]).status_code == 422
    assert admin.put(f"/artifacts/{proj}/blobs/nothex", content=b"x").status_code == 422


def test_concurrent_commits_get_distinct_versions(admin: Client) -> None:
    proj = f"local/{unique()}"
    datas = [os.urandom(100) for _ in range(6)]
    for d in datas:
        upload(admin, proj, d)
    results: list[Any] = []

    def go(d: bytes) -> None:
        body = {
            "name": "race",
            "type": "dataset",
            "digest": sha(d),
            "manifest": {"version": 1, "entries": {"f": {"digest": sha(d), "size": 100}}},
        }
        results.append(admin.post(f"/artifacts/{proj}", json=body))

    threads = [threading.Thread(target=go, args=(d,)) for d in datas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    assert sorted(r.json()["version_index"] for r in results) == list(range(6))


def test_lineage_and_run_delete(admin: Client) -> None:
    proj = f"local/{unique()}"
    for run_id in ("maker", "user"):
        assert admin.put(f"/runs/{proj}/{run_id}", json={"name": run_id}).status_code == 201
    made = commit(
        admin,
        proj,
        "d",
        {"f": b"lineage"},
        run={"entity": "local", "project": proj.split("/")[1], "run_id": "maker"},
    )
    assert made.json()["logged_by"] == {"entity": "local", "project": proj.split("/")[1], "run_id": "maker"}
    used = admin.post(f"/runs/{proj}/user/used-artifacts", json={"artifact": f"{proj}/d:latest"})
    assert used.status_code == 200 and used.json()["version"] == "v0"
    admin.post(f"/runs/{proj}/user/used-artifacts", json={"artifact": f"{proj}/d:v0"})  # once per run
    assert [r["run_id"] for r in admin.get(f"/artifacts/{proj}/d/v0/used-by").json()["items"]] == ["user"]
    assert admin.get(f"/artifacts/{proj}/d/v0/logged-by").json()["run_id"] == "maker"
    assert len(admin.get(f"/runs/{proj}/maker/artifacts").json()["items"]) == 1
    assert len(admin.get(f"/runs/{proj}/user/artifacts", params={"direction": "used"}).json()["items"]) == 1
    assert (
        admin.post(f"/runs/{proj}/ghost/used-artifacts", json={"artifact": f"{proj}/d:v0"}).status_code == 404
    )
    # W&B's run.delete(delete_artifacts=False): the version stays, without its run
    assert admin.delete(f"/runs/{proj}/maker").status_code == 204
    assert admin.get(f"/artifacts/{proj}/d/v0").json()["logged_by"] is None
    assert admin.get(f"/artifacts/{proj}/d/v0/logged-by").json() is None
    commit(
        admin,
        proj,
        "e",
        {"f": b"goes"},
        run={"entity": "local", "project": proj.split("/")[1], "run_id": "user"},
    )
    assert admin.delete(f"/runs/{proj}/user", params={"delete_artifacts": "true"}).status_code == 204
    assert admin.get(f"/artifacts/{proj}/e/v0").status_code == 404
    assert admin.get(f"/artifacts/{proj}/d/v0").status_code == 200


def test_links_and_registries(admin: Client) -> None:
    proj = f"local/{unique()}"
    reg = f"wandb-registry-model{uuid.uuid4().hex[:6]}"
    commit(admin, proj, "net", {"w.bin": b"weights0"}, type="model")
    commit(admin, proj, "net", {"w.bin": b"weights1"}, type="model")
    link = admin.post(
        f"/artifacts/local/{reg}/best-nets/links", json={"source": f"{proj}/net:v1", "aliases": ["prod"]}
    )
    assert link.status_code == 201, link.text
    obj = link.json()
    assert (obj["version"], obj["type"], obj["source"]["version"]) == ("v0", "model", "v1")
    assert obj["aliases"] == ["latest", "prod"]
    again = admin.post(
        f"/artifacts/local/{reg}/best-nets/links", json={"source": f"{proj}/net:v1", "aliases": ["x"]}
    )
    assert again.status_code == 200 and again.json()["version"] == "v0" and "x" in again.json()["aliases"]
    second = admin.post(f"/artifacts/local/{reg}/best-nets/links", json={"source": f"{proj}/net:v0"}).json()
    assert second["version"] == "v1" and second["aliases"] == ["latest"]
    manifest = admin.get(f"/artifacts/local/{reg}/best-nets/prod/manifest").json()
    digest = manifest["entries"]["w.bin"]["digest"]
    assert admin.get(f"/artifacts/local/{reg}/blobs/{digest}").content == b"weights1"
    regs = admin.get("/registries/local").json()["items"]
    mine = [r for r in regs if r["project"] == reg]
    assert mine and mine[0]["collections"][0]["name"] == "best-nets"
    assert mine[0]["collections"][0]["version_count"] == 2
    bad = admin.post(f"/artifacts/local/{reg}/best-nets/links", json={"source": "nonsense"})
    assert bad.status_code == 422


def test_other_users_cannot_read_or_write(admin: Client, users: dict[str, Client]) -> None:
    alice, bob = users["alice"], users["bob"]
    me = alice.get("/viewer").json()["entity"]
    proj = f"{me}/{unique()}"
    data = b"alice's secret"
    digest = upload(alice, proj, data)
    assert commit(alice, proj, "s", {"f": data}).status_code == 201
    assert bob.get(f"/artifacts/{proj}/s/v0").status_code == 404
    assert bob.get(f"/artifacts/{proj}/blobs/{digest}").status_code == 404
    assert bob.put(f"/artifacts/{proj}/blobs/{digest}", content=data).status_code in (403, 404)
    assert bob.post(f"/artifacts/{proj}", json={"name": "x", "type": "t", "digest": "d"}).status_code in (
        403,
        404,
    )
    # knowing a digest is not enough: bob's own project does not hold alice's blob
    bob_me = bob.get("/viewer").json()["entity"]
    assert bob.get(f"/artifacts/{bob_me}/{unique()}/blobs/{digest}").status_code == 404


@pytest.mark.parametrize("store", ["local", "s3"])
def test_gc_keeps_referenced_blobs(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    endpoint = request.getfixturevalue("s3_endpoint") if store == "s3" else None
    spec = f"s3://gc-{uuid.uuid4().hex[:8]}/blobs" if store == "s3" else None
    data_dir = tmp_path / "data"
    with start_server(data_dir, blob_store=spec, s3_endpoint_url=endpoint) as srv:
        admin = Client(srv, srv.admin_key)
        proj = f"local/{unique()}"
        kept = commit(admin, proj, "k", {"f": b"kept bytes", "g": b"deleted later"})
        assert kept.status_code == 201
        loose = upload(admin, proj, b"uploaded, never committed")
        big = os.urandom(2 * 1024 * 1024 + 5)
        pending = sha(big)
        admin.put(f"/artifacts/{proj}/blobs/{pending}?part=0&parts=3", content=big[: 1024 * 1024])
        commit(admin, proj, "k", {"f": b"kept bytes"})  # v1 names only "f"
        assert admin.delete(f"/artifacts/{proj}/k/v0").status_code == 204
        engine = make_engine(sqlite_url(data_dir))
        blobs = open_blob_store(spec, data_dir, endpoint)
        collect_blobs(engine, blobs, grace=0, now=time.time() + 10)
        engine.dispose()
        v1 = admin.get(f"/artifacts/{proj}/k/v1/manifest").json()
        assert admin.get(f"/artifacts/{proj}/blobs/{v1['entries']['f']['digest']}").content == b"kept bytes"
        assert not blobs.exists(sha(b"deleted later"))
        assert not blobs.exists(loose)
        # the upload in progress finishes after the collection
        admin.put(
            f"/artifacts/{proj}/blobs/{pending}?part=1&parts=3", content=big[1024 * 1024 : 2 * 1024 * 1024]
        )
        done = admin.put(f"/artifacts/{proj}/blobs/{pending}?part=2&parts=3", content=big[2 * 1024 * 1024 :])
        assert done.json()["complete"] is True
        assert admin.get(f"/artifacts/{proj}/blobs/{pending}").content == big
