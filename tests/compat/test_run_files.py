"""The run files where W&B users look for them, uploaded and read back through the Public API.

W&B keeps ``wandb-metadata.json``, ``wandb-summary.json``, ``config.yaml``, ``output.log``
and ``requirements.txt`` (saved by default) in each run's files; scripts and notebooks
read them with ``api.run(path).files()`` / ``file.download()``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import trackwell as wandb


def test_online_run_files_listed_and_downloaded(trackwell_online_dir: Path, tmp_path: Path) -> None:
    run = wandb.init(project="run-files", config={"lr": 0.01, "layers": 3})
    print("hello from the script")
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish()

    api = wandb.Api()
    remote = api.run(f"{run.entity}/run-files/{run.id}")
    names = {f.name for f in remote.files()}
    assert {
        "wandb-metadata.json",
        "wandb-summary.json",
        "config.yaml",
        "output.log",
        "requirements.txt",
    } <= names

    def read(name: str) -> str:
        with remote.file(name).download(root=str(tmp_path), replace=True) as fh:
            return str(fh.read())

    meta = json.loads(read("wandb-metadata.json"))
    assert meta["python"] == f"{platform.python_implementation()} {platform.python_version()}"
    assert meta["executable"] == sys.executable
    assert meta["startedAt"].endswith("Z")
    summary = json.loads(read("wandb-summary.json"))
    assert summary["loss"] == 1.0 / 3
    assert summary["_step"] == 2
    config = read("config.yaml")
    assert "lr:" in config and "0.01" in config
    assert "hello from the script" in read("output.log")
    assert f"pytest=={version('pytest')}" in read("requirements.txt").splitlines()


def test_launch_command_from_metadata_as_in_the_docs(
    trackwell_online_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [sys.argv[0], "--epochs", "3"])
    live = wandb.init(project="run-files")
    live.finish()

    api = wandb.Api()
    run = api.run(f"{live.entity}/run-files/{live.id}")
    meta = json.load(run.file("wandb-metadata.json").download())
    program = ["python"] + [meta["program"]] + meta["args"]
    assert program[-2:] == ["--epochs", "3"]
    assert program[1] == os.path.abspath(sys.modules["__main__"].__file__ or "")
