"""models-docs.md "Rewind a run": resume_from="<run id>?_step=200" keeps the run's id,
drops the history after step 200 and continues from there."""

import json
import math
import os

import trackwell as wandb

ENTITY = os.environ["CONFORMANCE_ENTITY"]
# Initialize the first run and log some metrics
run1 = wandb.init(project="cfm-rewind", entity=ENTITY)
for i in range(300):
    run1.log({"metric": i})
run1.finish()

# Rewind from the first run at a specific step and log the metric starting from step 200
run2 = wandb.init(project="cfm-rewind", entity=ENTITY, resume_from=f"{run1.id}?_step=200")

# Continue logging in the new run
# For the first few steps, log the metric as is from run1
# After step 250, start logging the spikey pattern
for i in range(200, 300):
    if i < 250:
        run2.log({"metric": i, "step": i})  # Continue logging from run1 without spikes
    else:
        # Introduce the spikey behavior starting from step 250
        subtle_spike = i + (2 * math.sin(i / 3.0))  # Apply a subtle spikey pattern
        run2.log({"metric": subtle_spike, "step": i})
    # Additionally log the new metric at all steps
    run2.log({"additional_metric": i * 1.1, "step": i})
run2.finish()

print(
    json.dumps(
        {
            "checks": {"same run": [run2.id, run1.id]},
            "run": f"{run2.project}/{run2.id}",
            "summary": {"additional_metric": 299 * 1.1, "metric": 299 + 2 * math.sin(299 / 3.0)},
            "history": {"additional_metric": [i * 1.1 for i in range(200, 300)]},
        }
    )
)
