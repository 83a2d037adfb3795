"""Thousands of media files through the sender: all of them reach the server, in batches,
and the periodic files round does not stat every image again."""

from __future__ import annotations

import io

import numpy as np
import pytest

import trackwell
from trackwell._pipeline.fileupload import BATCH_FILES
from trackwell._pipeline.transport import Transport
from trackwell._pipeline.uploader import Uploader
from trackwell.rundir import LOG_SUFFIX

PIL = pytest.importorskip("PIL.Image")


def test_1500_images_all_reach_the_server(online_run: trackwell.Run) -> None:
    n = 1500
    pixels = np.random.default_rng(1).integers(0, 256, (n, 4, 4, 3), dtype=np.uint8)
    for i in range(n):
        online_run.log({"img": trackwell.Image(pixels[i])})
    online_run.finish()
    local = sorted(
        p.relative_to(online_run._run_dir / "files").as_posix()
        for p in (online_run._run_dir / "files/media/images").iterdir()
    )
    assert len(local) == n  # random pixels: no two images share a file
    remote = trackwell.Api().run(f"{online_run.entity}/test/{online_run.id}")
    on_server = {f.name: f for f in remote.files()}
    assert sorted(name for name in on_server if name.startswith("media/")) == local
    rows = list(remote.scan_history(keys=["img"]))
    assert len(rows) == n
    for i in (0, 777, n - 1):  # bytes intact: decoded back to the logged pixels
        data = remote.file(rows[i]["img"]["path"]).read_bytes()
        assert np.array_equal(np.asarray(PIL.open(io.BytesIO(data))), pixels[i])


def test_the_periodic_files_round_leaves_media_to_the_files_records(offline_run: trackwell.Run) -> None:
    run = offline_run
    for i in range(BATCH_FILES + 5):
        run.log({"img": trackwell.Image(np.array([[i % 256, i // 256]], np.uint8))})  # all different
    run.finish()
    (log,) = run._run_dir.glob(f"*{LOG_SUFFIX}")
    up = Uploader(run._run_dir, log, Transport("http://127.0.0.1:9"), markers=False)  # never connects
    try:
        every = {rel for rel, _, _ in up.changed_files()}
        periodic = {rel for rel, _, _ in up.changed_files(media=False)}
    finally:
        up.close()
    media = {rel for rel in every if rel.startswith("media/")}
    assert len(media) == BATCH_FILES + 5
    assert periodic == every - media and "config.yaml" in periodic
