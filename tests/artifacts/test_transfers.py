"""Transfers and the less common artifact paths through the real server: multi-part uploads
cut and resumed, batches, ``checkout``, ``get`` of tables and images, ``new_draft``,
``incremental=True``, aliases for content that already exists, and downloads of
``file://``, ``http://`` and ``s3://`` references with their checksums verified."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackwell
from trackwell.artifacts import client as client_mod
from trackwell.artifacts.client import ArtifactClient
from trackwell.errors import CommError


def _api() -> Any:
    return trackwell.Api()


def test_interrupted_multipart_upload_sends_only_missing_parts(
    proxy: Any, trackwell_server: Any, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_X_ARTIFACT_PART_BYTES", str(64 * 1024))
    monkeypatch.setattr(client_mod, "ATTEMPTS", 1)  # the cut ends the first try at once
    data = os.urandom(5 * 64 * 1024 + 123)  # six parts
    path = trackwell_dir / "big.bin"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    client = ArtifactClient(proxy.url, trackwell_server.admin_key)
    entity = _api().default_entity
    assert client.missing(entity, "resume", [digest]) == {digest}  # as the sender asks first
    pool = ThreadPoolExecutor(1)  # parts in order, so the cut falls after exactly two
    proxy.cut("part=", after=2)
    with pytest.raises(CommError):
        client.upload(entity, "resume", [(digest, path, len(data))], pool)
    sent = [e for e in proxy.requests("PUT", f"/blobs/{digest}") if e.status == 200]
    assert len(sent) == 2
    proxy.heal()
    before = len(proxy.requests("PUT", f"/blobs/{digest}"))
    client.upload(entity, "resume", [(digest, path, len(data))], pool)
    retry = proxy.requests("PUT", f"/blobs/{digest}")[before:]
    assert len(retry) == 4 and all("part=0&" not in e.path and "part=1&" not in e.path for e in retry)
    dest = trackwell_dir / "back.bin"
    client.download(entity, "resume", digest, dest, len(data))
    assert dest.read_bytes() == data
    client.close()
    pool.shutdown()


def test_multipart_and_batched_files_through_a_run(
    proxy: Any, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_X_ARTIFACT_PART_BYTES", str(64 * 1024))
    root = trackwell_dir / "mixed"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(300_000))
    for i in range(20):
        (root / f"small{i}.txt").write_text(f"small {i}")
    with trackwell.init(project="arts-mp", mode="online") as run:
        art = trackwell.Artifact("mixed", "dataset")
        art.add_dir(root)
        run.log_artifact(art).wait(60)
        entity = run.entity
    assert len(proxy.requests("PUT", "part=")) == 5
    assert len(proxy.requests("POST", "/blobs/batch")) == 1
    monkeypatch.setenv("TRACKWELL_CACHE_DIR", str(trackwell_dir / "empty-cache"))
    got = _api().artifact(f"{entity}/arts-mp/mixed:v0")
    out = Path(got.download(trackwell_dir / "dl"))
    got.verify(out)
    assert (out / "big.bin").read_bytes() == (root / "big.bin").read_bytes()
    assert len(proxy.requests("POST", "/blobs/fetch")) == 1  # the 20 small files in one request


def test_checkout_new_draft_incremental_and_existing_content(
    online_run: trackwell.Run, trackwell_dir: Path
) -> None:
    src = trackwell_dir / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    (src / "b.txt").write_text("b")
    art = trackwell.Artifact("ds", "dataset")
    art.add_dir(src)
    online_run.log_artifact(art).wait(30)
    # the same content with aliases and tags: no new version, they land on v0
    same = trackwell.Artifact("ds", "dataset")
    same.add_dir(src)
    online_run.log_artifact(same, aliases=["again"], tags=["dup"]).wait(30)
    assert same.version == "v0" and "again" in same.aliases
    entity = online_run.entity
    v0 = _api().artifact(f"{entity}/test/ds:again")
    assert v0.version == "v0" and v0.tags == ["dup"]
    # checkout: the folder holds exactly the artifact afterwards
    out = trackwell_dir / "co"
    v0.download(out)
    (out / "stray.txt").write_text("not in the artifact")
    (out / "a.txt").write_text("edited")
    v0.checkout(out)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "a.txt").read_text() == "a"
    v0.verify(out)
    # new_draft: v0's entries plus a file, minus one; only the new bytes go up
    draft = v0.new_draft()
    assert draft.is_draft()
    (trackwell_dir / "c.txt").write_text("c")
    draft.add_file(trackwell_dir / "c.txt")
    draft.remove("b.txt")
    online_run.log_artifact(draft).wait(30)
    assert draft.version == "v1"
    v1 = _api().artifact(f"{entity}/test/ds:v1")
    assert sorted(v1.manifest.entries) == ["a.txt", "c.txt"]
    assert Path(v1.download(trackwell_dir / "v1"), "a.txt").read_text() == "a"
    # incremental=True: merged onto the newest version by the server
    (trackwell_dir / "d.txt").write_text("d")
    inc = trackwell.Artifact("ds", "dataset", incremental=True)
    inc.add_file(trackwell_dir / "d.txt")
    online_run.log_artifact(inc).wait(30)
    v2 = _api().artifact(f"{entity}/test/ds:latest")
    assert v2.version == "v2" and sorted(v2.manifest.entries) == ["a.txt", "c.txt", "d.txt"]


def test_get_table_and_image_from_a_committed_artifact(
    online_run: trackwell.Run, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (8, 10, 3), dtype=np.uint8)
    table = trackwell.Table(columns=["id", "score", "label"], data=[[1, 0.5, "a"], [2, 0.25, "b"]])
    art = trackwell.Artifact("objs", "dataset")
    art.add(table, "preds")
    art.add(trackwell.Image(pixels, caption="img"), "picture")
    online_run.log_artifact(art).wait(30)
    monkeypatch.setenv("TRACKWELL_CACHE_DIR", str(trackwell_dir / "empty-cache"))  # from the server
    got = _api().artifact(f"{online_run.entity}/test/objs:v0")
    back = got.get("preds")
    assert isinstance(back, trackwell.Table) and back.columns == ["id", "score", "label"]
    assert back.data == [[1, 0.5, "a"], [2, 0.25, "b"]]
    import pandas as pd

    pd.testing.assert_frame_equal(back.get_dataframe(), table.get_dataframe())
    image = got.get("picture")
    assert isinstance(image, trackwell.Image)
    assert np.array_equal(np.asarray(image.image.convert("RGB")), pixels)
    assert got.get("absent") is None


def test_reference_downloads_verify_checksums(
    online_run: trackwell.Run, trackwell_dir: Path, s3_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_url)
    s3 = boto3.client("s3", endpoint_url=s3_url)
    s3.create_bucket(Bucket="refs")
    s3.put_object(Bucket="refs", Key="data/x.bin", Body=b"x" * 500)
    s3.put_object(Bucket="refs", Key="data/sub/y.bin", Body=b"y" * 700)
    local = trackwell_dir / "local.bin"
    local.write_bytes(b"l" * 300)
    art = trackwell.Artifact("refs3", "dataset")
    art.add_reference("s3://refs/data", name="bucket")
    art.add_reference(local.as_uri())
    online_run.log_artifact(art).wait(30)
    got = _api().artifact(f"{online_run.entity}/test/refs3:v0")
    assert sorted(got.manifest.entries) == ["bucket/sub/y.bin", "bucket/x.bin", "local.bin"]
    assert got.get_entry("bucket/x.bin").ref == "s3://refs/data/x.bin"
    out = Path(got.download(trackwell_dir / "dl"))
    assert (out / "bucket" / "x.bin").read_bytes() == b"x" * 500
    assert (out / "bucket" / "sub" / "y.bin").read_bytes() == b"y" * 700
    assert (out / "local.bin").read_bytes() == b"l" * 300
    # the same size, other bytes: the recorded ETag (S3) and sha256 (file) catch it
    s3.put_object(Bucket="refs", Key="data/x.bin", Body=b"z" * 500)
    with pytest.raises(trackwell.UsageError, match="changed since it was logged"):
        got.download(trackwell_dir / "dl2", skip_cache=True, path_prefix="bucket/x")
    local.write_bytes(b"m" * 300)
    with pytest.raises(trackwell.UsageError, match="changed since it was logged"):
        got.download(trackwell_dir / "dl3", skip_cache=True, path_prefix="local")
