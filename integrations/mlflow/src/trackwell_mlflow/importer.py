"""MLflow -> trackwell: read runs with MLflow's own client, write them as run logs.

Why run logs: an imported run is written exactly as a live run would have been (a run
log with its original times and steps, uploaded by the sender's ``Uploader``), so the
server stores it through the same ingest path, and that path is idempotent: records
are kept by (stream, seq). The stream id is derived from the MLflow run id and the log
is rebuilt byte for byte the same from an unchanged source, so importing twice stores
nothing twice and an interrupted import goes on where the server's copy ends. A run
that changed in MLflow since (a RUNNING run that finished) is replaced as a whole.
Artifacts are content addressed (sha256 blobs) and committed with a ``client_id`` made
from the run id, so they too are stored once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from trackwell.errors import CommError
from trackwell.extend import Transport, run_path, runlog
from trackwell.records import Kind

#: MLflow run status -> trackwell state; RUNNING and SCHEDULED runs get no EXIT record.
STATES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
#: Changing the log layout changes every stream id: an older import is then replaced.
LOG_VERSION = 1


@dataclass
class Namespace:
    """Where imported runs go: W&B's ``wandb.apis.importers.Namespace(entity, project)``."""

    entity: str | None = None
    project: str | None = None


@dataclass
class Report:
    """What an import did; ``str()`` is the closing report the CLI prints."""

    runs: int = 0
    metric_points: int = 0
    params: int = 0
    artifacts: int = 0
    artifact_files: int = 0
    artifact_bytes: int = 0
    links: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"runs imported:  {self.runs}",
            f"metric points:  {self.metric_points}",
            f"params:         {self.params}",
            f"artifacts:      {self.artifacts} ({self.artifact_files} files, {self.artifact_bytes:,} bytes)",
            f"registry links: {self.links}",
            f"skipped:        {len(self.skipped)} (already imported, unchanged)",
            f"failed:         {len(self.failed)}",
        ]
        lines += [f"  {rid}: {why}" for rid, why in self.failed]
        return "\n".join(lines)


class Hooks:
    """Progress callbacks; the CLI's progress bars implement them. All are optional."""

    def run_started(self, run: MlflowRun, total_points: int) -> None: ...
    def run_progress(self, n: int) -> None: ...
    def run_done(self, run: MlflowRun, status: str) -> None: ...
    def artifact_started(self, name: str, total_bytes: int) -> None: ...
    def artifact_progress(self, n: int) -> None: ...
    def artifact_done(self) -> None: ...


