"""Media benchmark: 1,000 small images through log(), in a fresh interpreter.

Measures what the training loop pays per image (building ``trackwell.Image`` and
``log()``; the PNG is encoded later on the writer thread) and the time until every
image is written (``finish()``). Target: caller ≤ 0.5 ms per image.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from report import Check

_SCRIPT = r"""
import json, os, sys, time
import numpy as np
import trackwell
n = int(sys.argv[1])
imgs = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
run = trackwell.init(project="bench-media", mode="offline")
trackwell.Image(imgs[0])  # first use imports PIL-free paths; keep that out of the loop
t0 = time.perf_counter(); c0 = time.process_time()
for i in range(n):
    run.log({"img": trackwell.Image(imgs[i]), "loss": 1.0 / (i + 1)})
caller = time.perf_counter() - t0
run.finish()
total = time.perf_counter() - t0
files = sum(1 for _ in (run._run_dir / "files" / "media" / "images").iterdir())
print(json.dumps({"caller_s": caller, "total_s": total, "files": files}))
"""


@dataclass(frozen=True)
class MediaPlan:
    images: int
    runs: int


FULL = MediaPlan(images=1000, runs=3)
QUICK = MediaPlan(images=1000, runs=1)


def bench_media(python: str, plan: MediaPlan, raw: dict[str, Any]) -> list[Check]:
    outs = []
    for _ in range(plan.runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"TRACKWELL_DIR": tmp, "TRACKWELL_CONFIG_DIR": tmp, "TRACKWELL_SILENT": "true",
                   "TRACKWELL_X_DISABLE_STATS": "true"}
            import os

            proc = subprocess.run(
                [python, "-c", _SCRIPT, str(plan.images)], capture_output=True, text=True, cwd=tmp,
                env={**os.environ, **env}, timeout=300, check=False,
            )  # fmt: skip
            if proc.returncode:
                raise OSError(f"media workload failed: {proc.stderr.strip()[-500:]}")
            outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    raw["media"] = outs
    best = min(outs, key=lambda o: o["caller_s"])
    per_image_ms = best["caller_s"] / plan.images * 1e3
    total = min(o["total_s"] for o in outs)
    return [
        Check(f"log() {plan.images} images 32x32x3: caller per image", per_image_ms, "ms", limit=0.5,
              detail=f"best of {plan.runs}; {best['files']} files written"),
        Check(f"log() {plan.images} images: until finish()", total, "s"),
    ]  # fmt: skip
