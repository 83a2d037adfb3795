"""skill-guide.md "Tables (Structured Data)" and models-docs.md "Log tables": create a
table from columns and data, add rows, log it; read it back as a table."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-table")
# create a wandb.Table() with corresponding columns
columns = ["id", "prediction", "ground_truth"]
table = wandb.Table(columns=columns, data=[["a", 1, 1], ["b", 0, 1]])
table.add_data("c", 1, 0)
run.log({"predictions": table})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {"predictions": {"_type": "table-file", "nrows": 3}},
            "tables": {"predictions": {"columns": columns, "data": [["a", 1, 1], ["b", 0, 1], ["c", 1, 0]]}},
        }
    )
)
