"""Artifacts through the real server: versions, dedupe, aliases, download cache, lineage, registry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.artifacts import ArtifactError


def _data(root: Path, n: int = 5, size: int = 1000) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"f{i}.bin").write_bytes(os.urandom(size))
    return root


def _api() -> Any:
    return trackwell.Api()


def _uploads(proxy: Any) -> int:
    """Blob upload requests: batches of small files and whole/part PUTs."""
    return len(proxy.requests("POST", "/blobs/batch")) + len(proxy.requests("PUT", "/blobs/"))


def test_versions_dedupe_aliases_and_download(proxy: Any, trackwell_dir: Path) -> None:
    data = _data(trackwell_dir / "data")
    with trackwell.init(project="arts", mode="online") as run:
        a0 = trackwell.Artifact("ds", "dataset", metadata={"n": 5})
        a0.add_dir(data)
        run.log_artifact(a0, aliases=["first"])
        assert a0.wait(30).version == "v0"
        assert sorted(a0.aliases) == ["first", "latest"]
        assert a0.name == "ds:v0" and a0.qualified_name.endswith("/arts/ds:v0")
        puts0 = _uploads(proxy)
        assert puts0 == 1  # five small files in one batch
        # the same content again: no new version, nothing uploaded
        same = trackwell.Artifact("ds", "dataset")
        same.add_dir(data)
        run.log_artifact(same)
        assert same.wait(30).version == "v0"
        assert _uploads(proxy) == puts0
        # one file changed: v1, one blob uploaded
        (data / "f0.bin").write_bytes(b"changed")
        a1 = trackwell.Artifact("ds", "dataset")
        a1.add_dir(data)
        run.log_artifact(a1, aliases=["best"])
        assert a1.wait(30).version == "v1"
        assert _uploads(proxy) == puts0 + 1
        entity = run.entity
    api = _api()
    latest = api.artifact(f"{entity}/arts/ds:latest")
    assert latest.version == "v1" and "best" in latest.aliases
    first = api.artifact(f"{entity}/arts/ds:first")
    assert first.version == "v0" and first.metadata == {"n": 5}
    root = first.download(trackwell_dir / "out0")
    first.verify(root)
    # the cache already holds every blob (the upload put them there): nothing fetched
    assert not proxy.requests("GET", "/blobs/") and not proxy.requests("POST", "/blobs/fetch")
    # the same download with the server gone: served from the cache
    proxy.fail(None)
    root2 = first.download(trackwell_dir / "out1")
    first.verify(root2)
    proxy.heal()
    # verify() notices a corrupted file
    (Path(root2) / "f1.bin").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="does not match"):
        first.verify(root2)


def test_download_from_server_resumes_and_verifies(
    proxy: Any, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(trackwell_dir / "data", n=3, size=300_000)
    with trackwell.init(project="arts-dl", mode="online") as run:
        art = trackwell.Artifact("big", "dataset")
        art.add_dir(data, skip_cache=True)
        run.log_artifact(art).wait(30)
        entity = run.entity
    monkeypatch.setenv("TRACKWELL_CACHE_DIR", str(trackwell_dir / "cache2"))  # an empty cache
    got = _api().artifact(f"{entity}/arts-dl/big:v0")
    # a partial file left by an interrupted download: only the rest is fetched
    digest = got.get_entry("f0.bin").digest
    from trackwell.artifacts.cache import Cache

    part = Cache().partial(digest)
    part.parent.mkdir(parents=True)
    part.write_bytes((data / "f0.bin").read_bytes()[:100_000])
    root = got.download(trackwell_dir / "dl")
    got.verify(root)
    ranged = [e for e in proxy.requests("GET", f"/blobs/{digest}")]
    assert ranged and all(e.status in (200, 206) for e in ranged)
    assert any(e.status == 206 for e in ranged)
    before = len(proxy.requests("GET", "/blobs/"))
    got.download(trackwell_dir / "dl2")
    assert len(proxy.requests("GET", "/blobs/")) == before  # second download: from the cache


def test_lineage_links_and_models(online_run: trackwell.Run, trackwell_dir: Path) -> None:
    model = trackwell_dir / "model.h5"
    model.write_text("weights")
    art = online_run.log_model(model, name="mnist-model", aliases=["candidate"])
    online_run.link_model(model, registered_model_name="MNIST")
    online_run.link_artifact(art, "wandb-registry-model/classifiers", aliases=["prod"])
    art.wait(30)
    entity = online_run.entity
    with trackwell.init(project="test", mode="online") as reader:
        path = reader.use_model("mnist-model:candidate")
        assert Path(path).read_text() == "weights"  # a one-file model: the file's path, as W&B
        used = reader.use_artifact(f"{entity}/test/mnist-model:v0")
        assert used.type == "model"
        reader_id = reader.id
    online_run.finish()
    api = _api()
    got = api.artifact(f"{entity}/test/mnist-model:v0")
    assert got.logged_by().id == online_run.id
    assert [r.id for r in got.used_by()] == [reader_id]
    assert [a.name for a in api.run(f"{entity}/test/{reader_id}").used_artifacts()] == ["mnist-model:v0"]
    assert "mnist-model:v0" in [a.name for a in api.run(f"{entity}/test/{online_run.id}").logged_artifacts()]
    linked = api.artifact(f"{entity}/wandb-registry-model/classifiers:prod")
    assert linked.source_name == "mnist-model:v0"
    assert Path(linked.download(trackwell_dir / "linked"), "model.h5").read_text() == "weights"
    registered = api.artifact(f"{entity}/model-registry/MNIST:latest")
    assert registered.type == "model"
    assert any(r["project"] == "wandb-registry-model" for r in api.registries())


def test_edit_and_delete(online_run: trackwell.Run, trackwell_dir: Path) -> None:
    f = trackwell_dir / "a.txt"
    f.write_text("a")
    art = trackwell.Artifact("edit-me", "dataset")
    art.add_file(f)
    online_run.log_artifact(art, aliases=["keep"]).wait(30)
    api = _api()
    got = api.artifact(f"{online_run.entity}/test/edit-me:v0")
    got.description = "new"
    got.metadata["x"] = 1
    got.aliases.append("golden")
    got.tags = ["t1"]
    got.save()
    again = _api().artifact(f"{online_run.entity}/test/edit-me:golden")
    assert again.description == "new" and again.metadata == {"x": 1} and again.tags == ["t1"]
    with pytest.raises(ArtifactError, match="delete_aliases"):
        again.delete()
    again.delete(delete_aliases=True)
    assert not _api().artifact_exists(f"{online_run.entity}/test/edit-me:v0")
