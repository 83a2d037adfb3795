"""skill-guide.md "Media Logging": images with segmentation masks and bounding boxes,
3D point clouds (wandb.Object3D from a numpy array), an image from a file, audio, and
video from a (time, channel, height, width) array."""

import json

import numpy as np
from PIL import Image as PILImage

import trackwell as wandb

rng = np.random.default_rng(0)
image = rng.integers(0, 255, size=(32, 32, 3), dtype=np.uint8)
mask_array = np.zeros((32, 32), dtype=np.uint8)
mask_array[8:24, 8:24] = 1
class_labels = {0: "background", 1: "cat"}
points_array = rng.random((50, 3))
video_array = rng.integers(0, 255, size=(4, 3, 16, 16), dtype=np.uint8)
array = rng.uniform(-0.5, 0.5, 4410)
PILImage.fromarray(image).save("image.png")

run = wandb.init(project="cfm-media-more")
run.log(
    {
        "predictions": wandb.Image(
            image,
            masks={"predictions": {"mask_data": mask_array, "class_labels": class_labels}},
            boxes={
                "predictions": {
                    "box_data": [
                        {
                            "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5},
                            "class_id": 1,
                            "box_caption": "cat",
                            "scores": {"acc": 0.9},
                        }
                    ],
                    "class_labels": class_labels,
                }
            },
        ),
        "point_cloud": wandb.Object3D(points_array),
        "image": wandb.Image("image.png"),
        "audio": wandb.Audio(array, sample_rate=44100),
        "video": wandb.Video(video_array, fps=4),
    }
)
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "summary": {
                "predictions": {
                    "_type": "image-file",
                    "masks": {"predictions": {"_type": "mask"}},
                    "boxes": {"predictions": {"class_labels": {"1": "cat"}}},
                },
                "point_cloud": {"_type": "object3D-file"},
                "image": {"_type": "image-file", "width": 32, "height": 32},
                "audio": {"_type": "audio-file", "sample_rate": 44100},
                "video": {"_type": "video-file", "width": 16, "height": 16},
            },
        }
    )
)