class MlflowRun:
    """One MLflow run and the client that reads it (W&B's ``MlflowRun(run, client)``)."""

    def __init__(self, run: Any, mlflow_client: Any) -> None:
        self.run = run
        self.mlflow_client = mlflow_client
        #: metric points read by the last ``history_rows()`` (the count the report adds)
        self.points_read = 0
        self._experiment: Any = None

    def __repr__(self) -> str:
        return f"<MlflowRun {self.run_id()} {self.display_name()!r}>"

    def run_id(self) -> str:
        return str(self.run.info.run_id)

    def display_name(self) -> str:
        return str(self.run.info.run_name or self.run.data.tags.get("mlflow.runName") or self.run_id())

    def experiment(self) -> Any:
        if self._experiment is None:
            self._experiment = self.mlflow_client.get_experiment(self.run.info.experiment_id)
        return self._experiment

    def project(self) -> str:
        """The experiment's name made a valid project name (the original is in metadata)."""
        return safe_name(str(self.experiment().name), "mlflow")

    def history(self) -> dict[str, list[Point]]:
        """Every point of every metric, by key, in MLflow's order (read anew each call).

        From a SQL store (``sqlite:``, ``postgresql:``, ``mysql:``...) one query per run
        reads the ``metrics`` table through the store's own engine (see ``_sql_points``);
        any other store goes through MLflow's client, one ``get_metric_history`` per key.
        """
        points = _sql_points(self.mlflow_client, self.run_id(), sorted(self.run.data.metrics))
        if points is None:
            return self.client_history()
        out: dict[str, list[Point]] = {key: [] for key in sorted(self.run.data.metrics)}
        for step, key, value, ts in points:
            out[key].append(Point(value, ts, step))
        for pts in out.values():  # MLflow's order: timestamp, step, value (stable: value kept)
            pts.sort(key=_time_step)
        return out

    def client_history(self) -> dict[str, list[Point]]:
        """Every point of every metric through MLflow's client (``get_metric_history`` per key).

        The reference path: ``validate`` reads through it, so a check of an import does
        not depend on the fast SQL reader that made it.
        """
        return {
            key: [Point(m.value, m.timestamp, m.step)
                  for m in self.mlflow_client.get_metric_history(self.run_id(), key)]
            for key in sorted(self.run.data.metrics)
        }  # fmt: skip

    def history_rows(self, start: float) -> list[dict[str, Any]]:
        """The run's history rows (see ``history_rows``), counting the points in ``points_read``.

        The import's hot path: from a SQL store the points arrive sorted by step and go
        straight into rows, with no per-key lists or point objects in between.
        """
        points = _sql_points(self.mlflow_client, self.run_id(), sorted(self.run.data.metrics))
        if points is None:
            history = self.client_history()
            self.points_read = sum(len(v) for v in history.values())
            return history_rows(history, start)
        self.points_read = len(points)
        return rows_from_points(points, start)

    def point_count(self) -> int:
        """How many metric points the run has (one ``COUNT`` from a SQL store)."""
        n = _sql_count(self.mlflow_client, self.run_id())
        return n if n is not None else sum(len(v) for v in self.client_history().values())

    def fingerprint(self) -> str:
        """Changes when the run changes in MLflow (status, end, params, tags, latest metrics)."""
        info, data = self.run.info, self.run.data
        doc = [LOG_VERSION, info.status, info.start_time, info.end_time, info.lifecycle_stage,
               sorted(data.params.items()), sorted(data.tags.items()),
               sorted((k, repr(v)) for k, v in data.metrics.items())]  # fmt: skip
        return hashlib.sha256(json.dumps(doc, default=str).encode()).hexdigest()[:32]


class Point(NamedTuple):
    """One metric point as MLflow keeps it (``value`` NaN where MLflow stored ``is_nan``)."""

    value: float
    timestamp: int
    step: int


def _sql_engine(client: Any) -> Any:
    """The SQLAlchemy engine of a SQL tracking store, or None (file store, tracking server)."""
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return getattr(store, "engine", None)


def _sql_points(client: Any, run_id: str, keys: list[str]) -> list[tuple[int, str, float, int]] | None:
    """A run's points of metrics ``keys`` as (step, key, value, timestamp), straight from a SQL store.

    Why: MLflow's client reads a run's history one ``get_metric_history`` per key and
    builds an ORM object per point (~5,000 points/s); one query per run over MLflow's
    own ``metrics`` table (its ``SqlMetric`` model, through the store's own engine)
    reads ~1,000,000 points/s. The points come as the client would give them: NaN
    where MLflow set ``is_nan`` (+/-Inf are stored as +/-max float by MLflow and come
    back so from either path), and each (step, key) group in MLflow's order
    (timestamp, then stored value). None for a store that is not SQL, or whose schema
    the query does not fit: the caller then reads through MLflow's client.
    """
    engine = _sql_engine(client)
    if engine is None:
        return None
    if not keys:
        return []
    try:
        from mlflow.store.tracking.dbmodels.models import SqlMetric
        from sqlalchemy import select, true

        m = SqlMetric.__table__.c
        where = [m.run_uuid == run_id]
        if len(keys) <= 500:  # else filtered below: a long IN list may pass a driver's limit
            where.append(m.key.in_(keys))
        order = (m.step, m.key, m.timestamp, m.value)
        with engine.connect() as conn:
            nan = conn.execute(select(m.step).where(*where, m.is_nan == true()).limit(1)).first()
            if nan is None:  # the common case: the driver's own tuples, nothing to map
                rows = conn.execute(select(m.step, m.key, m.value, m.timestamp).where(*where)
                                    .order_by(*order)).cursor.fetchall()  # fmt: skip
            else:
                rows = [(step, key, float("nan") if is_nan else value, ts) for step, key, value, ts, is_nan in
                        conn.execute(select(m.step, m.key, m.value, m.timestamp, m.is_nan).where(*where)
                                     .order_by(*order)).cursor.fetchall()]  # fmt: skip
    except Exception:  # an unexpected schema or driver: MLflow's client still reads it
        return None
    if len(keys) > 500:
        wanted = set(keys)
        rows = [r for r in rows if r[1] in wanted]
    return rows


