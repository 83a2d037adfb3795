"""More of W&B's artifact and Public API surface, written as W&B user code, against a real server:
``Artifact.save()`` with no run, ``Artifact.link()``, and lineage recorded on a Public API run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import trackwell as wandb


@pytest.fixture
def project() -> str:
    """A project of this test's own on the session's server."""
    return f"papi2-{uuid.uuid4().hex[:8]}"


def _dataset(tmp_path: Path, name: str, text: str) -> wandb.Artifact:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    art = wandb.Artifact(name, type="dataset")
    art.add_file(str(path), name="data.csv")
    return art


def test_artifact_save_without_a_run(trackwell_online_dir: Path, tmp_path: Path, project: str) -> None:
    assert wandb.run is None
    art = _dataset(tmp_path, "saved", "a,b\n1,2\n")
    art.save(project=project)
    assert wandb.run is None  # the run W&B starts for it is finished again
    assert art.version == "v0"
    api = wandb.Api()
    stored = api.artifact(f"{project}/saved:latest")
    assert stored.type == "dataset"
    assert Path(stored.file(str(tmp_path / "dl"))).read_text() == "a,b\n1,2\n"
    creator = stored.logged_by()
    assert creator is not None and creator.job_type == "auto"


def test_link_a_public_api_artifact_and_a_run_artifact(
    trackwell_online_dir: Path, tmp_path: Path, project: str
) -> None:
    with wandb.init(project=project) as run:
        logged = run.log_artifact(_dataset(tmp_path, "train", "x\n1\n"))
        logged.wait()
        linked = logged.link(f"{project}/golden", aliases=["best"])
        assert linked is not None
    assert linked.name == "golden:v0"

    api = wandb.Api()
    fetched = api.artifact(f"{project}/train:v0")
    fetched.link("wandb-registry-dataset/Training sets", aliases=["production"])

    golden = api.artifact(f"{project}/golden:best")
    assert golden.digest == fetched.digest
    in_registry = api.artifact(f"{run.entity}/wandb-registry-dataset/Training sets:production")
    assert in_registry.digest == fetched.digest
    assert Path(in_registry.file(str(tmp_path / "reg"))).read_text() == "x\n1\n"


def test_link_a_draft_links_it_once_logged(trackwell_online_dir: Path, tmp_path: Path, project: str) -> None:
    with wandb.init(project=project):
        draft = _dataset(tmp_path, "fresh", "y\n2\n")
        assert draft.link(f"{project}/picked", aliases=["candidate"]) is None
    api = wandb.Api()
    assert api.artifact(f"{project}/picked:candidate").digest == api.artifact(f"{project}/fresh:v0").digest


def test_use_and_log_artifact_on_a_finished_api_run(
    trackwell_online_dir: Path, tmp_path: Path, project: str
) -> None:
    with wandb.init(project=project, job_type="prep") as producer:
        producer.log_artifact(_dataset(tmp_path, "raw", "r\n1\n"))
    with wandb.init(project=project, job_type="train") as trainer:
        trainer.log({"loss": 0.5})

    api = wandb.Api()
    run = api.run(f"{trainer.entity}/{project}/{trainer.id}")
    raw = api.artifact(f"{project}/raw:v0")
    assert run.use_artifact(raw) is raw
    run.use_artifact(raw)  # once per run and version, as W&B
    assert [a.name for a in api.run(f"{trainer.entity}/{project}/{trainer.id}").used_artifacts()] == [
        "raw:v0"
    ]
    assert [r.id for r in api.artifact(f"{project}/raw:v0").used_by()] == [trainer.id]

    # the same contents keep their version and first logger; the aliases are added
    run.log_artifact(raw, aliases=["reviewed"], tags=["checked"])
    again = api.artifact(f"{project}/raw:reviewed")
    assert again.version == "v0" and "checked" in again.tags
    assert again.logged_by().id == producer.id

    # an older version logged again becomes the newest, a version of this run
    with wandb.init(project=project) as later:
        later.log_artifact(_dataset(tmp_path, "raw", "r\n2\n"))
    run.log_artifact(api.artifact(f"{project}/raw:v0"), aliases=["restored"])
    restored = api.artifact(f"{project}/raw:latest")
    assert restored.version == "v2" and "restored" in restored.aliases
    assert restored.digest == again.digest
    assert restored.logged_by().id == trainer.id
    assert [a.version for a in api.run(f"{trainer.entity}/{project}/{trainer.id}").logged_artifacts()] == [
        "v2"
    ]

    with pytest.raises(ValueError, match="existing artifacts"):
        run.log_artifact(_dataset(tmp_path, "draft", "d\n"))


def test_local_controller_drives_a_sweep(
    trackwell_online_dir: Path, project: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # models-docs.md "Search and stop algorithms locally": wandb.controller(sweep_id), step() in a loop
    sweep_config = {
        "method": "grid",
        "controller": {"type": "local"},
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"lr": {"values": [0.1, 0.01, 0.001]}},
    }
    sweep_id = wandb.sweep(sweep_config, project=project)

    def train() -> None:
        with wandb.init() as run:
            run.log({"loss": run.config.lr * 10})

    sweep = wandb.controller(sweep_id)
    assert sweep.sweep_config["method"] == "grid"
    while not sweep.done():
        sweep.print_status()
        sweep.step()
        sweep.print_actions()
        if not sweep.done():
            wandb.agent(sweep_id, function=train, count=1)
    out = capsys.readouterr().out
    assert f"Sweep: {sweep_id} (grid)" in out and "Action: scheduled" in out

    api = wandb.Api()
    swept = api.sweep(f"{project}/{sweep_id}")
    assert sorted(r.config["lr"] for r in swept.runs) == [0.001, 0.01, 0.1]
    assert swept.best_run().config["lr"] == 0.001
    assert swept.state == "FINISHED"


def test_controller_configured_in_code_with_search_and_schedule(
    trackwell_online_dir: Path, project: str
) -> None:
    # "If you want to specify your sweep entirely with code" and "more control over the parameters served"
    sweep = wandb.controller(project=project)
    sweep.configure_search("grid")
    sweep.configure_controller(type="local")
    sweep.configure_metric("acc", goal="maximize")
    sweep.configure_parameter("param1", values=[1, 2])
    sweep.configure_parameter("param2", value=3)
    sweep_id = sweep.create()

    seen = []

    def train() -> None:
        with wandb.init() as run:
            seen.append((run.config.param1, run.config.param2))
            run.log({"acc": run.config.param1 / 10})

    while not sweep.done():
        params = sweep.search()
        if sweep.schedule(params) is not None:
            wandb.agent(sweep_id, function=train, project=project, count=1)
    assert seen == [(1, 3), (2, 3)]
    runs = wandb.Api().sweep(f"{project}/{sweep_id}").runs
    assert sorted(r.summary["acc"] for r in runs) == [0.1, 0.2]
    with pytest.raises(wandb.UsageError, match="locally"):
        wandb.controller(project=project).configure_controller(type="cloud")


def test_artifact_save_without_a_run_offline(trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    (trackwell_dir / "labels.csv").write_text("id,label\n1,cat\n")
    art = wandb.Artifact("labels", type="dataset")
    art.add_file("labels.csv")
    art.save(project="save-offline")
    assert wandb.run is None and not art.is_draft()
    runs = wandb.Api().runs("save-offline")
    assert [r.job_type for r in runs] == ["auto"]
    # the offline run holds the artifact for `trackwell sync` to upload
    (manifest,) = (trackwell_dir / "trackwell").glob("offline-run-*/artifacts/*/manifest.json")
    assert list(json.loads(manifest.read_text())["entries"]) == ["labels.csv"]
