"""skill-guide.md "Alerts" and models-docs.md "Send alerts with wandb.Alert": run.alert
with a level and wait_duration, on a condition in the loop."""

import json
from datetime import timedelta

import trackwell as wandb

run = wandb.init(project="cfm-alert")
# Send alert from code
run.alert(title="Training started", text="Run is live", level=wandb.AlertLevel.INFO)
# Alert on condition
threshold = 0.5
for acc in [0.7, 0.4, 0.3]:
    run.log({"acc": acc})
    if acc < threshold:
        run.alert(
            title="Low accuracy",
            text=f"Accuracy {acc} is below the acceptable threshold {threshold}",
            level=wandb.AlertLevel.WARN,
            wait_duration=timedelta(minutes=5),
        )
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {"acc": 0.3},
            "alerts": [["Training started", "INFO"], ["Low accuracy", "WARN"]],
        }
    )
)
