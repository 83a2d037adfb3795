"""skill-guide.md "Model Checkpointing › Save model as artifact" with "Offline Mode":
an artifact logged by an offline run travels with it and is uploaded by ``sync``."""

import json
from pathlib import Path

import trackwell as wandb

Path("model.pt").write_bytes(b"\x00weights")
run = wandb.init(project="cfm-artifact-log")
artifact = wandb.Artifact("model", type="model")
artifact.add_file("model.pt")
run.log_artifact(artifact, aliases=["latest", "best"])
run.log({"val_loss": 0.25})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {"val_loss": 0.25},
            "logged_artifacts": {"model": {"type": "model", "files": ["model.pt"]}},
        }
    )
)
