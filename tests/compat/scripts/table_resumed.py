"""models-docs.md "Tables › Adding data to resumed runs": load the logged table from the
run's artifact, add a row, re-create the table with its data and log it again."""

import json

import trackwell as wandb

table_name = "best_checkpoints"
run = wandb.init(project="cfm-table-resumed")
run.log({table_name: wandb.Table(columns=["col1", "col2", "col3"], data=[[0, 0.5, 0.4]])})
run.finish()

run = wandb.init(project="cfm-table-resumed", id=run.id, resume="must")
table_tag = f"run-{run.id}-{table_name}:latest"
# Load the existing table from the artifact
best_checkpt_table = wandb.use_artifact(table_tag).get(table_name)
# Get the last row of data from the table for resuming
best_iter, best_metric_max, best_metric_min = best_checkpt_table.data[-1]
# Update the best metrics as needed
best_iter, best_metric_max, best_metric_min = best_iter + 1, 0.75, 0.25
# Add the updated data to the table
best_checkpt_table.add_data(best_iter, best_metric_max, best_metric_min)
# Reinitialize the table with its updated data to ensure compatibility
best_checkpt_table = wandb.Table(columns=["col1", "col2", "col3"], data=best_checkpt_table.data)
# Log the updated table to Weights & Biases
wandb.log({table_name: best_checkpt_table})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "tables": {
                table_name: {"columns": ["col1", "col2", "col3"], "data": [[0, 0.5, 0.4], [1, 0.75, 0.25]]}
            },
        }
    )
)
