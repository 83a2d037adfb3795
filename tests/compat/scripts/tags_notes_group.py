"""skill-guide.md "wandb.init() Parameters" and models-docs.md "Initialize a run › Name
your run / Add a note / Add tags / Group runs": name, notes, tags, group, job_type, and
tags added while the run is live."""

import json

import trackwell as wandb

run = wandb.init(
    project="cfm-meta",
    name="baseline-lr0.01",
    notes="first try",
    tags=["baseline"],
    group="exp-1",
    job_type="train",
    config={"lr": 0.01},
)
run.tags = run.tags + ("resnet",)  # noqa: RUF005  (as the docs write it)
run.notes = "first try, edited"
run.log({"loss": 0.5})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "meta": {
                "name": "baseline-lr0.01",
                "notes": "first try, edited",
                "tags": ["baseline", "resnet"],
                "group": "exp-1",
                "job_type": "train",
                "state": "finished",
            },
        }
    )
)
