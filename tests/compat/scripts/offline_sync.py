"""skill-guide.md "Offline Mode" and models-docs.md "Run offline / wandb sync": a run
in mode="offline" then uploaded with the sync command (`wandb sync ./wandb/offline-run-*`)."""

import glob
import json
import subprocess
import sys

import trackwell as wandb

# Run without internet
run = wandb.init(project="cfm-offline", mode="offline", config={"lr": 0.3})
for i in range(3):
    run.log({"loss": 0.5 * i})
run.summary["done"] = True
run.finish()

# Later, sync offline runs
dirs = glob.glob(f"{run.settings.root_dir}/**/offline-run-*{run.id}", recursive=True) or glob.glob(
    f"./**/offline-run-*{run.id}", recursive=True
)
subprocess.run([sys.executable, "-m", "trackwell", "sync", *dirs], check=True, capture_output=True)

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "config": {"lr": 0.3},
            "history": {"loss": [0.0, 0.5, 1.0]},
            "summary": {"done": True},
        }
    )
)
