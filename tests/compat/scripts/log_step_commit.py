"""models-docs.md "Log objects and media › Customize log axes" / wandb.log reference:
several calls with commit=False build one step; step= jumps ahead; global wandb.log."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-log-step")
run.log({"a": 1}, commit=False)
run.log({"b": 2})  # one row: a=1, b=2 at step 0
run.log({"a": 3}, step=5)  # explicit step
run.log({"a": 4}, step=5)  # same step: merged into row 5
wandb.log({"b": 6}, step=7)  # the global wandb.log goes to the current run
run.log({"c": 7})  # no step: joins the open row 7, then commits it
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "history": {"_step": [0, 5, 7]},
            "rows": [{"_step": 0, "a": 1, "b": 2}, {"_step": 5, "a": 4}, {"_step": 7, "b": 6, "c": 7}],
            "summary": {"a": 4, "b": 6, "c": 7},
        }
    )
)
