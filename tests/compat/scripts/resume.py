"""models-docs.md "Resume a run": init with a known id and resume="allow", then
resume="must"; steps continue where the run stopped, config and summary carry over."""

import json

import trackwell as wandb

run_id = wandb.util.generate_id()
run = wandb.init(project="cfm-resume", id=run_id, resume="allow", config={"lr": 0.1})
for i in range(3):
    run.log({"loss": 1.0 / (i + 1)})
run.finish()

run = wandb.init(project="cfm-resume", id=run_id, resume="must")
assert run.resumed and run.step == 3, (run.resumed, run.step)
for i in range(3, 5):
    run.log({"loss": 1.0 / (i + 1)})
run.finish()

print(
    json.dumps(
        {
            "run": f"cfm-resume/{run_id}",
            "config": {"lr": 0.1},
            "history": {"_step": [0, 1, 2, 3, 4], "loss": [1.0, 0.5, 1 / 3, 0.25, 0.2]},
            "summary": {"loss": 0.2},
        }
    )
)
