"""models-docs.md "Save files" (wandb.save with a glob and base_path) and the run's
Files tab, read back with run.files()."""

import json
import os

import trackwell as wandb

run = wandb.init(project="cfm-save")
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.ckpt", "w") as f:
    f.write("weights")
wandb.save("outputs/*.ckpt", base_path=".")
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "files": {"outputs/model.ckpt": "weights"},
        }
    )
)