def _sql_count(client: Any, run_id: str) -> int | None:
    engine = _sql_engine(client)
    if engine is None:
        return None
    try:
        from mlflow.store.tracking.dbmodels.models import SqlMetric
        from sqlalchemy import func, select

        m = SqlMetric.__table__.c
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(m.run_uuid == run_id)).scalar_one())
    except Exception:
        return None


def _time_step(p: Point) -> tuple[int, int]:
    return p.timestamp, p.step


def safe_name(name: str, fallback: str) -> str:
    """A trackwell entity/project/artifact name: ``^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$``."""
    clean = _NAME.sub("-", name).strip("-.")[:128]
    if not clean or not clean[0].isalnum():
        clean = (fallback + "-" + clean)[:128] if clean else fallback
    return clean


def parse_param(value: str) -> Any:
    """An MLflow param value (always a string) as the number/bool/None it was, if it was one."""
    text = value.strip()
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text == "None":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number) or text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return number
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            pass
    return value


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


def history_rows(history: dict[str, list[Any]], start: float) -> list[dict[str, Any]]:
    """Metric points as history rows: one row per step holding every metric logged at it.

    A history row is one per step (the server merges rows of a step, as W&B does), so
    a metric logged several times at one step keeps its latest point (by timestamp, as
    MLflow's latest value) in the row and the earlier ones, in order, as
    ``[[value, timestamp], ...]`` under the hidden key ``_mlflow_points/<key>``. A row's
    ``_timestamp`` is its earliest point's; a point logged at another time keeps its
    own under ``_mlflow_timestamp/<key>``. So every value and timestamp survives exactly.

    Points are objects with ``value``, ``timestamp`` and ``step`` (MLflow's ``Metric``
    or ``Point``), each key's in MLflow's order.
    """
    flat = [(int(p.step), key, float(p.value), int(p.timestamp)) for key, pts in history.items() for p in pts]
    flat.sort(key=_step_key_time)  # stable: same-time points keep MLflow's order
    return rows_from_points(flat, start)


def rows_from_points(points: list[tuple[int, str, float, int]], start: float) -> list[dict[str, Any]]:
    """History rows (see ``history_rows``) from (step, key, value, timestamp) points sorted by
    step, key and time; one pass, the common case (each key once a step) without lists."""
    rows: list[dict[str, Any]] = []
    n = len(points)
    i = 0
    while i < n:
        step = points[i][0]
        j = i + 1
        while j < n and points[j][0] == step:
            j += 1
        group = points[i:j]
        i = j
        keys = [p[1] for p in group]
        if len(set(keys)) == len(keys):  # each key once at this step
            ts = min(p[3] for p in group)
            row: dict[str, Any] = {"_step": step, "_timestamp": ts / 1000.0,
                                   "_runtime": max(0.0, ts / 1000.0 - start)}  # fmt: skip
            for _, key, value, t in group:
                row[key] = value
                if t != ts:
                    row[f"_mlflow_timestamp/{key}"] = t / 1000.0
            rows.append(row)
            continue
        by_key: dict[str, list[tuple[int, float]]] = {}
        for _, key, value, t in group:
            by_key.setdefault(key, []).append((t, value))
        ts = min(pts[-1][0] for pts in by_key.values())
        row = {"_step": step, "_timestamp": ts / 1000.0, "_runtime": max(0.0, ts / 1000.0 - start)}
        for key, pts in by_key.items():
            t, value = pts[-1]
            row[key] = value
            if t != ts:
                row[f"_mlflow_timestamp/{key}"] = t / 1000.0
            if len(pts) > 1:
                row[f"_mlflow_points/{key}"] = [[v, pt / 1000.0] for pt, v in pts[:-1]]
        rows.append(row)
    return rows


