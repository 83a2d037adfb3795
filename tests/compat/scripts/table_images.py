"""models-docs.md "Tables › Create tables / Add data": a predictions table with an image
column (wandb.Image from files), rows added with add_data(*row), a column with add_column."""

import json

import numpy as np
from PIL import Image as PILImage

import trackwell as wandb

rng = np.random.default_rng(0)
for i in range(4):
    PILImage.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(f"img_{i}.jpg")

my_data = [
    [0, wandb.Image("img_0.jpg"), 0, 0],
    [1, wandb.Image("img_1.jpg"), 8, 0],
    [2, wandb.Image("img_2.jpg"), 7, 1],
]
# create a wandb.Table() with corresponding columns
columns = ["id", "image", "prediction", "truth"]
test_table = wandb.Table(data=my_data, columns=columns)
my_row_list = [3, wandb.Image("img_3.jpg"), 1, 1]
test_table.add_data(*my_row_list)
test_table.add_column(name="confidence", data=np.array([0.5, 0.25, 0.75, 1.0]))

run = wandb.init(project="cfm-table-images")
run.log({"mnist_predictions": test_table})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {"mnist_predictions": {"_type": "table-file", "nrows": 4}},
            "tables": {
                "mnist_predictions": {
                    "columns": [*columns, "confidence"],
                    "data": [
                        [i, "<any>", p, t, c]
                        for i, p, t, c in [(0, 0, 0, 0.5), (1, 8, 0, 0.25), (2, 7, 1, 0.75), (3, 1, 1, 1.0)]
                    ],
                }
            },
        }
    )
)
