"""models-docs.md "Artifacts › Create an artifact / Download and use an artifact" and
skill-guide.md "Model Checkpointing": log a dataset artifact with a file and a directory,
a new version with an alias, then use it from another run and download it."""

import json
import os
from pathlib import Path

import trackwell as wandb

ENTITY = os.environ["CONFORMANCE_ENTITY"]  # the docs' "<entity>"
Path("data").mkdir(exist_ok=True)
Path("data/train.csv").write_text("x,y\n1,2\n")
Path("labels.txt").write_text("cat\ndog\n")

with wandb.init(project="cfm-artifacts", job_type="upload") as run:
    artifact = wandb.Artifact(name="mnist", type="dataset", description="tiny", metadata={"rows": 1})
    artifact.add_dir("data", name="splits")
    artifact.add_file(local_path="labels.txt")
    run.log_artifact(artifact)

Path("labels.txt").write_text("cat\ndog\nbird\n")
with wandb.init(project="cfm-artifacts", job_type="upload") as run:
    artifact = wandb.Artifact(name="mnist", type="dataset")
    artifact.add_file("labels.txt")
    run.log_artifact(artifact, aliases=["best"])

with wandb.init(project="cfm-artifacts", job_type="train") as run:
    used = run.use_artifact("mnist:v0")
    datadir = used.download(root="downloaded-v0")
    train = (Path(datadir) / "splits" / "train.csv").read_text()
    best = run.use_artifact(f"{ENTITY}/cfm-artifacts/mnist:best")
    labels = (Path(best.download(root="downloaded-best")) / "labels.txt").read_text()
    consumer = run

api = wandb.Api()
v0 = api.artifact(f"{ENTITY}/cfm-artifacts/mnist:v0")
v1 = api.artifact("cfm-artifacts/mnist:latest")
print(
    json.dumps(
        {
            "checks": {
                "train.csv": [train, "x,y\n1,2\n"],
                "labels best": [labels, "cat\ndog\nbird\n"],
                "v0 metadata": [v0.metadata, {"rows": 1}],
                "v0 type": [v0.type, "dataset"],
                "v1 version": [v1.version, "v1"],
                "v1 aliases": [sorted(v1.aliases), ["best", "latest"]],
                "v0 files": [sorted(f.name for f in v0.files()), ["labels.txt", "splits/train.csv"]],
                "used by consumer": [[r.id for r in v0.used_by()], [consumer.id]],
            },
        }
    )
)
