"""An MLflow run as a trackwell run log: the records, byte for byte the same for the same source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackwell.extend import runlog
from trackwell.records import Kind
from trackwell_mlflow.source import STATES, parse_param

if TYPE_CHECKING:
    from trackwell_mlflow.source import MlflowRun


def build_records(mrun: MlflowRun, entity: str | None, project: str) -> list[tuple[str, dict[str, Any]]]:
    """The run log of one MLflow run, as (kind, body) pairs; the same for the same source."""
    info, data = mrun.run.info, mrun.run.data
    tags = dict(data.tags)
    system = {k: v for k, v in tags.items() if k.startswith("mlflow.")}
    user_tags = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
    start = (info.start_time or 0) / 1000.0
    parent = system.get("mlflow.parentRunId")
    rid = mrun.run_id()
    run_body: dict[str, Any] = {
        "id": rid,
        "name": mrun.display_name(),
        "project": project,
        "entity": entity,
        "group": parent or None,
        "job_type": None,
        "tags": [k if v == "" else f"{k}={v}" for k, v in sorted(user_tags.items())],
        "notes": system.get("mlflow.note.content"),
        "mode": "online",
        "start_time": start,
        "resumed": False,
        "stream": f"mlflow-{rid}-{mrun.fingerprint()}",
    }
    exp = mrun.experiment()
    mlflow_meta: dict[str, Any] = {
        "run_id": rid,
        "experiment_id": str(info.experiment_id),
        "experiment_name": str(exp.name),
        "status": str(info.status),
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user_id": info.user_id,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
        "params": dict(data.params),
        "tags": user_tags,
        "system_tags": system,
        "inputs": _inputs(mrun.run),
        "fingerprint": mrun.fingerprint(),
    }
    meta: dict[str, Any] = {"mlflow": mlflow_meta, "startedAt": start}
    if "mlflow.source.name" in system:
        meta["program"] = system["mlflow.source.name"]
    if "mlflow.user" in system:
        meta["username"] = system["mlflow.user"]
    if "mlflow.source.git.commit" in system:
        meta["git"] = {"commit": system["mlflow.source.git.commit"],
                       "remote": system.get("mlflow.source.git.repoURL"),
                       "branch": system.get("mlflow.source.git.branch")}  # fmt: skip
    records: list[tuple[str, dict[str, Any]]] = [(Kind.RUN, run_body), (Kind.META, meta)]
    if data.params:
        records.append((Kind.CONFIG, {"update": {k: parse_param(v) for k, v in sorted(data.params.items())}}))
    records += [(Kind.HISTORY, row) for row in mrun.history_rows(start)]
    summary: dict[str, Any] = dict(data.metrics)
    records.append((Kind.FINAL_SUMMARY, summary))
    state = STATES.get(str(info.status))
    if state is not None:
        end = (info.end_time or info.start_time or 0) / 1000.0
        records.append((Kind.EXIT, {"exit_code": 0 if state == "finished" else 1, "state": state,
                                    "runtime": max(0.0, end - start), "_timestamp": end}))  # fmt: skip
    mlflow_meta["records"] = len(records)  # a complete import holds this many records of the stream
    return records


def _inputs(run: Any) -> list[dict[str, Any]]:
    inputs = getattr(run, "inputs", None)
    out = []
    for di in getattr(inputs, "dataset_inputs", None) or ():
        ds = di.dataset
        out.append({
            "name": ds.name, "digest": ds.digest, "source_type": ds.source_type, "source": ds.source,
            "schema": ds.schema, "profile": ds.profile,
            "tags": {t.key: t.value for t in (di.tags or ())},
        })  # fmt: skip
    return out


def write_log(path: Path, records: list[tuple[str, dict[str, Any]]]) -> None:
    """Write a complete run log (written to a temporary name, then renamed)."""
    packer = runlog.new_packer()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(runlog.MAGIC)
        for seq, (kind, body) in enumerate(records):
            fh.write(runlog.encode_record(packer, kind, seq, body))
    os.replace(tmp, path)
