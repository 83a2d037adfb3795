"""models-docs.md "Public API › Update config/summary for an existing run": change a
finished run's summary, config, tags and name through the API and run.update()."""

import json
import os

import trackwell as wandb

ENTITY = os.environ.get("CONFORMANCE_ENTITY")
with wandb.init(project="cfm-api-update", config={"lr": 0.1}) as live:
    live.log({"acc": 0.5})

api = wandb.Api()
run = api.run(f"{ENTITY}/cfm-api-update/{live.id}" if ENTITY else f"cfm-api-update/{live.id}")
run.summary["new_key"] = 42
run.summary.update()
run.config["key"] = "updated"
run.tags.append("reviewed")
run.name = "renamed"
run.update()

print(
    json.dumps(
        {
            "run": f"{live.project}/{live.id}",
            "config": {"lr": 0.1, "key": "updated"},
            "summary": {"acc": 0.5, "new_key": 42},
            "meta": {"name": "renamed", "tags": ["reviewed"]},
        }
    )
)
