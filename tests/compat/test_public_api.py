"""W&B's Public API (``wandb.Api()``) as its docs use it, against a real server, values read back."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest

import trackwell as wandb


@pytest.fixture
def project() -> str:
    """A project of this test's own on the session's server."""
    return f"papi-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def logged(trackwell_online_dir: Path, tmp_path: Path, project: str) -> wandb.Run:
    """A finished online run of ``project`` that logged two versions of a dataset."""
    run = wandb.init(project=project, config={"lr": 0.1})
    for step in range(3):
        run.log({"loss": 1.0 - step / 10})
    for i in range(2):
        path = tmp_path / f"data{i}.csv"
        path.write_text(f"a,b\n{i},{i + 1}\n")
        art = wandb.Artifact("dataset", type="dataset")
        art.add_file(str(path), name="data.csv")
        if i == 1:
            art.tags = ["clean data"]
        run.log_artifact(art)
    run.finish()
    return run


def test_summary_of_an_api_run_takes_arrays_and_histograms(project: str, logged: wandb.Run) -> None:
    api = wandb.Api()
    run = api.run(f"{logged.entity}/{project}/{logged.id}")
    run.summary["weights"] = np.arange(4, dtype=np.float32)
    run.summary.update({"hist": wandb.Histogram(np.arange(10)), "best": 0.5})
    again = wandb.Api().run(f"{logged.entity}/{project}/{logged.id}")
    assert again.summary["best"] == 0.5
    assert again.summary["loss"] == pytest.approx(0.8)
    assert list(again.summary["weights"]) == [0.0, 1.0, 2.0, 3.0]
    hist = again.summary["hist"]
    assert hist["_type"] == "histogram"
    assert sum(hist["values"]) == 10


def test_file_delete(project: str, logged: wandb.Run, tmp_path: Path) -> None:
    api = wandb.Api()
    run = api.run(f"{logged.entity}/{project}/{logged.id}")
    note = tmp_path / "notes.txt"
    note.write_text("to delete")
    run.upload_file(str(note), root=str(tmp_path))
    assert "notes.txt" in {f.name for f in api.run(f"{logged.entity}/{project}/{logged.id}").files()}
    run.file("notes.txt").delete()
    assert "notes.txt" not in {
        f.name for f in wandb.Api().run(f"{logged.entity}/{project}/{logged.id}").files()
    }


def test_project_artifact_types_and_versions(project: str, logged: wandb.Run) -> None:
    api = wandb.Api()
    types = api.project(name=project, entity=logged.entity).artifact_types()
    assert [t.name for t in types] == ["dataset"]
    versions = api.artifact_versions("dataset", f"{logged.entity}/{project}/dataset")
    assert sorted(a.version for a in versions) == ["v0", "v1"]
    tagged = api.artifacts(
        type_name="dataset", name=f"{logged.entity}/{project}/dataset", tags=["clean data"]
    )
    assert [a.version for a in tagged] == ["v1"]
    every = api.artifacts("dataset", f"{logged.entity}/{project}/dataset")
    assert (every.length, every.more, every.cursor) == (2, False, None)
    collections = api.artifact_collections(f"{logged.entity}/{project}", "dataset")
    assert [c.name for c in collections] == ["dataset"] and collections.length == 1
    assert project in [p.name for p in api.projects(logged.entity)]


def test_artifact_file_and_absolute_download_paths(project: str, logged: wandb.Run, tmp_path: Path) -> None:
    os.chdir(tmp_path)
    art = wandb.Api().artifact(f"{logged.entity}/{project}/dataset:v0")
    root = art.download()
    assert os.path.isabs(root)
    assert Path(root, "data.csv").read_text() == "a,b\n0,1\n"
    one = art.file()
    assert os.path.isabs(one)
    assert Path(one).name == "data.csv"
    assert Path(one).read_text() == "a,b\n0,1\n"


def test_runs_paginator(project: str, logged: wandb.Run) -> None:
    for i in range(3):
        wandb.init(project=project, name=f"extra-{i}", mode="online").finish()
    api = wandb.Api()
    runs = api.runs(f"{logged.entity}/{project}", order="+created_at", per_page=2)
    assert runs.length == 4
    assert len(runs) == 4
    names = [r.name for r in runs]
    assert names[1:] == ["extra-0", "extra-1", "extra-2"]
    assert runs.more is False
    newest_first = api.runs(f"{logged.entity}/{project}", order="-created_at", per_page=2)
    assert newest_first[0].name == "extra-2"
    assert newest_first.more is True
    assert newest_first.cursor is not None


def test_artifact_getitem_setitem(trackwell_online_dir: Path, project: str) -> None:
    run = wandb.init(project=project)
    art = wandb.Artifact("results", type="eval")
    art["predictions"] = wandb.Table(columns=["id", "score"], data=[[1, 0.5], [2, 0.75]])
    art["scores"] = wandb.Histogram([1, 2, 2, 3], num_bins=3)
    run.log_artifact(art)
    run.finish()

    stored = wandb.Api().artifact(f"{run.entity}/{project}/results:latest")
    table = stored["predictions"]
    assert table.columns == ["id", "score"]
    assert table.data == [[1, 0.5], [2, 0.75]]
    assert sum(stored["scores"].histogram) == 4
    assert stored["missing"] is None


def test_large_array_in_summary_is_a_histogram(project: str, logged: wandb.Run) -> None:
    run = wandb.Api().run(f"{logged.entity}/{project}/{logged.id}")
    run.summary.update({"big": np.ones(100)})
    hist = wandb.Api().run(f"{logged.entity}/{project}/{logged.id}").summary["big"]
    assert hist["_type"] == "histogram"
    assert len(hist["values"]) == 32
    assert sum(hist["values"]) == 100
