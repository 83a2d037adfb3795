"""Building artifacts in this process: entries, digests, bad input, and what an offline run records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trackwell
from trackwell._pipeline import runlog
from trackwell.artifacts import ArtifactError


def _files(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"f{i}.txt").write_text(f"content {i}\n")
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "deep.bin").write_bytes(b"\x00\x01" * 100)
    return root


def test_entries_sizes_and_digest(trackwell_dir: Path) -> None:
    data = _files(trackwell_dir / "data")
    a = trackwell.Artifact("ds", "dataset", description="d", metadata={"k": 1})
    a.add_dir(data)
    assert sorted(a.manifest.entries) == ["f0.txt", "f1.txt", "f2.txt", "sub/deep.bin"]
    assert a.get_entry("sub/deep.bin").size == 200
    assert a.size == 200 + 3 * len("content 0\n")
    b = trackwell.Artifact("ds", "dataset")
    for p in sorted(data.rglob("*")):
        if p.is_file():
            b.add_file(p, p.relative_to(data).as_posix())
    assert a.digest == b.digest  # same content, same digest, whatever the order of adding
    (data / "f0.txt").write_text("changed\n")
    c = trackwell.Artifact("ds", "dataset")
    c.add_dir(data)
    assert c.digest != a.digest
    assert a.is_draft() and a.name == "ds"


def test_mutable_copy_is_snapshot(trackwell_dir: Path) -> None:
    src = trackwell_dir / "model.bin"
    src.write_bytes(b"v1")
    a = trackwell.Artifact("m", "model")
    entry = a.add_file(src)
    src.write_bytes(b"v2 changed")
    assert entry.size == 2
    assert a._read("model.bin") == b"v1"


def test_new_file_remove_and_get_entry(trackwell_dir: Path) -> None:
    a = trackwell.Artifact("t", "dataset")
    with a.new_file("notes/readme.txt") as fh:
        fh.write("hello")
    assert a.get_entry("notes/readme.txt").size == 5
    a.remove("notes")
    assert a.manifest.entries == {}
    with pytest.raises(FileNotFoundError):
        a.remove("nothing")
    with pytest.raises(KeyError, match="no entry"):
        a.get_entry("nothing")


@pytest.mark.parametrize("name", ["../evil.txt", "/abs.txt", "a/../../b", ""])
def test_bad_entry_names(trackwell_dir: Path, name: str) -> None:
    src = trackwell_dir / "x.txt"
    src.write_text("x")
    a = trackwell.Artifact("t", "dataset")
    with pytest.raises(ArtifactError):
        a.add_file(src, name=name)
    assert a.manifest.entries == {}


def test_bad_input_messages(trackwell_dir: Path) -> None:
    with pytest.raises(ArtifactError, match="invalid artifact name"):
        trackwell.Artifact("bad:name", "dataset")
    a = trackwell.Artifact("t", "dataset")
    with pytest.raises(ArtifactError, match="no such file"):
        a.add_file(trackwell_dir / "missing.txt")
    with pytest.raises(ArtifactError, match="not a directory"):
        a.add_dir(trackwell_dir / "missing")
    with pytest.raises(ArtifactError, match="policy"):
        a.add_file(__file__, policy="sometimes")
    src = trackwell_dir / "x.txt"
    src.write_text("x")
    a.add_file(src)
    src.write_text("y")
    with pytest.raises(ArtifactError, match="already has an entry"):
        a.add_file(src)
    a.add_file(src, overwrite=True)
    assert a.get_entry("x.txt").size == 1
    with pytest.raises(ArtifactError, match="not reachable"):
        a.add_reference("http://127.0.0.1:9/nothing")
    with pytest.raises(ArtifactError, match="no such file"):
        a.add_reference((trackwell_dir / "gone").as_uri())
    with pytest.raises(ArtifactError, match="unsupported scheme"):
        a.add_reference("ftp://example.com/x")
    with pytest.raises(ArtifactError, match="not logged"):
        a.download()


def test_file_reference(trackwell_dir: Path) -> None:
    data = _files(trackwell_dir / "data")
    a = trackwell.Artifact("refs", "dataset")
    a.add_reference(data.as_uri(), name="d")
    assert sorted(a.manifest.entries) == ["d/f0.txt", "d/f1.txt", "d/f2.txt", "d/sub/deep.bin"]
    e = a.get_entry("d/f0.txt")
    assert e.ref == (data / "f0.txt").resolve().as_uri() and e.digest is not None
    with pytest.raises(ArtifactError, match="max_objects"):
        trackwell.Artifact("r2", "dataset").add_reference(data.as_uri(), max_objects=2)


def test_offline_log_stages_into_run_dir(offline_run: trackwell.Run, trackwell_dir: Path) -> None:
    data = _files(trackwell_dir / "data")
    a = trackwell.Artifact("ds", "dataset")
    a.add_dir(data)
    assert offline_run.log_artifact(a, aliases=["best"]) is a
    assert not a.is_draft()
    with pytest.raises(ArtifactError, match="already logged"):
        a.add_file(data / "f0.txt", name="again.txt")
    with pytest.raises(ArtifactError, match="trackwell sync"):
        a.wait()
    offline_run.finish()
    records = [
        r for r in runlog.read_log(next(offline_run._run_dir.glob("*.twlog"))).records if r.kind == "artifact"
    ]
    assert len(records) == 1 and records[0].body["aliases"] == ["best"]
    staging = offline_run._run_dir / records[0].body["staging"]
    manifest = json.loads((staging / "manifest.json").read_text())
    assert sorted(manifest["entries"]) == ["f0.txt", "f1.txt", "f2.txt", "sub/deep.bin"]
    for e in manifest["entries"].values():
        assert (staging / e["local"]).is_file()


def test_use_by_name_offline_is_a_clear_error(offline_run: trackwell.Run) -> None:
    with pytest.raises(ArtifactError, match="offline"):
        offline_run.use_artifact("ds:latest")


def test_module_level_callables(trackwell_dir: Path) -> None:
    with pytest.raises(trackwell.UsageError, match="init"):
        trackwell.log_artifact("x")
    run = trackwell.init(project="p", mode="offline")
    try:
        src = trackwell_dir / "m.bin"
        src.write_bytes(b"m")
        art = trackwell.log_model(src)
        assert art.type == "model" and art.collection_name == f"run-{run.id}-m.bin"
    finally:
        run.finish()


def test_local_api_says_artifacts_need_a_server(offline_run: trackwell.Run, trackwell_dir: Path) -> None:
    offline_run.finish()
    with pytest.raises(trackwell.UsageError, match="trackwell sync"):
        trackwell.Api(root=trackwell_dir).artifact("ds:latest")
