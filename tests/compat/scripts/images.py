"""skill-guide.md "Media Logging › Images" and models-docs.md "Log media › Images":
an image from a numpy array with a caption, and a list of images in one key."""

import json

import numpy as np

import trackwell as wandb

run = wandb.init(project="cfm-images")
pixels = np.random.default_rng(0).integers(0, 255, size=(16, 16, 3), dtype=np.uint8)
image = wandb.Image(pixels, caption="Top: Output, Bottom: Input")
run.log({"examples": image})
# Or multiple images
run.log({"batch": [wandb.Image(pixels[:8], caption=f"img {i}") for i in range(2)]})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {
                "examples": {"_type": "image-file", "width": 16, "height": 16},
                "batch": {"_type": "images/separated", "count": 2},
            },
            "history": {"_step": [0, 1]},
        }
    )
)
