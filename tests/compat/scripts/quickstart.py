"""models-docs.md, "1 - Experiments › Putting it all together": the quickstart loop.

The training is replaced by synthetic numbers; the last line prints what was logged.
"""

import json
import random

import trackwell as wandb

random.seed(0)

# 1. Start a W&B Run
run = wandb.init(project="cfm-quickstart", config={"learning_rate": 0.01, "epochs": 5})

# 2. Capture a dictionary of hyperparameters
epochs = run.config["epochs"]
lr = run.config["learning_rate"]
offset = random.random() / 5

losses, accs = [], []
for epoch in range(2, epochs + 2):
    acc = 1 - 2**-epoch - random.random() / epoch - offset
    loss = 2**-epoch + random.random() / epoch + offset
    # 3. Log metrics over time to visualize performance
    run.log({"accuracy": acc, "loss": loss})
    losses.append(loss)
    accs.append(acc)

run.finish()
print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "config": {"learning_rate": 0.01, "epochs": 5},
            "summary": {"loss": losses[-1], "accuracy": accs[-1]},
            "history": {"loss": losses, "accuracy": accs, "_step": list(range(5))},
            "meta": {"state": "finished"},
        }
    )
)
