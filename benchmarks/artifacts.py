"""Artifacts benchmark: log + upload and download of a many-file artifact against a raw disk copy.

Full mode: 10,000 files / 1 GB; ``--quick``: 200 files / 10 MB (a few seconds). The artifact is logged
by an online run to a fresh local server (subprocess) and uploaded by the run's sender;
then downloaded into an empty cache through the Public API. Both are compared with
``shutil.copytree`` of the same files on the same disk. A second version with 1% of the
files changed must upload about 1% of the bytes (the rest is deduplicated by sha256).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import WorkloadError
from report import Check
from server import server


@dataclass
class ArtifactPlan:
    files: int
    total_bytes: int


FULL = ArtifactPlan(files=10_000, total_bytes=1_000_000_000)
QUICK = ArtifactPlan(files=200, total_bytes=10_000_000)
#: Targets (MB/s) for the full run; the delta ratio target is a fraction of the bytes.
UPLOAD_TARGET = 100.0
DOWNLOAD_TARGET = 150.0
DELTA_TARGET = 0.015


def _make_files(root: Path, plan: ArtifactPlan) -> list[Path]:
    root.mkdir(parents=True)
    size = plan.total_bytes // plan.files
    block = os.urandom(size)
    paths = []
    for i in range(plan.files):
        p = root / f"d{i % 100:02d}" / f"f{i:05d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(i.to_bytes(8, "little") + block[8:])  # every file distinct
        paths.append(p)
    return paths


def bench_artifacts(plan: ArtifactPlan, raw: dict[str, Any]) -> list[Check]:
    with tempfile.TemporaryDirectory(prefix="twbench-artifacts-") as tmp, server() as port:
        base = Path(tmp)
        data = base / "data"
        paths = _make_files(data, plan)
        mb = plan.total_bytes / 1e6
        t0 = time.perf_counter()
        shutil.copytree(data, base / "copy")
        copy_s = time.perf_counter() - t0
        shutil.rmtree(base / "copy")
        env = {
            "TRACKWELL_BASE_URL": f"http://127.0.0.1:{port}",
            "TRACKWELL_CACHE_DIR": str(base / "cache-up"),
            "TRACKWELL_CONFIG_DIR": str(base / "config"),
            "TRACKWELL_DIR": str(base / "runs"),
            "TRACKWELL_SILENT": "true",
            "TRACKWELL_X_DISABLE_STATS": "true",
        }
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            import trackwell

            run = trackwell.init(project="bench", entity="local", mode="online")
            t0 = time.perf_counter()
            art = trackwell.Artifact("data", "dataset")
            art.add_dir(data)
            add_s = time.perf_counter() - t0
            run.log_artifact(art).wait(600)
            up_s = time.perf_counter() - t0
            jobs = run._sender.uploader.artifacts if run._sender else None  # the sender's meter
            first_bytes = jobs._client.bytes_up if jobs else 0
            changed = paths[:: max(1, len(paths) // max(1, len(paths) // 100))][: max(1, len(paths) // 100)]
            for p in changed:
                p.write_bytes(os.urandom(p.stat().st_size))
            art2 = trackwell.Artifact("data", "dataset")
            art2.add_dir(data)
            run.log_artifact(art2).wait(600)
            delta_bytes = (jobs._client.bytes_up if jobs else 0) - first_bytes
            run.finish()
            os.environ["TRACKWELL_CACHE_DIR"] = str(base / "cache-down")  # an empty cache
            from trackwell.api.remote import ServerApi

            api = trackwell.Api(overrides={"base_url": env["TRACKWELL_BASE_URL"], "entity": "local"})
            assert isinstance(api, ServerApi)  # a base_url makes it the server's (artifacts live there)
            got = api.artifact("local/bench/data:v0")
            t0 = time.perf_counter()
            root = got.download(base / "down")
            down_s = time.perf_counter() - t0
            if len(list(Path(root).rglob("*.bin"))) != plan.files or art2.version != "v1":
                raise WorkloadError("the downloaded artifact is incomplete or the second version is missing")
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    copy_rate, up_rate, down_rate = mb / copy_s, mb / up_s, mb / down_s
    ratio = delta_bytes / plan.total_bytes
    raw["artifacts"] = {
        "copy_s": copy_s, "add_dir_s": add_s, "upload_s": up_s, "download_s": down_s,
        "delta_bytes": delta_bytes, "first_bytes": first_bytes,
        "files": plan.files, "bytes": plan.total_bytes,
    }  # fmt: skip
    what = f"{plan.files:,} files / {mb:,.0f} MB"
    return [
        Check(f"raw copy (shutil.copytree), {what}", copy_rate, "MB/s", detail="the disk's own speed"),
        Check(
            f"log_artifact + upload, {what}",
            up_rate,
            "MB/s",
            target=f"≥ {UPLOAD_TARGET:g} MB/s",
            ok=up_rate >= UPLOAD_TARGET,
            detail=f"hash + stage + upload + commit: {up_rate / copy_rate:.2f}× the raw copy"
            f" (add_dir {add_s:.1f} s of {up_s:.1f} s)",
        ),
        Check(
            f"artifact.download (empty cache), {what}",
            down_rate,
            "MB/s",
            target=f"≥ {DOWNLOAD_TARGET:g} MB/s",
            ok=down_rate >= DOWNLOAD_TARGET,
            detail=f"parallel, sha256 verified: {down_rate / copy_rate:.2f}× the raw copy",
        ),
        Check(
            f"v1 with {len(changed)} of {plan.files:,} files changed: bytes uploaded",
            ratio * 100,
            "%",
            DELTA_TARGET * 100,
            detail=f"{delta_bytes:,} of {plan.total_bytes:,} bytes ({ratio * 100:.2f}%)",
        ),
    ]
