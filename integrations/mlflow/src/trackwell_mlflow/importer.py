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
import os
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackwell.errors import CommError
from trackwell.extend import Transport, run_path
from trackwell_mlflow.records import build_records, write_log
from trackwell_mlflow.source import STATES, MlflowRun, pages, safe_name, walk_artifacts


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
            experiment_ids = [e.experiment_id for e in pages(lambda t: client.search_experiments(
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
        files = list(walk_artifacts(mrun.mlflow_client, mrun.run_id(), ""))
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
            registered = list(pages(lambda t: self.mlflow_client.search_registered_models(page_token=t)))
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
