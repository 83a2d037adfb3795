"""models-docs.md "Tables › Artifact tables / Join Artifact tables" and "Track CSV files
with experiments": tables added to artifacts with artifact.add, the raw CSV with
add_file, read back with use_artifact(...).get and joined with wandb.JoinedTable."""

import json
from pathlib import Path

import pandas as pd

import trackwell as wandb

pd.DataFrame({"song_id": [1, 2], "title": ["a", "b"]}).to_csv("original.csv", index=False)

# Read our CSV into a new DataFrame
original_dataframe = pd.read_csv("original.csv")
# Convert the DataFrame into a W&B Table
original_table = wandb.Table(dataframe=original_dataframe)
# Add the table to an Artifact to increase the row limit to 200000 and make it easier to reuse
original_artifact = wandb.Artifact("original_songs", type="dataset")
original_artifact.add(original_table, "original_samples")
# Log the raw csv file within an artifact to preserve our data
original_artifact.add_file("original.csv")

synth_artifact = wandb.Artifact("synth_songs", type="dataset")
synth_artifact.add(wandb.Table(columns=["song_id", "synth"], data=[[1, 0.5], [2, 0.25]]), "synth_samples")

# Start a W&B run to log data
run = wandb.init(project="cfm-artifact-tables")
# Log the table to visualize with a run...
run.log({"original": original_table})
# and Log as an Artifact to increase the available row limit!
run.log_artifact(original_artifact)
run.log_artifact(synth_artifact)
run.finish()

run = wandb.init(project="cfm-artifact-tables")
# fetch original songs table
orig_songs = run.use_artifact("original_songs:latest")
orig_table = orig_songs.get("original_samples")
# fetch synthesized songs table
synth_songs = run.use_artifact("synth_songs:latest")
synth_table = synth_songs.get("synth_samples")
# join tables on "song_id"
join_table = wandb.JoinedTable(orig_table, synth_table, "song_id")
join_at = wandb.Artifact("synth_summary", "analysis")
# add table to artifact and log to W&B
join_at.add(join_table, "synth_explore")
run.log_artifact(join_at)
run.finish()

csv_dir = wandb.Api().artifact("cfm-artifact-tables/original_songs:v0").download(root="csv")
csv = Path(csv_dir, "original.csv").read_text()
print(
    json.dumps(
        {
            "checks": {
                "original": [
                    [orig_table.columns, orig_table.data],
                    [["song_id", "title"], [[1, "a"], [2, "b"]]],
                ],
                "synth": [synth_table.data, [[1, 0.5], [2, 0.25]]],
                "raw csv": [csv, "song_id,title\n1,a\n2,b\n"],
                "joined logged": [
                    wandb.Api().artifact("cfm-artifact-tables/synth_summary:latest").type,
                    "analysis",
                ],
            }
        }
    )
)
