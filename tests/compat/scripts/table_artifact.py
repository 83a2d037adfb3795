"""models-docs.md "Tables › Retrieve a table": a logged table is saved in the run's
artifact ``run-<run-id>-<table-name>`` and read back with use_artifact(...).get(name)."""

import json

import trackwell as wandb

with wandb.init(project="cfm-table-artifact") as run:
    table = wandb.Table(columns=["id", "score"], data=[["a", 0.5], ["b", 0.75]])
    run.log({"scores": table})
    logged = run

with wandb.init(project="cfm-table-artifact") as run:
    my_table = run.use_artifact(f"run-{logged.id}-scores:latest").get("scores")

print(
    json.dumps(
        {
            "checks": {
                "columns": [my_table.columns, ["id", "score"]],
                "data": [my_table.data, [["a", 0.5], ["b", 0.75]]],
            }
        }
    )
)
