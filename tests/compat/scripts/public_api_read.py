"""models-docs.md "Import and export data › Export data / Public API": api.runs with a
filter and order, run.config/summary, run.history(), run.scan_history(keys=...)."""

import json
import os

import trackwell as wandb

ENTITY = os.environ.get("CONFORMANCE_ENTITY")
for lr in (0.1, 0.2, 0.3):
    with wandb.init(project="cfm-api-read", config={"lr": lr}, tags=["big"] if lr > 0.15 else []) as run:
        for i in range(4):
            run.log({"loss": lr / (i + 1), "epoch": i})

api = wandb.Api()
path = f"{ENTITY}/cfm-api-read" if ENTITY else "cfm-api-read"
runs = api.runs(path)
summary_list, config_list, name_list = [], [], []
for run in runs:
    summary_list.append(run.summary._json_dict)
    config_list.append({k: v for k, v in run.config.items() if not k.startswith("_")})
    name_list.append(run.name)

filtered = api.runs(path, filters={"config.lr": {"$gt": 0.15}}, order="+config.lr")
big = api.runs(path, filters={"tags": {"$in": ["big"]}})
one = next(r for r in runs if r.config["lr"] == 0.2)
hist = one.history(keys=["loss"], pandas=False)
scan = [row["loss"] for row in one.scan_history(keys=["loss"])]
df = one.history(keys=["loss", "epoch"])

print(
    json.dumps(
        {
            "checks": {
                "count": [len(runs), 3],
                "config lrs": [sorted(c["lr"] for c in config_list), [0.1, 0.2, 0.3]],
                "filtered ordered": [[r.config["lr"] for r in filtered], [0.2, 0.3]],
                "tag filter": [len(big), 2],
                "summary loss": [sorted(round(s["loss"], 6) for s in summary_list), [0.025, 0.05, 0.075]],
                "history": [[row["loss"] for row in hist], [0.2, 0.1, 0.2 / 3, 0.05]],
                "scan_history": [scan, [0.2, 0.1, 0.2 / 3, 0.05]],
                "pandas epochs": [list(df["epoch"]), [0, 1, 2, 3]],
            }
        }
    )
)