def _step_key_time(p: tuple[int, str, float, int]) -> tuple[int, str, int]:
    return p[0], p[1], p[3]


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


class MlflowImporter:
    """Import MLflow runs into trackwell (W&B's ``wandb.apis.importers.mlflow.MlflowImporter``).

    ``dst_base_url``/``dst_api_key`` name the trackwell server; by default the one
    ``trackwell login`` saved or ``TRACKWELL_BASE_URL``/``TRACKWELL_API_KEY``.
    """

    def __init__(
        self,
        mlflow_tracking_uri: str,
        mlflow_registry_uri: str | None = None,
        dst_base_url: str | None = None,
        dst_api_key: str | None = None,
        work_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        from mlflow.tracking import MlflowClient

        self.mlflow_tracking_uri = mlflow_tracking_uri
        self.mlflow_registry_uri = mlflow_registry_uri or mlflow_tracking_uri
        self.mlflow_client = MlflowClient(
            tracking_uri=mlflow_tracking_uri, registry_uri=self.mlflow_registry_uri
        )
        self._dst_base_url = dst_base_url
        self._dst_api_key = dst_api_key
        self._work_dir = Path(work_dir) if work_dir else None
        self._local = threading.local()  # a Transport per thread: one is one connection
        self._lock = threading.Lock()  # the report, counted from ``max_workers`` threads
        self.hooks = Hooks()
        self.report = Report()
        self._entity: str | None = None

    # -- reading MLflow ---------------------------------------------------------
    def collect_runs(
        self, experiment_ids: Iterable[str] | None = None, filter_string: str | None = None,
        limit: int | None = None,
    ) -> Iterator[MlflowRun]:  # fmt: skip
        """Every active run of the given experiments (default: all active ones); deleted runs are skipped."""
        from mlflow.entities import ViewType

        client = self.mlflow_client
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in _pages(lambda t: client.search_experiments(
                view_type=ViewType.ACTIVE_ONLY, page_token=t))]  # fmt: skip
        ids = [str(i) for i in experiment_ids]
        n = 0
        for eid in ids:
            token: str | None = None
            while True:
                page = client.search_runs(
                    [eid],
                    filter_string=filter_string or "",
                    run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=1000,
                    order_by=["attributes.start_time ASC"],
                    page_token=token,
                )
                for run in page:
                    if limit is not None and n >= limit:
                        return
                    n += 1
                    yield MlflowRun(run, client)
                token = page.token
                if not token:
                    break

    # -- writing trackwell --------------------------------------------------------
    def transport(self) -> Transport:
        """The calling thread's connection to the trackwell server (made on first use)."""
        transport: Transport | None = getattr(self._local, "transport", None)
        if transport is None:
            from trackwell.extend import Settings

            s = Settings.resolve()
            base_url = self._dst_base_url or s.base_url
            if not base_url:
                raise CommError(
                    "no trackwell server is configured: run `trackwell login` or set TRACKWELL_BASE_URL"
                )
            transport = self._local.transport = Transport(base_url, self._dst_api_key or s.api_key)
        return transport

    def _default_entity(self, namespace: Namespace | None) -> str:
        if namespace is not None and namespace.entity:
            return namespace.entity
        if self._entity is None:
            self._entity = str(self.transport().get("/viewer")["entity"])
        return self._entity

    def import_runs(
        self,
        runs: Iterable[MlflowRun],
        artifacts: bool = True,
        namespace: Namespace | None = None,
        max_workers: int | None = None,
    ) -> Report:
        """Import each run (its log, then its artifacts); a run that fails is reported, the rest go on.

        ``max_workers`` runs are imported at once (default 1: MLflow stores such as
        SQLite gain little from parallel readers, and the order stays readable).
        """
        runs = list(runs)
        work = self._work_dir or Path(tempfile.mkdtemp(prefix="trackwell-mlflow-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            if (max_workers or 1) <= 1:
                for mrun in runs:
                    self._import_one(mrun, artifacts, namespace, work)
            else:
                with ThreadPoolExecutor(max_workers or 1) as pool:
                    list(pool.map(lambda r: self._import_one(r, artifacts, namespace, work), runs))
            if artifacts:
                self._import_registry(runs, namespace)
        finally:
            if self._work_dir is None:
                shutil.rmtree(work, ignore_errors=True)
        return self.report

    def _import_one(self, mrun: MlflowRun, artifacts: bool, namespace: Namespace | None, work: Path) -> None:
        rid = mrun.run_id()
        try:
            entity = self._default_entity(namespace)
            project = (namespace.project if namespace and namespace.project else None) or mrun.project()
            status = self._import_log(mrun, entity, project, work)
            if artifacts:
                self._import_artifacts(mrun, entity, project, work, status == "skipped")
            self.hooks.run_done(mrun, status)
        except Exception as exc:
            self.report.failed.append((rid, f"{type(exc).__name__}: {exc}"))
            self.hooks.run_done(mrun, "failed")

    def _import_log(self, mrun: MlflowRun, entity: str, project: str, work: Path) -> str:
        from trackwell.extend import Uploader

        t = self.transport()
        rid = mrun.run_id()
        path = run_path(entity, project, rid)
        try:
            held = t.get(path)
        except CommError as exc:
            if exc.status != 404:
                raise
            held = None
        fp = mrun.fingerprint()
        if held is not None:
            mmeta = (held.get("metadata") or {}).get("mlflow") or {}
            old = mmeta.get("fingerprint")
            last = (held.get("streams") or {}).get(f"mlflow-{rid}-{fp}")
            if old == fp and isinstance(last, int) and last >= int(mmeta.get("records") or 1 << 62) - 1:
                self.report.skipped.append(rid)
                return "skipped"
            if old is not None and old != fp:
                t.request("DELETE", path)  # changed in MLflow since: replaced as a whole
        records = build_records(mrun, entity, project)
        run_dir = work / f"run-{rid}"
        (run_dir / "files").mkdir(parents=True, exist_ok=True)
        log = run_dir / f"run-{rid}.twlog"
        write_log(log, records)
        self.hooks.run_started(mrun, len(records))
        up = Uploader(run_dir, log, t, entity=entity, project=project, run_id=rid, markers=False)
        try:
            sent = 0
            failures_at = time.monotonic() + 60.0
            while not up.done:
                delay = up.step(final=True)
                acked = max(0, up.acked + 1)
                if acked > sent:
                    self.hooks.run_progress(acked - sent)
                    sent = acked
                    failures_at = time.monotonic() + 60.0
                if delay > 0:
                    if time.monotonic() > failures_at:
                        raise CommError(f"giving up on run {rid}: {up.error}")
                    time.sleep(min(delay, 2.0))  # the uploader's retry backoff, not a thread wait
            if up.error:
                raise CommError(up.error)
        finally:
            up.close()
        if STATES.get(str(mrun.run.info.status)) is None:
            t.request("PATCH", path, json_body={"state": "running"})
        with self._lock:
            self.report.runs += 1
            self.report.metric_points += mrun.points_read
            self.report.params += len(mrun.run.data.params)
        return "imported"

    # -- artifacts ------------------------------------------------------------------
    def _import_artifacts(self, mrun: MlflowRun, entity: str, project: str, work: Path, done: bool) -> None:
        """The run's artifact tree as one artifact, each MLflow model (a folder with ``MLmodel``) as a model.

        ``done``: the run log was already imported; then the download is skipped when
        the server holds as many of the run's artifacts as this would make.
        """
        files = list(_walk_artifacts(mrun.mlflow_client, mrun.run_id(), ""))
        if not files:
            return
        models = sorted({str(Path(p).parent) for p, _ in files if Path(p).name == "MLmodel"})
        rid = mrun.run_id()
        if done:
            expected = len(models) + any(not any(p == m or p.startswith(m + "/") or m == "." for m in models)
                                         for p, _ in files)  # fmt: skip
            held = self.transport().get(run_path(entity, project, rid, "artifacts"))
            if len(held.get("items") or ()) >= expected:
                return
        dest = work / f"artifacts-{mrun.run_id()}"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        local = Path(mrun.mlflow_client.download_artifacts(mrun.run_id(), "", str(dest)))
        tree = {p: local / p for p, _ in files}
        in_models = {p for p in tree for m in models if m == "." or p == m or p.startswith(m + "/")}
        self.commit_artifact(
            entity,
            project,
            f"run-{rid}-artifacts",
            "mlflow-artifacts",
            {p: f for p, f in tree.items() if p not in in_models},
            rid,
            f"mlflow-{rid}-files",
        )
        for m in models:
            sub = {p[len(m) + 1:] if m != "." else p: f for p, f in tree.items()
                   if m == "." or p.startswith(m + "/")}  # fmt: skip
            name = safe_name(f"{mrun.display_name()}-{m}", "model") if m != "." else f"model-{rid}"
            self.commit_artifact(entity, project, name, "model", sub, rid,
                                 _cid(f"{rid}-model-{m}"), {"mlflow_artifact_path": m})  # fmt: skip
        shutil.rmtree(dest, ignore_errors=True)

    def commit_artifact(
        self, entity: str, project: str, name: str, type_: str, files: dict[str, Path], run_id: str,
        client_id: str, metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:  # fmt: skip
        """Upload the blobs the server lacks and commit one version (idempotent by digest and client_id)."""
        from trackwell.extend import ArtifactClient, artifact_path, env_workers, hash_file, manifest_digest

        if not files:
            return None
        entries: dict[str, dict[str, Any]] = {}
        local: dict[str, tuple[str, Path, int]] = {}
        for rel, path in sorted(files.items()):
            digest, size = hash_file(path)
            entries[rel] = {"digest": digest, "size": size, "ref": None, "etag": None, "extra": {}}
            local[digest] = (digest, path, size)
        client = ArtifactClient.from_transport(self.transport())
        total = sum(e["size"] for e in entries.values())
        missing = client.missing(entity, project, sorted(local))
        body: dict[str, Any] = {
            "name": name, "type": type_, "description": None, "metadata": metadata or {}, "aliases": [],
            "tags": [], "digest": manifest_digest((p, e["digest"]) for p, e in entries.items()),
            "manifest": {"version": 1, "entries": entries},
            "run": {"entity": entity, "project": project, "run_id": run_id}, "client_id": client_id,
            "incremental": False,
        }  # fmt: skip
        self.hooks.artifact_started(name, sum(local[d][2] for d in missing))
        try:
            with ThreadPoolExecutor(env_workers()) as pool:
                if missing:
                    client.upload(entity, project, [local[d] for d in sorted(missing)], pool,
                                  progress=self.hooks.artifact_progress)  # fmt: skip
                try:
                    info: dict[str, Any] = client.send("POST", artifact_path(entity, project), body)
                except CommError as exc:
                    if exc.code != "missing_blobs" or not exc.body:
                        raise
                    again = sorted(set(exc.body.get("missing") or ()))
                    client.upload(entity, project, [local[d] for d in again], pool)
                    info = client.send("POST", artifact_path(entity, project), body)
        finally:
            self.hooks.artifact_done()
        if info.get("created"):
            with self._lock:
                self.report.artifacts += 1
                self.report.artifact_files += len(entries)
                self.report.artifact_bytes += total
        return info

    def _import_registry(self, runs: list[MlflowRun], namespace: Namespace | None) -> None:
        """Registered model versions of imported runs -> links in ``<entity>/model-registry``."""
        from trackwell.extend import artifact_path

        by_id = {r.run_id(): r for r in runs}
        try:
            registered = list(_pages(lambda t: self.mlflow_client.search_registered_models(page_token=t)))
        except Exception as exc:
            self.report.failed.append(("registry", f"{type(exc).__name__}: {exc}"))
            return
        t = self.transport()
        for rm in registered:
            versions = self.mlflow_client.search_model_versions(f"name='{rm.name}'")
            aliases_of: dict[str, list[str]] = defaultdict(list)
            for alias, version in (getattr(rm, "aliases", None) or {}).items():
                aliases_of[str(version)].append(alias)
            for mv in sorted(versions, key=lambda v: int(v.version)):
                mrun = by_id.get(str(mv.run_id))
                if mrun is None:
                    continue
                entity = self._default_entity(namespace)
                project = (namespace.project if namespace and namespace.project else None) or mrun.project()
                m = _model_path(str(mv.source), mrun)
                if m is None:
                    self.report.failed.append(
                        (f"{rm.name} v{mv.version}", f"model source {mv.source} is not a run artifact")
                    )
                    continue
                name = (
                    safe_name(f"{mrun.display_name()}-{m}", "model") if m != "." else f"model-{mrun.run_id()}"
                )
                aliases = [f"mlflow-v{mv.version}", *aliases_of.get(str(mv.version), [])]
                stage = str(getattr(mv, "current_stage", "") or "")
                if stage and stage != "None":
                    aliases.append(stage.lower())
                aliases = [safe_name(a, "alias") for a in aliases]
                target = safe_name(str(rm.name), "model")
                try:
                    t.request(
                        "POST",
                        artifact_path(entity, "model-registry", target, "links"),
                        json_body={"source": f"{entity}/{project}/{name}:latest", "aliases": aliases},
                    )
                    self.report.links += 1
                except CommError as exc:
                    self.report.failed.append((f"{rm.name} v{mv.version}", exc.message))

    # -- checking -------------------------------------------------------------------
    def validate(
        self, runs: Iterable[MlflowRun], namespace: Namespace | None = None, artifacts: bool = True
    ) -> list[str]:
        """Compare every imported run with its MLflow source, field by field; the differences.

        ``artifacts=False`` (an import without them) leaves artifact files out of the check.
        """
        from trackwell_mlflow.validate import validate_run

        diffs: list[str] = []
        for mrun in runs:
            entity = self._default_entity(namespace)
            project = (namespace.project if namespace and namespace.project else None) or mrun.project()
            diffs += validate_run(self, mrun, entity, project, artifacts)
        self.report.differences = diffs
        return diffs


def _model_path(source: str, mrun: MlflowRun) -> str | None:
    rid = mrun.run_id()
    if source.startswith(f"runs:/{rid}/"):
        return source[len(f"runs:/{rid}/") :].strip("/") or "."
    root = str(mrun.run.info.artifact_uri or "").rstrip("/")
    if root and source.startswith(root + "/"):
        return source[len(root) + 1 :].strip("/") or "."
    return None


def _cid(text: str) -> str:
    return "mlflow-" + hashlib.sha256(text.encode()).hexdigest()[:40]




def _walk_artifacts(client: Any, run_id: str, path: str) -> Iterator[tuple[str, int]]:
    for fi in client.list_artifacts(run_id, path or None):
        if fi.is_dir:
            yield from _walk_artifacts(client, run_id, fi.path)
        else:
            yield fi.path, int(fi.file_size or 0)


def _pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return
