"""Offline runs synced later, references to http(s):// and file://, and files that change before upload."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell._pipeline.sync import LocalRun, sync_run
from trackwell._pipeline.transport import Transport


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local http.server serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_offline_then_sync(trackwell_online_dir: Path, trackwell_server: Any) -> None:
    data = trackwell_online_dir / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    run = trackwell.init(project="offl", mode="offline")
    art = trackwell.Artifact("offds", "dataset")
    art.add_dir(data)
    run.log_artifact(art, aliases=["fresh"])
    run.link_artifact(art, "wandb-registry-dataset/golden")
    (data / "a.txt").write_text("b")
    art2 = trackwell.Artifact("offds", "dataset")
    art2.add_dir(data)
    run.log_artifact(art2)
    run.finish()
    up = sync_run(LocalRun(run._run_dir), Transport(trackwell_server.url, trackwell_server.admin_key))
    assert up.error is None and up.done
    api = trackwell.Api()
    entity = api.default_entity
    v0 = api.artifact(f"{entity}/offl/offds:fresh")
    assert v0.version == "v0"
    assert api.artifact(f"{entity}/offl/offds:latest").version == "v1"
    root = v0.download(trackwell_online_dir / "out")
    assert Path(root, "a.txt").read_text() == "a"
    assert api.artifact(f"{entity}/wandb-registry-dataset/golden:latest").source_name == "offds:v0"
    # syncing again changes nothing
    sync_run(LocalRun(run._run_dir), Transport(trackwell_server.url, trackwell_server.admin_key))
    assert api.artifact_collection("dataset", f"{entity}/offl/offds").version_count == 2
    assert [a.version for a in api.artifacts("dataset", f"{entity}/offl/offds")] == ["v1", "v0"]


def test_http_and_file_references(
    online_run: trackwell.Run, http_root: tuple[str, Path], trackwell_dir: Path
) -> None:
    url, www = http_root
    (www / "weights.bin").write_bytes(b"w" * 1000)
    local = trackwell_dir / "local.txt"
    local.write_text("local data")
    art = trackwell.Artifact("refs", "dataset")
    art.add_reference(f"{url}/weights.bin")
    art.add_reference(local.as_uri(), name="l.txt")
    online_run.log_artifact(art).wait(30)
    got = trackwell.Api().artifact(f"{online_run.entity}/test/refs:v0")
    assert got.get_entry("weights.bin").ref == f"{url}/weights.bin"
    assert got.get_entry("weights.bin").size == 1000
    root = got.download(trackwell_dir / "dl")
    assert Path(root, "weights.bin").read_bytes() == b"w" * 1000
    assert Path(root, "l.txt").read_text() == "local data"
    (www / "weights.bin").unlink()
    with pytest.raises(trackwell.UsageError, match="could not be fetched"):
        got.download(trackwell_dir / "dl2", skip_cache=True)
    got.download(trackwell_dir / "dl3", skip_cache=True, allow_missing_references=True)
    assert not Path(trackwell_dir / "dl3" / "weights.bin").exists()


def test_immutable_file_changed_before_upload_fails_clearly(
    online_run: trackwell.Run, trackwell_dir: Path
) -> None:
    src = trackwell_dir / "big.bin"
    src.write_bytes(b"x" * 1000)
    art = trackwell.Artifact("imm", "dataset")
    art.add_file(src, policy="immutable")
    src.write_bytes(b"y" * 2000)
    online_run.log_artifact(art)
    with pytest.raises(trackwell.UsageError, match="changed after it was added"):
        art.wait(30)
    ok = trackwell.Artifact("imm", "dataset")  # the run's uploads go on
    ok.add_file(src)
    assert online_run.log_artifact(ok).wait(30).version == "v0"
