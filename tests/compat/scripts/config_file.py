"""skill-guide.md "Configuration › Method 4: From YAML file" and models-docs.md
"File-Based Configs": config-defaults.yaml in the working directory is read by init."""

import json
from pathlib import Path

import trackwell as wandb

Path("config-defaults.yaml").write_text(
    "epochs:\n  desc: Number of epochs to train over\n  value: 100\n"
    "batch_size:\n  desc: Size of each mini-batch\n  value: 32\n"
)
Path("config.yaml").write_text("optimizer: sgd\nmomentum: 0.9\n")

# Override config-defaults.yaml by passing custom values
run = wandb.init(project="cfm-config-file", config={"batch_size": 64})
run.finish()

run2 = wandb.init(project="cfm-config-file", config="config.yaml")
run2.finish()

print(
    json.dumps(
        {
            "runs": [
                {"run": f"{run.project}/{run.id}", "config": {"epochs": 100, "batch_size": 64}},
                {
                    "run": f"{run2.project}/{run2.id}",
                    "config": {"optimizer": "sgd", "momentum": 0.9, "epochs": 100},
                },
            ]
        }
    )
)
