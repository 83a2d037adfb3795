"""Run files, projects and the viewer through the server-backed Public API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell.api.remote import ServerApi
from trackwell.errors import NotFoundError

FILES = {
    "config.yaml": b"lr:\n  value: 0.1\n",
    "metadata.json": b'{"program": "train.py", "args": ["--fast"]}',
    "ckpt/model.bin": bytes(range(256)) * 10,
}


@pytest.fixture(scope="module")
def with_files(seed: Any) -> None:
    seed.run("artifacts", "withfiles", rows=[{"x": 1.0}], files=FILES)


def test_files_list_and_download(api: ServerApi, with_files: None, tmp_path: Path) -> None:
    run = api.run("analyst/artifacts/withfiles")
    files = {f.name: f for f in run.files()}
    assert set(files) == set(FILES)
    assert files["ckpt/model.bin"].size == 2560 and files["ckpt/model.bin"].sha256
    for name, data in FILES.items():
        files[name].download(root=str(tmp_path)).close()
        assert (tmp_path / name).read_bytes() == data
    # W&B's recipe for the command a run ran: a .json file stays bytes, not a parsed dict
    meta = json.load(run.file("metadata.json").download(root=str(tmp_path / "again")))
    assert meta["program"] == "train.py"


def test_download_refuses_to_overwrite_unless_asked(api: ServerApi, with_files: None, tmp_path: Path) -> None:
    file = api.run("analyst/artifacts/withfiles").file("config.yaml")
    (tmp_path / "config.yaml").write_text("mine")
    with pytest.raises(FileExistsError):
        file.download(root=str(tmp_path))
    with file.download(root=str(tmp_path), exist_ok=True) as fh:
        assert fh.read() == "mine"
    with file.download(root=str(tmp_path), replace=True) as fh:
        assert fh.read() == FILES["config.yaml"].decode()


def test_files_by_name_and_missing_file(api: ServerApi, with_files: None) -> None:
    run = api.run("analyst/artifacts/withfiles")
    assert [f.name for f in run.files(names=["config.yaml", "nope"])] == ["config.yaml"]
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        run.file("nope.txt")


def test_upload_file_to_a_finished_run(api: ServerApi, seed: Any, tmp_path: Path) -> None:
    seed.run("artifacts", "uploads", rows=[{"x": 1.0}])
    run = api.run("analyst/artifacts/uploads")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("looks good")
    big = bytes(range(256)) * (17 * 4096)  # 17 MiB: over one part, so it goes up in two
    (tmp_path / "big.bin").write_bytes(big)
    stored = run.upload_file(str(tmp_path / "results" / "notes.txt"), root=str(tmp_path))
    assert stored.name == "results/notes.txt" and stored.size == 10
    assert run.upload_file(str(tmp_path / "big.bin"), root=str(tmp_path)).size == len(big)
    assert {f.name for f in run.files()} == {"results/notes.txt", "big.bin"}
    assert run.file("big.bin").read_bytes() == big
    with pytest.raises(trackwell.UsageError, match="under root"):
        run.upload_file(str(tmp_path / "big.bin"), root=str(tmp_path / "results"))


def test_system_metrics(api: ServerApi, seed: Any) -> None:
    seed.run("artifacts", "sysm", rows=[{"x": 1.0}], stats=[{"system/cpu": 5.0}, {"system/cpu": 7.0}])
    assert api.run("analyst/artifacts/sysm").system_metrics["system/cpu"] == 7.0


def test_projects(api: ServerApi, with_files: None, seed: Any) -> None:
    seed.run("listed", "one")
    seed.run("listed", "two")
    projects = {p.name: p for p in api.projects()}
    assert {"artifacts", "listed"} <= set(projects)
    assert projects["listed"].run_count == 2 and projects["listed"].entity == "analyst"
    project = api.project("listed")
    assert project.path == ["analyst", "listed"]
    assert sorted(r.id for r in project.runs()) == ["one", "two"]
    assert {p.name for p in api.projects(entity="analyst")} == set(projects)
    with pytest.raises(NotFoundError, match="nope"):
        api.project("nope")


def test_viewer(api: ServerApi) -> None:
    assert api.viewer.username == "analyst" and api.viewer.entity == "analyst"
    assert api.viewer.admin is False and api.default_entity == "analyst"
