"""Field-by-field comparison of an imported run (read through trackwell's Public API) with its MLflow source.

Why a separate reader path: the check must not trust the importer's own bookkeeping,
so it reads the run back the way a user would (``trackwell.Api``) and compares every
param, tag, metric point (value, step, timestamp; NaN equal to NaN) and artifact file
(sha256) with what MLflow's client returns (not the importer's fast SQL reader).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from trackwell.extend import hash_file
from trackwell_mlflow.source import STATES, parse_param, walk_artifacts

if TYPE_CHECKING:
    from trackwell_mlflow.importer import MlflowImporter
    from trackwell_mlflow.source import MlflowRun


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)


def _order(point: tuple[int, float, int]) -> tuple[int, int, bool, float]:
    """A total order of (step, value, timestamp) points (NaN sorts after every number)."""
    nan = math.isnan(point[1])
    return point[0], point[2], nan, 0.0 if nan else point[1]


def validate_run(
    importer: MlflowImporter, mrun: MlflowRun, entity: str, project: str, artifacts: bool = True
) -> list[str]:
    """The differences between one imported run and its source (empty when it arrived whole)."""
    from trackwell.extend import ServerApi

    t = importer.transport()
    api = ServerApi(overrides={"base_url": t.base_url}, api_key=t.api_key)
    rid = mrun.run_id()
    where = f"{entity}/{project}/{rid}"
    try:
        run = api.run(where)
    except Exception as exc:
        return [f"{where}: not found ({exc})"]
    info, data = mrun.run.info, mrun.run.data
    diffs: list[str] = []

    def differ(what: str, want: Any, got: Any) -> None:
        if not _same(want, got):
            diffs.append(f"{where}: {what}: MLflow {want!r}, trackwell {got!r}")

    differ("name", mrun.display_name(), run.name)
    differ("state", STATES.get(str(info.status), "running"), run.state)
    meta = (run.metadata or {}).get("mlflow") or {}
    differ("metadata mlflow.run_id", rid, meta.get("run_id"))
    differ("original params", dict(data.params), meta.get("params"))
    user_tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    differ("tags", user_tags, meta.get("tags"))
    differ(
        "system tags",
        {k: v for k, v in data.tags.items() if k.startswith("mlflow.")},
        meta.get("system_tags"),
    )
    differ("notes", data.tags.get("mlflow.note.content"), run.notes or None)
    differ("group", data.tags.get("mlflow.parentRunId"), run.group or None)
    config = dict(run.config)
    for key, value in data.params.items():
        if key not in config:
            diffs.append(f"{where}: config {key!r} missing")
        elif not _same(parse_param(value), config[key]):
            differ(f"config {key!r}", parse_param(value), config[key])
    summary = dict(run.summary)
    for key, value in data.metrics.items():
        differ(f"summary {key!r}", float(value), summary.get(key))
    # history: every point as (step, value, timestamp) per key, as multisets
    got: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
    for row in run.scan_history(page_size=10_000):
        for key, value in row.items():
            if key.startswith("_") or value is None or not isinstance(value, (int, float)):
                continue
            step = int(row["_step"])
            ts = row.get(f"_mlflow_timestamp/{key}", row.get("_timestamp")) or 0.0
            got[key].append((step, float(value), round(float(ts) * 1000)))
            for v, t in row.get(f"_mlflow_points/{key}") or ():
                got[key].append((step, float(v), round(float(t) * 1000)))
    for key, points in mrun.client_history().items():
        want = sorted(((int(p.step), float(p.value), int(p.timestamp)) for p in points), key=_order)
        have = sorted(got.pop(key, []), key=_order)
        if len(want) != len(have):
            diffs.append(f"{where}: metric {key!r}: {len(want)} points in MLflow, {len(have)} in trackwell")
            continue
        for w, h in zip(want, have, strict=True):
            if w[0] != h[0] or w[2] != h[2] or not _same(w[1], h[1]):
                diffs.append(f"{where}: metric {key!r}: MLflow point {w}, trackwell {h}")
                break
    for key in got:
        diffs.append(f"{where}: history key {key!r} is not an MLflow metric")
    return diffs + (_validate_artifacts(importer, mrun, run, where) if artifacts else [])


def _validate_artifacts(importer: MlflowImporter, mrun: MlflowRun, run: Any, where: str) -> list[str]:
    """Every MLflow artifact file is in one of the run's logged artifacts, with the same sha256."""
    import tempfile
    from pathlib import Path

    files = dict(walk_artifacts(mrun.mlflow_client, mrun.run_id(), ""))
    if not files:
        return []
    held: dict[str, str] = {}
    for art in run.logged_artifacts():
        prefix = str((art.metadata or {}).get("mlflow_artifact_path") or "")
        for path, entry in art.manifest.entries.items():
            full = f"{prefix}/{path}" if prefix and prefix != "." else path
            held[full] = entry.digest
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mrun.mlflow_client.download_artifacts(mrun.run_id(), "", tmp))
        for path in sorted(files):
            if path not in held:
                diffs.append(f"{where}: artifact file {path!r} missing")
            elif hash_file(local / path)[0] != held[path]:
                diffs.append(f"{where}: artifact file {path!r} differs")
    return diffs
