"""models-docs.md "Customize log axes / define_metric › summary": the summary of a
metric defined with summary="min"/"max" is its min/max, not the last value."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-define-metric")
# define a metric we are interested in the minimum of
run.define_metric("loss", summary="min")
# define a metric we are interested in the maximum of
run.define_metric("acc", summary="max")
# "mean", "best" (with an objective), "last" and "none": the other documented values
run.define_metric("val_loss", summary="best", goal="minimize")
run.define_metric("lr", summary="mean")
run.define_metric("grad", summary="none")
for loss, acc in [(0.9, 0.1), (0.2, 0.8), (0.5, 0.6)]:
    run.log({"loss": loss, "acc": acc, "val_loss": loss + 0.1, "lr": acc, "grad": 1.0})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {
                "loss": {"min": 0.2},
                "acc": {"max": 0.8},
                "val_loss": {"best": 0.3},
                "lr": {"mean": 0.5},
            },
            "summary_absent": ["grad"],
            "history": {"loss": [0.9, 0.2, 0.5]},
        }
    )
)
