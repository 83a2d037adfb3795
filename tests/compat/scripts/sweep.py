"""models-docs.md "Sweeps › Walkthrough / Define sweep configuration / Start sweep
agents": a grid sweep defined as a dict, run by wandb.agent with a function."""

import json
import os

import trackwell as wandb

sweep_configuration = {
    "method": "grid",
    "name": "sweep",
    "metric": {"goal": "maximize", "name": "val_acc"},
    "parameters": {"batch_size": {"values": [16, 32]}, "lr": {"values": [0.001, 0.01]}},
}
sweep_id = wandb.sweep(sweep=sweep_configuration, project="cfm-sweep")
seen = []


def main():
    run = wandb.init()
    lr = wandb.config.lr
    bs = wandb.config.batch_size
    val_acc = lr * bs
    wandb.log({"val_acc": val_acc})
    seen.append(
        {
            "run": f"{run.project}/{run.id}",
            "config": {"lr": lr, "batch_size": bs},
            "summary": {"val_acc": val_acc},
        }
    )
    run.finish()


wandb.agent(sweep_id, function=main, count=4)
assert sorted((s["config"]["lr"], s["config"]["batch_size"]) for s in seen) == [
    (0.001, 16),
    (0.001, 32),
    (0.01, 16),
    (0.01, 32),
]
api = wandb.Api()
sweep = api.sweep(f"{os.environ['CONFORMANCE_ENTITY']}/cfm-sweep/{sweep_id}")
sweep_runs = sweep.runs
best_run = sweep.best_run()
runs = sorted(sweep.runs, key=lambda run: run.summary.get("val_acc", 0), reverse=True)
val_acc = runs[0].summary.get("val_acc", 0)
print(
    json.dumps(
        {
            "runs": seen,
            "checks": {
                "sweep runs": [len(sweep_runs), 4],
                "best run": [best_run.config["lr"] * best_run.config["batch_size"], 0.32],
                "sorted best": [val_acc, 0.32],
            },
        }
    )
)
