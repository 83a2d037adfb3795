"""models-docs.md "Registry › Link an artifact version to a registry / Log and link a
model": run.log_model, run.link_model into the model registry, run.use_model."""

import json
import os
from pathlib import Path

import trackwell as wandb

ENTITY = os.environ["CONFORMANCE_ENTITY"]
Path("model.h5").write_text("weights v0")

# Initialize a W&B run
with wandb.init(project="cfm-registry", entity=ENTITY) as run:
    # Log the model
    run.log_model(path="model.h5", name="cfm-classifier", aliases=["baseline"])
    run.link_model(path="model.h5", registered_model_name="CFM Digit Classifier", aliases=["staging"])

# Initialize a run
with wandb.init(project="cfm-registry", entity=ENTITY) as run:
    # Access and download model. Returns path to downloaded artifact
    downloaded_model_path = run.use_model(name="cfm-classifier:baseline")
    content = (
        (Path(downloaded_model_path) / "model.h5").read_text()
        if os.path.isdir(downloaded_model_path)
        else Path(downloaded_model_path).read_text()
    )

api = wandb.Api()
linked = api.artifact(f"{ENTITY}/model-registry/CFM Digit Classifier:staging")
print(
    json.dumps(
        {
            "checks": {
                "downloaded": [content, "weights v0"],
                "linked type": [linked.type, "model"],
            }
        }
    )
)
