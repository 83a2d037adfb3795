"""models-docs.md "Save files" / the Run reference (``run.dir``: the directory where the
run's files are saved): a file written into run.dir is uploaded with the run."""

import json
import os

import trackwell as wandb

run = wandb.init(project="cfm-run-dir")
with open(os.path.join(run.dir, "notes.txt"), "w") as f:
    f.write("written in run.dir\n")
run.finish()

print(json.dumps({"run": f"{run.project}/{run.id}", "files": {"notes.txt": "written in run.dir\n"}}))
