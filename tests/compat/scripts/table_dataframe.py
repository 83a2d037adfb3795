"""skill-guide.md "Tables › From pandas DataFrame" and models-docs.md "Log tables":
wandb.Table(dataframe=df), logged to the run."""

import json

import pandas as pd

import trackwell as wandb

# Read our CSV into a new DataFrame (a small synthetic one here)
df = pd.DataFrame({"song_id": [1, 2, 3], "title": ["x", "y", "z"], "score": [0.5, 0.25, 1.0]})
# Convert the DataFrame into a W&B Table
table = wandb.Table(dataframe=df)

run = wandb.init(project="cfm-table-df")
run.log({"songs": table})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {"songs": {"_type": "table-file", "nrows": 3}},
            "tables": {
                "songs": {
                    "columns": ["song_id", "title", "score"],
                    "data": [[1, "x", 0.5], [2, "y", 0.25], [3, "z", 1.0]],
                }
            },
        }
    )
)
