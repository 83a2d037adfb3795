"""Real MLflow stores made with MLflow's own client, and a real trackwell server (core's fixture)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trackwell.testing import free_port

pytest.importorskip("mlflow", reason="mlflow-skinny is not installed (pip install -e integrations/mlflow)")


def fill_store(uri: str, root: Path, big_bytes: int = 3 * 1024 * 1024) -> dict[str, str]:
    """An MLflow store with the importer's edge cases; returns run ids by role."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = c.create_experiment("exp ünïcode/α", artifact_location=(root / "art").as_uri())
    ids: dict[str, str] = {}
    parent = c.create_run(
        exp, run_name="parent ✓", tags={"team": "vision", "flag": ""}, start_time=1_700_000_000_000
    )
    pid = ids["parent"] = parent.info.run_id
    t0 = 1_700_000_000_000
    metrics = [Metric("loss", 1.0 / (s + 1), t0 + s * 10, s) for s in range(300)]
    metrics += [Metric("acc", s / 300, t0 + s * 10, s) for s in range(300)]
    metrics += [Metric("odd", v, t0 + 5, 1) for v in (float("nan"), float("inf"), float("-inf"))]
    metrics += [Metric("same", 1.0, t0 + 7, 2), Metric("same", 2.0, t0 + 9, 2)]  # one step, two times
    params = [
        Param("lr", "0.001"),
        Param("epochs", "10"),
        Param("use_bn", "True"),
        Param("opt", "adam"),
        Param("layers", "[64, 32]"),
        Param("none", "None"),
    ]
    c.log_batch(
        pid,
        metrics=metrics,
        params=params,
        tags=[RunTag("mlflow.note.content", "notes ✓"), RunTag("mlflow.source.git.commit", "abc123")],
    )
    art = root / "src"
    (art / "model").mkdir(parents=True)
    (art / "model" / "MLmodel").write_text("flavors: {python_function: {}}\n")
    (art / "model" / "weights.bin").write_bytes(os.urandom(2048))
    (art / "plots").mkdir()
    (art / "plots" / "a.txt").write_text("α plot")
    (art / "big.bin").write_bytes(os.urandom(big_bytes))
    c.log_artifacts(pid, str(art))
    c.set_terminated(pid, "FINISHED", end_time=t0 + 10_000)
    child = c.create_run(exp, run_name="child", tags={"mlflow.parentRunId": pid}, start_time=t0 + 100)
    ids["child"] = child.info.run_id
    c.log_metric(child.info.run_id, "loss", 0.5, timestamp=t0 + 200, step=0)
    c.set_terminated(child.info.run_id, "FAILED", end_time=t0 + 300)
    running = c.create_run(exp, run_name="still running", start_time=t0 + 400)
    ids["running"] = running.info.run_id
    c.log_param(running.info.run_id, "x", "1")
    killed = c.create_run(exp, run_name="killed", start_time=t0 + 500)
    ids["killed"] = killed.info.run_id
    c.set_terminated(killed.info.run_id, "KILLED", end_time=t0 + 600)
    deleted = c.create_run(exp, run_name="deleted", start_time=t0 + 700)
    ids["deleted"] = deleted.info.run_id
    c.delete_run(deleted.info.run_id)
    c.create_registered_model("my model")
    mv = c.create_model_version("my model", f"runs:/{pid}/model", run_id=pid)
    c.set_registered_model_alias("my model", "champion", mv.version)
    return ids


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    root = tmp_path_factory.mktemp("mlflow-sqlite")
    uri = f"sqlite:///{root}/mlflow.db"
    return uri, fill_store(uri, root)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` subprocess on 127.0.0.1 over a file store (MLflow 3 wants the opt-in)."""
    import urllib.request

    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", str(root / "store"),
         "--artifacts-destination", str(root / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "wb"),  # noqa: SIM115
        env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)  # polling a subprocess's port, not waiting for a thread
    yield url
    proc.terminate()
    proc.wait(30)


@pytest.fixture
def dst(trackwell_server: Any, trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TRACKWELL_BASE_URL", trackwell_server.url)
    if trackwell_server.admin_key:
        monkeypatch.setenv("TRACKWELL_API_KEY", trackwell_server.admin_key)
    return trackwell_server


def isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)
