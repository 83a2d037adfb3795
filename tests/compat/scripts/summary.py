"""models-docs.md "Log summary metrics" and skill-guide.md "Summary Metrics": the summary
holds the last logged value unless set; set it with run.summary[...] and summary.update."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-summary")
best_accuracy = 0.0
for epoch, test_accuracy in enumerate([0.5, 0.9, 0.7]):
    run.log({"test_accuracy": test_accuracy, "epoch": epoch})
    if test_accuracy > best_accuracy:
        best_accuracy = test_accuracy
        run.summary["best_accuracy"] = best_accuracy

run.summary["final_loss"] = 0.125
run.summary.update({"test_f1": 0.75, "nested": {"x": 1}})
wandb.summary["global_key"] = "set through wandb.summary"
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {
                "best_accuracy": 0.9,
                "test_accuracy": 0.7,
                "epoch": 2,
                "final_loss": 0.125,
                "test_f1": 0.75,
                "nested": {"x": 1},
                "global_key": "set through wandb.summary",
            },
        }
    )
)
