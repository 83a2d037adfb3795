"""models-docs.md "Resume a run" (WANDB_RUN_ID and WANDB_RESUME in the environment, as the
docs' bash script sets them) and "Environment variables": the second start resumes."""

import json
import os

import trackwell as wandb

os.environ["WANDB_RUN_ID"] = run_id = wandb.util.generate_id()
os.environ["WANDB_RESUME"] = "allow"

run = wandb.init(project="cfm-resume-env")
run.log({"epoch": 0})
first = run.resumed
run.finish()

run = wandb.init(project="cfm-resume-env")
run.log({"epoch": 1})
second = run.resumed
run.finish()

print(
    json.dumps(
        {
            "checks": {"ids": [run.id, run_id], "resumed": [[first, second], [False, True]]},
            "run": f"cfm-resume-env/{run_id}",
            "history": {"epoch": [0, 1], "_step": [0, 1]},
        }
    )
)
