"""HTTP for artifacts (docs/server-api.md, "Artifacts"): blobs, versions, lineage, links.

Built on ``trackwell._pipeline.transport.Transport``, the SDK's one HTTP client: its retry
policy (connection failures, 429, 503 and the like, ``trackwell._pipeline.httpclient``) covers
every request here, and one ``Transport`` with a pool of kept-alive connections is
shared by the transfer threads (``trackwell.artifacts.transfers``). Downloads stream
to disk (never a whole file in memory) and, when a body breaks off midway, resume
with ``Range`` from where it stopped, which no request-level retry can do; uploads of
big files go in 16 MiB parts that the server assembles and verifies, resumable
through the ``/parts`` route. An upload that fails is not retried here: the sender
retries the whole job (``artifacts.upload``), and the job sends only what the server
still lacks.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from trackwell._pipeline.transport import Transport
from trackwell.artifacts.cache import hash_file
from trackwell.errors import CommError

if TYPE_CHECKING:
    from trackwell.run import Run

#: Files above this go up in parts (``TRACKWELL_X_ARTIFACT_PART_BYTES`` overrides it, for tests).
PART_BYTES = 16 * 1024 * 1024
#: Files up to this size travel in batches (one request, one server commit, for many files).
BATCH_FILE_BYTES = 2 * 1024 * 1024
#: Bytes (and files) per batch, up or down.
BATCH_BYTES = 16 * 1024 * 1024
#: Uploads split into smaller batches, down to this, so every worker has one.
BATCH_MIN_BYTES = 1024 * 1024
BATCH_FILES = 2_000
#: Transfers in parallel (files, or parts of one big file).
WORKERS = 8
#: Attempts at a download whose body keeps breaking off (each resumes where the last stopped).
ATTEMPTS = 5


def _q(*parts: str) -> str:
    return "/".join(quote(p, safe="") for p in parts)


def artifact_path(entity: str, project: str, *rest: str) -> str:
    return "/artifacts/" + _q(entity, project, *rest)


def client_for(run: Run) -> ArtifactClient:
    """The client an artifact of ``run`` reads the server with (the run's URL and key)."""
    s = run.settings
    return ArtifactClient(s.base_url or "", s.api_key)


class ArtifactClient:
    """Artifact requests to one server; safe to share between threads (a pool of connections)."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        #: every request and transfer goes through it; ``timeout`` bounds each wait
        self.transport = Transport(base_url, api_key, timeout, pool_size=env_workers() + 1)
        self._lock = threading.Lock()
        #: Bytes sent and received for blobs (the benchmark's and tests' meter).
        self.bytes_up = 0
        self.bytes_down = 0

    @classmethod
    def from_transport(cls, transport: Transport) -> ArtifactClient:
        return cls(transport.base_url, transport.api_key, transport.timeout)

    def close(self) -> None:
        self.transport.close()

    # -- JSON routes ---------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.transport.request("GET", path, params=params).body

    def send(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return self.transport.request(method, path, json_body=body, params=params).body

    def version(self, entity: str, project: str, name: str, version: str) -> dict[str, Any]:
        info: dict[str, Any] = self.get(artifact_path(entity, project, name, version))
        return info

    def manifest(self, entity: str, project: str, name: str, version: str) -> dict[str, Any]:
        info: dict[str, Any] = self.get(artifact_path(entity, project, name, version, "manifest"))
        return info

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterable[dict[str, Any]]:
        """Every item of a cursor-paged listing, fetched page by page as iterated."""
        cursor = None
        while True:
            answer = self.get(path, {**(params or {}), "cursor": cursor})
            yield from answer.get("items") or ()
            cursor = answer.get("next_cursor")
            if not cursor:
                return

    # -- blobs ---------------------------------------------------------------------
    def missing(self, entity: str, project: str, digests: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(digests), 50_000):
            answer = self.send(
                "POST", artifact_path(entity, project, "blobs", "check"), {"digests": digests[i : i + 50_000]}
            )
            out.update(answer.get("missing") or ())
        return out

    def upload(
        self,
        entity: str,
        project: str,
        files: list[tuple[str, Path, int]],
        pool: Executor,
        check: Callable[[str, Path], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Upload ``(sha256, path, size)`` blobs in parallel on ``pool`` (a ``TransferPool``
        where it may run at interpreter exit); ``check(digest, path)`` runs before each
        file is read (it raises when the file changed since it was hashed)."""
        jobs = []
        part_bytes = env_part_bytes()
        small = [f for f in files if f[2] <= min(BATCH_FILE_BYTES, part_bytes)]
        # at least one batch per worker when there is enough to share: one 16 MB batch
        # would leave the other connections idle while the server writes it
        per_batch = max(BATCH_MIN_BYTES, sum(f[2] for f in small) // env_workers() + 1)
        for batch in _batches(small, lambda f: f[2], min(BATCH_BYTES, per_batch)):
            jobs.append(pool.submit(self._put_batch, entity, project, batch, check, progress))
        for digest, path, size in files:
            if size <= min(BATCH_FILE_BYTES, part_bytes):
                continue
            if size > part_bytes:
                parts = -(-size // part_bytes)
                received = self._received_parts(entity, project, digest, parts)
                if received is None:
                    continue  # the server already holds it
                jobs += [
                    pool.submit(
                        self._put_part, entity, project, digest, path, i, parts, part_bytes, check, progress
                    )
                    for i in range(parts)
                    if i not in received
                ]
            else:
                jobs.append(
                    pool.submit(self._put_whole, entity, project, digest, path, size, check, progress)
                )
        first: BaseException | None = None
        for job in jobs:
            exc = job.exception()
            if exc is not None and first is None:
                first = exc
        if first is not None:
            raise first

    def _received_parts(self, entity: str, project: str, digest: str, parts: int) -> set[int] | None:
        info = self.get(artifact_path(entity, project, "blobs", digest, "parts"))
        if info.get("complete"):
            return None
        if info.get("parts") not in (None, parts):
            return set()
        return set(info.get("received") or ())

    def _put_whole(
        self, entity: str, project: str, digest: str, path: Path, size: int,
        check: Callable[[str, Path], None] | None, progress: Callable[[int], None] | None,
    ) -> None:  # fmt: skip
        if check is not None:
            check(digest, path)
        data = path.read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            raise ChangedFileError(f"{path} changed after it was added to the artifact (its sha256 differs)")
        self.transport.request("PUT", artifact_path(entity, project, "blobs", digest), data=data)
        self._count_up(len(data), progress)

    def _put_batch(
        self, entity: str, project: str, files: list[tuple[str, Path, int]],
        check: Callable[[str, Path], None] | None, progress: Callable[[int], None] | None,
    ) -> None:  # fmt: skip
        """Many small blobs in one request (docs/server-api.md, "Blob batches"); the server
        verifies each sha256, so a file changed since it was hashed comes back as a mismatch."""
        chunks = []
        for digest, path, size in files:
            if check is not None:
                check(digest, path)
            data = path.read_bytes()
            if len(data) != size:
                raise ChangedFileError(
                    f"{path} changed after it was added to the artifact (its size differs)"
                )
            chunks.append(data)
        head = json.dumps({"blobs": [[d, s] for d, _, s in files]}).encode() + b"\n"
        body = b"".join([head, *chunks])
        target = artifact_path(entity, project, "blobs", "batch")
        answer = self.transport.request("POST", target, data=body).body
        bad = {str(d) for d in answer.get("mismatch") or ()}
        if bad:
            path = next(p for d, p, _ in files if d in bad)
            raise ChangedFileError(f"{path} changed after it was added to the artifact (its sha256 differs)")
        self._count_up(len(body) - len(head), progress)

    def _put_part(
        self, entity: str, project: str, digest: str, path: Path, part: int, parts: int, part_bytes: int,
        check: Callable[[str, Path], None] | None, progress: Callable[[int], None] | None,
    ) -> None:  # fmt: skip
        if check is not None:
            check(digest, path)
        with open(path, "rb") as fh:
            fh.seek(part * part_bytes)
            data = fh.read(part_bytes)
        params = {"part": part, "parts": parts}
        target = artifact_path(entity, project, "blobs", digest)
        self.transport.request("PUT", target, params=params, data=data)
        self._count_up(len(data), progress)

    def _count_up(self, n: int, progress: Callable[[int], None] | None) -> None:
        with self._lock:
            self.bytes_up += n
        if progress is not None:
            progress(n)

    def download(
        self, entity: str, project: str, digest: str, dest: Path, size: int | None,
        progress: Callable[[int], None] | None = None,
    ) -> None:  # fmt: skip
        """Stream blob ``digest`` into ``dest``, resuming a partial file with ``Range``; verify sha256."""
        path = artifact_path(entity, project, "blobs", digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(ATTEMPTS):
            have = dest.stat().st_size if dest.exists() else 0
            if size is not None and have > size:
                dest.unlink()
                have = 0
            try:
                if size is None or have < size:
                    self._fetch(path, dest, have, progress)
                break
            except CommError as exc:
                if not exc.retryable or attempt == ATTEMPTS - 1:
                    raise
                _pause(attempt)
        got, got_size = hash_file(dest)
        if got != digest or (size is not None and got_size != size):
            dest.unlink()
            raise CommError(f"blob {digest} arrived corrupted (sha256 {got}, {got_size} bytes); try again")

    def _fetch(self, path: str, dest: Path, offset: int, progress: Callable[[int], None] | None) -> None:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with self.transport.stream("GET", path, headers=headers) as answer:
            mode = "ab" if offset and answer.status == 206 else "wb"
            with open(dest, mode) as fh:
                for chunk in answer.chunks():
                    fh.write(chunk)
                    with self._lock:
                        self.bytes_down += len(chunk)
                    if progress is not None:
                        progress(len(chunk))

    def fetch_batch(
        self, entity: str, project: str, blobs: list[tuple[str, int]], store: Callable[[str, Path], Path],
        tmp_dir: Path, progress: Callable[[int], None] | None = None,
    ) -> dict[str, Path]:  # fmt: skip
        """Download many small blobs in one request, each verified by sha256 as it streams;
        ``store(digest, tmp)`` moves a verified file into place. Returns digest -> path."""
        for attempt in range(ATTEMPTS):
            try:
                return self._fetch_batch(entity, project, blobs, store, tmp_dir, progress)
            except CommError as exc:
                if not exc.retryable or attempt == ATTEMPTS - 1:
                    raise
                _pause(attempt)
        raise AssertionError("unreachable")

    def _fetch_batch(
        self, entity: str, project: str, blobs: list[tuple[str, int]], store: Callable[[str, Path], Path],
        tmp_dir: Path, progress: Callable[[int], None] | None,
    ) -> dict[str, Path]:  # fmt: skip
        path = artifact_path(entity, project, "blobs", "fetch")
        tmp_dir.mkdir(parents=True, exist_ok=True)
        out: dict[str, Path] = {}
        with self.transport.stream("POST", path, json_body={"digests": [d for d, _ in blobs]}) as answer:
            for digest, size in blobs:
                tmp = tmp_dir / f".{digest}.{threading.get_ident()}.tmp"
                h = hashlib.sha256()
                left = size
                with open(tmp, "wb") as fh:
                    while left:
                        chunk = answer.read(min(left, 1 << 20))
                        if not chunk:
                            raise CommError(f"a batch download from {self.base_url} broke off early")
                        h.update(chunk)
                        fh.write(chunk)
                        left -= len(chunk)
                if h.hexdigest() != digest:
                    tmp.unlink()
                    raise CommError(f"blob {digest} arrived corrupted (sha256 {h.hexdigest()}); try again")
                out[digest] = store(digest, tmp)
                with self._lock:
                    self.bytes_down += size
                if progress is not None:
                    progress(size)
            answer.read(1)  # the end of the body: the connection goes back to the pool
        return out


def _pause(attempt: int) -> None:
    """Backoff with jitter before resuming a download that broke off."""
    time.sleep(min(4.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0))


class ChangedFileError(CommError):
    """A file changed between being added to an artifact and being uploaded: not retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=409, code="file_changed")


def env_workers() -> int:
    """``TRACKWELL_ARTIFACT_WORKERS`` or ``WORKERS``."""
    try:
        return max(1, int(os.environ.get("TRACKWELL_ARTIFACT_WORKERS", WORKERS)))
    except ValueError:
        return WORKERS


_T = TypeVar("_T")


def _batches(items: list[_T], size: Callable[[_T], int], limit: int = BATCH_BYTES) -> Iterator[list[_T]]:
    """``items`` in runs of at most ``limit`` bytes and ``BATCH_FILES`` items."""
    batch: list[_T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and (total + n > limit or len(batch) >= BATCH_FILES):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch


def env_part_bytes() -> int:
    """``TRACKWELL_X_ARTIFACT_PART_BYTES`` (a private setting: tests use small parts) or ``PART_BYTES``."""
    try:
        return max(1, int(os.environ.get("TRACKWELL_X_ARTIFACT_PART_BYTES", PART_BYTES)))
    except ValueError:
        return PART_BYTES
