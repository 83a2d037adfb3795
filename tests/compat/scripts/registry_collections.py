"""models-docs.md "Registry › Link an artifact version to a registry / Download and use
an artifact from a registry / Annotate collections / Organize versions with tags":
link_artifact to "wandb-registry-<registry>/<collection>", use it back, tag the version,
find it with api.artifacts(tags=...), describe and tag the collection."""

import json
import os
from pathlib import Path

import trackwell as wandb

ENTITY = os.environ["CONFORMANCE_ENTITY"]
Path("weights.bin").write_bytes(b"\x01\x02")

# Initialize a run
run = wandb.init(entity=ENTITY, project="cfm-registry-coll")
# Create an artifact object
artifact = wandb.Artifact(name="cfm-model", type="model")
artifact.add_file("weights.bin")
registry_name = "model"
collection_name = "cfm-collection"
target_path = f"wandb-registry-{registry_name}/{collection_name}"
# Link the artifact to a collection
run.link_artifact(artifact=artifact, target_path=target_path)
run.finish()

run = wandb.init(entity=ENTITY, project="cfm-registry-coll")
artifact_name = f"wandb-registry-{registry_name}/{collection_name}:latest"
fetched_artifact = run.use_artifact(artifact_or_name=artifact_name)
download_path = fetched_artifact.download()
artifact = run.use_artifact(artifact_or_name=f"wandb-registry-{registry_name}/{collection_name}:v0")
artifact.tags = ["tag2"]  # Provide one or more tags in a list
artifact.save()
run.finish()

api = wandb.Api()
tagged_artifact_versions = api.artifacts(
    type_name="model", name=f"wandb-registry-{registry_name}/{collection_name}", tags=["tag2"]
)
collection = api.artifact_collection(
    type_name="model", name=f"wandb-registry-{registry_name}/{collection_name}"
)
collection.description = "This is a description."
collection.tags = ["your-tag"]
collection.save()
again = wandb.Api().artifact_collection(
    type_name="model", name=f"wandb-registry-{registry_name}/{collection_name}"
)

print(
    json.dumps(
        {
            "checks": {
                "downloaded": [Path(download_path, "weights.bin").read_bytes().hex(), "0102"],
                "tagged versions": [[a.version for a in tagged_artifact_versions], ["v0"]],
                "description": [again.description, "This is a description."],
                "collection tags": [list(again.tags), ["your-tag"]],
            }
        }
    )
)
