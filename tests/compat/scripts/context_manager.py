"""models-docs.md "Initialize a run" (``with wandb.init() as run``), "Run states" (a run
that ends with an exception is failed) and the wandb.config / wandb.log globals."""

import json

import trackwell as wandb

with wandb.init(project="cfm-with", config={"lr": 0.1}) as run:
    wandb.config.update({"bs": 4})
    wandb.log({"acc": 0.5})
    first = run

try:
    with wandb.init(project="cfm-with") as run:
        run.log({"acc": 0.1})
        second = run
        raise ValueError("training diverged")
except ValueError:
    pass

third = wandb.init(project="cfm-with")
third.finish(exit_code=1)

print(
    json.dumps(
        {
            "runs": [
                {
                    "run": f"{first.project}/{first.id}",
                    "config": {"lr": 0.1, "bs": 4},
                    "summary": {"acc": 0.5},
                    "meta": {"state": "finished"},
                },
                {
                    "run": f"{second.project}/{second.id}",
                    "summary": {"acc": 0.1},
                    "meta": {"state": "failed"},
                },
                {"run": f"{third.project}/{third.id}", "meta": {"state": "failed"}},
            ]
        }
    )
)
