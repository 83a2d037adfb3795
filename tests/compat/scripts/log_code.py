"""W&B reference, Run.log_code (not in ../shared/reference): the script's source is
saved as the run's code artifact and can be downloaded again."""

import json
from pathlib import Path

import trackwell as wandb

Path("train.py").write_text("print('training')\n")
Path("helpers").mkdir(exist_ok=True)
Path("helpers/util.py").write_text("X = 1\n")
Path("notes.md").write_text("not code\n")

run = wandb.init(project="cfm-log-code")
code = run.log_code(".")
run.finish()

api_run = wandb.Api().run(f"cfm-log-code/{run.id}")
[artifact] = [a for a in api_run.logged_artifacts() if a.type == "code"]
print(
    json.dumps(
        {
            "checks": {
                "files": [sorted(f.name for f in artifact.files()), ["helpers/util.py", "train.py"]],
                "returned": [code is not None, True],
            }
        }
    )
)
