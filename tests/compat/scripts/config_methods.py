"""models-docs.md, "Configure experiments": set the configuration at initialization,
with argparse, throughout your script (update, attribute and key assignment), and
skill-guide.md "Configuration" (access with run.config.get)."""

import argparse
import json

import trackwell as wandb

# Define a config dictionary object
config = {
    "hidden_layer_sizes": [32, 64],
    "kernel_sizes": [3],
    "activation": "ReLU",
    "pool_sizes": [2],
    "dropout": 0.5,
    "num_classes": 10,
}

parser = argparse.ArgumentParser()
parser.add_argument("-b", "--batch-size", type=int, default=8, metavar="N")
args = parser.parse_args([])

# Pass the config dictionary when you initialize W&B
run = wandb.init(project="cfm-config", config=config)
run.config.update(args)  # the argparse Namespace

# Update config after you initialize W&B
run.config.update({"lr": 0.1, "channels": 16})
run.config.epochs = 4
run.config["optimizer"] = "adam"

# Access values with the key as the index value
hidden = run.config["hidden_layer_sizes"]
kernel = run.config.kernel_sizes
missing = run.config.get("not_there", "fallback")
assert hidden == [32, 64] and kernel == [3] and missing == "fallback"
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "config": {
                **config,
                "batch_size": 8,
                "lr": 0.1,
                "channels": 16,
                "epochs": 4,
                "optimizer": "adam",
            },
        }
    )
)
