"""Names as W&B takes them, against a real server: tags, registries and collections with spaces.

W&B's registry docs use ``REGISTRY = "Fine-tuned Models"`` and its tags are words separated
by spaces ("best model"); the server answered 422 to both. A link that fails for good must
reach the user at ``finish()`` (not only the process's own stderr), and the script's exit
code stays its own, as in W&B.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import trackwell as wandb


def _model_file(tmp_path: Path) -> str:
    path = tmp_path / "model.txt"
    path.write_text("weights")
    return str(path)


def test_tags_registry_and_collection_names_with_spaces(trackwell_online_dir: Path, tmp_path: Path) -> None:
    run = wandb.init(project="names")
    art = wandb.Artifact("my-model", type="model")
    art.add_file(_model_file(tmp_path))
    art.tags = ["best model", "v1.0"]
    run.log_artifact(art)
    run.link_artifact(art, "wandb-registry-Fine-tuned Models/phi3 finetuned", aliases=["production"])
    run.finish()

    api = wandb.Api()
    logged = api.artifact(f"{run.entity}/names/my-model:latest")
    assert logged.tags == ["best model", "v1.0"]
    linked = api.artifact("wandb-registry-Fine-tuned Models/phi3 finetuned:production")
    assert linked.name == "phi3 finetuned:v0"
    assert "production" in linked.aliases
    assert Path(linked.download(), "model.txt").read_text() == "weights"

    collection = api.artifact_collection("model", "wandb-registry-Fine-tuned Models/phi3 finetuned")
    assert collection.name == "phi3 finetuned"
    assert collection.version_count == 1
    collection.tags = ["needs review"]
    collection.save()
    collection.tags += ["ready to ship"]
    collection.save()
    again = api.artifact_collection("model", "wandb-registry-Fine-tuned Models/phi3 finetuned")
    assert again.tags == ["needs review", "ready to ship"]
    again.tags = []  # deletes all tags, as in W&B's docs
    again.save()
    assert api.artifact_collection("model", "wandb-registry-Fine-tuned Models/phi3 finetuned").tags == []


def test_tag_rule_is_w_and_bs(trackwell_online_dir: Path) -> None:
    art = wandb.Artifact("data", type="dataset")
    for bad in ("a/b", "x:y", " lead", "trail ", ""):
        with pytest.raises(ValueError):
            art.tags = [bad]
    art.tags = ["two  spaces", "under_score"]
    assert art.tags == ["two  spaces", "under_score"]


def test_failed_link_is_reported_at_finish(
    trackwell_online_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = wandb.init(project="names")
    art = wandb.Artifact("bad-link", type="model")
    art.add_file(_model_file(tmp_path))
    run.link_artifact(art, "wandb-registry-model/ no leading space")
    capsys.readouterr()
    run.finish()
    err = capsys.readouterr().err
    assert "ERROR artifact link to 'wandb-registry-model/ no leading space' failed" in err
    assert "422" in err or "invalid" in err
    assert wandb.Api().artifact(f"{run.entity}/names/bad-link:latest").version == "v0"


def test_failed_link_keeps_the_scripts_exit_code(trackwell_online_dir: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import trackwell as wandb
        run = wandb.init(project="names")
        art = wandb.Artifact("exit-code", type="model")
        art.add_file({_model_file(tmp_path)!r})
        run.link_artifact(art, "wandb-registry-model/trailing space ")
        run.finish()
        """
    )
    env: dict[str, Any] = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("ERROR artifact link to 'wandb-registry-model/trailing space ' failed") == 1
    assert "ERROR 1 artifact job(s) failed for good; see above" in done.stderr
