"""skill-guide.md "wandb.init() Parameters" (mode="disabled"): the same code runs, logs
nothing, writes no run directory, and the run object still answers."""

import json
import os

import trackwell as wandb

run = wandb.init(project="cfm-disabled", mode="disabled", config={"lr": 0.1})
run.log({"loss": 0.5})
run.summary["best"] = 1
lr = run.config.lr
wandb.log({"loss": 0.25})
run.finish()

print(json.dumps({"checks": {"config": [lr, 0.1], "nothing written": [sorted(os.listdir(".")), []]}}))
