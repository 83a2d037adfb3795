"""The sender's side of artifacts: turn ARTIFACT records of a run log into server calls.

A live run's sender and ``trackwell sync`` both read the run log; each ARTIFACT record
becomes a job, done in log order: ``log`` (upload the blobs the server lacks from the
staging folder the writer left under ``<run_dir>/artifacts/``, then commit the
version), ``link`` (put a version into a registry collection) and ``use`` (record
lineage). Every call is idempotent (blobs by sha256, commits by ``client_id``, links
and uses by source), so a job interrupted halfway is simply done again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell._pipeline.transport import Transport, run_path
from trackwell.artifacts.cache import Cache
from trackwell.artifacts.client import ArtifactClient, ChangedFileError, artifact_path, env_workers
from trackwell.artifacts.commits import COMMITTED, notify
from trackwell.artifacts.names import parse_name
from trackwell.artifacts.progress import Progress
from trackwell.artifacts.transfers import TransferPool
from trackwell.errors import CommError


def target_collection(target: str, entity: str, project: str) -> tuple[str, str, str]:
    """A W&B link target path → (entity, project, collection) (docs/server-api.md, Registry)."""
    parts = [p for p in target.strip("/").split("/") if p]
    if len(parts) == 1:
        return entity, project, parts[0]
    if len(parts) == 2:
        return entity, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError(
        f"link target {target!r}: use 'wandb-registry-<registry>/<collection>' "
        "or '<entity>/<project>/<collection>'"
    )


class ArtifactJobs:
    """The ARTIFACT records seen so far and not yet done, in log order."""

    def __init__(self, run_dir: Path, moved: Callable[[], None] | None = None) -> None:
        self.run_dir = run_dir
        self.moved = moved  # called as each blob request is answered (finish() sees progress)
        self.queue: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self.done: dict[str, dict[str, Any]] = {}  # client_id -> version object (this upload)
        self.failed: list[str] = []  # one line per job that failed for good: finish() says them again
        self._client: ArtifactClient | None = None
        # plain threads, not a ThreadPoolExecutor: the exit-time finish() uploads on them
        # after executors refuse work (see trackwell.artifacts.transfers)
        self._pool: TransferPool | None = None

    def add(self, body: Any, seq: int) -> None:
        if not isinstance(body, dict):
            return
        key = f"{seq}"
        if key in self._seen:
            return  # read again after a rewind
        self._seen.add(key)
        self.queue.append(body)

    def step(
        self, transport: Transport, entity: str, project: str, run_id: str, timeout: float | None = None
    ) -> None:
        """Do the first job; retryable errors propagate (the uploader backs off and retries).

        ``timeout`` bounds each wait of this step's requests and transfers (the sender's
        per-request timeout while ``finish()`` waits); None means ``transport.timeout``.
        """
        if self._client is None:
            self._client = ArtifactClient.from_transport(transport)
        self._client.transport.timeout = timeout or transport.timeout
        job = self.queue[0]
        action = job.get("action")
        try:
            if action == "log":
                self._log(job, entity, project, run_id)
            elif action == "link":
                self._link(job, entity, project)
            elif action == "use":
                self._use(job, entity, project, run_id)
        except CommError as exc:
            if exc.retryable and not isinstance(exc, ChangedFileError):
                raise
            self._fail(job, exc.message)
        except (OSError, ValueError, KeyError) as exc:
            self._fail(job, f"{type(exc).__name__}: {exc}")
        self.queue.pop(0)

    def _fail(self, job: Mapping[str, Any], message: str) -> None:
        action = job.get("action")
        if action == "link":
            what = f"link to {job.get('target')!r}"
        else:
            what = f"{action} of {job.get('name') or job.get('artifact') or '?'!r}"
        line = f"trackwell: ERROR artifact {what} failed: {message}"
        self.failed.append(line)
        _stderr(line)
        if job.get("action") == "log":
            notify(str(job.get("client_id")), None, message)

    def _log(self, job: dict[str, Any], entity: str, project: str, run_id: str) -> None:
        assert self._client is not None
        client = self._client
        staging = self.run_dir / str(job["staging"])
        doc = json.loads((staging / "manifest.json").read_text())
        entries: dict[str, dict[str, Any]] = doc["entries"]
        local: dict[str, tuple[Path, int, Any]] = {}
        for e in entries.values():
            if e.get("ref") is None and e.get("digest") and e.get("local"):
                loc = Path(e["local"])
                local[e["digest"]] = (
                    loc if loc.is_absolute() else staging / loc,
                    int(e["size"]),
                    e.get("stat"),
                )
        digests = sorted({e["digest"] for e in entries.values() if e.get("ref") is None and e.get("digest")})
        missing = client.missing(entity, project, digests) if digests else set()
        self._upload(entity, project, missing, local)
        body = {
            k: job.get(k)
            for k in (
                "name",
                "type",
                "description",
                "metadata",
                "aliases",
                "tags",
                "digest",
                "client_id",
                "incremental",
            )
        }
        body["manifest"] = {"version": 1, "entries": {
            p: {k: e.get(k) for k in ("digest", "size", "ref", "etag", "extra")} for p, e in entries.items()
        }}  # fmt: skip
        body["run"] = {"entity": entity, "project": project, "run_id": run_id}
        try:
            info = client.send("POST", artifact_path(entity, project), body)
        except CommError as exc:
            if exc.code != "missing_blobs" or not exc.body:
                raise
            self._upload(entity, project, set(exc.body.get("missing") or ()), local)
            info = client.send("POST", artifact_path(entity, project), body)
        # the caller's wait() returns now; filling the cache (hard links from staging, or
        # copies of files added with policy='immutable') is the sender's own time
        self.done[str(job["client_id"])] = info
        notify(str(job["client_id"]), info)
        cache = Cache()
        for e in entries.values():
            if e.get("digest") and e.get("local") and not e.get("skip_cache") and e.get("ref") is None:
                loc = Path(e["local"])
                try:
                    cache.adopt(
                        e["digest"], loc if loc.is_absolute() else staging / loc, link=not loc.is_absolute()
                    )
                except OSError:
                    pass  # the cache is a convenience

    def _upload(
        self, entity: str, project: str, missing: set[str], local: dict[str, tuple[Path, int, Any]]
    ) -> None:
        assert self._client is not None
        if not missing:
            return
        files = []
        for digest in sorted(missing):
            if digest not in local:
                raise ChangedFileError(f"the server lacks blob {digest} and this run has no copy of it")
            path, size, _ = local[digest]
            files.append((digest, path, size))
        stats = {d: local[d][2] for d in missing}

        def check(digest: str, path: Path) -> None:
            stat = stats.get(digest)
            if stat is None:
                return
            try:
                st = path.stat()
            except OSError:
                raise ChangedFileError(f"{path} (added with policy='immutable') is gone") from None
            if [st.st_size, st.st_mtime_ns] != list(stat):
                raise ChangedFileError(
                    f"{path} changed after it was added with policy='immutable'; the artifact is not logged"
                )

        if self._pool is None:
            self._pool = TransferPool(env_workers(), "trackwell-artifacts")
        bar = Progress("uploading artifact", sum(f[2] for f in files))
        try:
            self._client.upload(entity, project, files, self._pool, check, self._progress(bar))
        finally:
            bar.close()

    def _progress(self, bar: Progress) -> Callable[[int], None]:
        moved = self.moved
        if moved is None:
            return bar.add

        def progress(n: int) -> None:
            bar.add(n)
            moved()

        return progress

    def _source(self, job: Mapping[str, Any], entity: str, project: str) -> str:
        cid = job.get("client_id")
        if cid:
            info = self.done.get(cid) or COMMITTED.get(cid)
            if info is None:
                raise ValueError("the artifact it names was not logged successfully")
            return f"{info['entity']}/{info['project']}/{info['name']}:{info['version']}"
        e, p, n, v = parse_name(str(job["artifact"]), entity, project)
        return f"{e}/{p}/{n}:{v}"

    def _link(self, job: dict[str, Any], entity: str, project: str) -> None:
        assert self._client is not None
        e, p, collection = target_collection(str(job["target"]), entity, project)
        body = {"source": self._source(job, entity, project), "aliases": list(job.get("aliases") or ())}
        self._client.send("POST", artifact_path(e, p, collection, "links"), body)

    def _use(self, job: dict[str, Any], entity: str, project: str, run_id: str) -> None:
        assert self._client is not None
        body = {"artifact": self._source(job, entity, project), "use_as": job.get("use_as")}
        self._client.send("POST", run_path(entity, project, run_id, "used-artifacts"), body)

    def report(self) -> None:
        """Say each job that failed for good on the caller's stderr (a notebook's too).

        ``_fail`` printed them on the process's own stderr when they happened, which a
        notebook or a captured script does not show; finish() calls this so a failed
        link or log reaches the user. The exit code stays the script's, as in W&B.
        """
        failed = list(self.failed)
        if not failed:
            return
        if sys.stderr is sys.__stderr__:  # the lines went here already: a recap, not a copy
            recap = f"trackwell: ERROR {len(failed)} artifact job(s) failed for good; see above"
            print(recap, file=sys.stderr)
            return
        for line in failed:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        if self._client is not None:
            self._client.close()


def _stderr(message: str) -> None:
    print(message, file=sys.__stderr__ or sys.stderr)
