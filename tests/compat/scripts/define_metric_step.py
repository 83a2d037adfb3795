"""models-docs.md "Customize log axes": a custom x axis with define_metric(step_metric=),
including the glob form ("train/*") from the docs."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-define-metric-step")
# define our custom x axis metric
run.define_metric("custom_step")
# define which metrics will be plotted against it
run.define_metric("validation_loss", step_metric="custom_step")
# set all other train/ metrics to use this step
run.define_metric("train/step")
run.define_metric("train/*", step_metric="train/step")

for i in range(3):
    log_dict = {
        "train/step": 2**i,
        "train/loss": 1 / (i + 1),
        "custom_step": i**2,
        "validation_loss": 1 / (i + 1),
    }
    run.log(log_dict)
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "history": {
                "custom_step": [0, 1, 4],
                "train/step": [1, 2, 4],
                "validation_loss": [1, 0.5, 1 / 3],
            },
            "summary": {"train/loss": 1 / 3},
        }
    )
)
