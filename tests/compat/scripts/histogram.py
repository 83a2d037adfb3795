"""skill-guide.md "Media Logging › Histograms" and models-docs.md "Log media ›
Histograms": wandb.Histogram from a sequence and from np.histogram output."""

import json

import numpy as np

import trackwell as wandb

data = np.arange(100, dtype=float)
run = wandb.init(project="cfm-histogram")
run.log({"gradients": wandb.Histogram(data, num_bins=10)})
run.log({"np_hist": wandb.Histogram(np_histogram=np.histogram(data, bins=4))})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {
                "gradients": {"_type": "histogram", "values": [10] * 10},
                "np_hist": {"_type": "histogram", "values": [25, 25, 25, 25]},
            },
        }
    )
)
