"""Content-addressed blob stores: a local directory, or S3 (and S3-compatible stores).

Blobs are named by the sha256 of their bytes, so a retried upload, or the same file in
two runs, is stored once, and several server processes can write the same blob at the
same time without coordinating: both write identical bytes under the same name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse


class BlobNotFound(KeyError):
    """No blob with that digest."""


class BlobStore(Protocol):
    """Where file bytes go; the database holds only their digests."""

    def put(self, data: bytes) -> str:
        """Store ``data``; return its sha256 (hex)."""

    def get(self, digest: str) -> bytes:
        """The bytes of blob ``digest``; ``BlobNotFound`` if absent."""

    def describe(self) -> str:
        """Where the blobs are, for the start banner."""

    def delete_unreferenced(self, referenced: set[str], older_than: float) -> int:
        """Delete blobs not in ``referenced`` last written before ``older_than`` (Unix time)."""


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalBlobStore:
    """Blobs as files ``<root>/ab/cd/<sha256>``, written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        path = self._path(digest)
        if path.exists():
            # a fresh write time keeps the collector off a blob about to be referenced again
            os.utime(path)
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def describe(self) -> str:
        return str(self.root)

    def delete_unreferenced(self, referenced: set[str], older_than: float) -> int:
        deleted = 0
        for path in self.root.glob("*/*/*"):
            name = path.name
            if len(name) != 64 or name in referenced:
                continue
            try:
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:  # another process collected it first
                pass
        return deleted


class S3BlobStore:
    """Blobs as objects ``<prefix>/ab/<sha256>`` in one bucket (created if missing)."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        import boto3  # only a server that uses S3 pays for importing boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self.client: Any = boto3.client("s3", endpoint_url=self.endpoint_url)
        self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:  # another process created it meanwhile
                code = exc.response.get("Error", {}).get("Code")
                if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def _key(self, digest: str) -> str:
        name = f"{digest[:2]}/{digest}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        self.client.put_object(Bucket=self.bucket, Key=self._key(digest), Body=data)
        return digest

    def get(self, digest: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(digest))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobNotFound(digest) from None
            raise
        data: bytes = obj["Body"].read()
        return data

    def delete_unreferenced(self, referenced: set[str], older_than: float) -> int:
        deleted = 0
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
        )
        for page in pages:
            for obj in page.get("Contents") or ():
                digest = obj["Key"].rsplit("/", 1)[-1]
                if (
                    len(digest) == 64
                    and digest not in referenced
                    and obj["LastModified"].timestamp() < older_than
                ):
                    self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                    deleted += 1
        return deleted

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} ({self.endpoint_url})" if self.endpoint_url else where


def open_blob_store(spec: str | None, data_dir: Path, endpoint_url: str | None = None) -> BlobStore:
    """``None`` or a path: a local store; ``s3://bucket/prefix``: S3."""
    if spec and spec.startswith("s3://"):
        parsed = urlparse(spec)
        if not parsed.netloc:
            raise ValueError(f"--blob-store {spec!r}: name a bucket, as in s3://bucket/prefix")
        return S3BlobStore(parsed.netloc, parsed.path, endpoint_url)
    return LocalBlobStore(Path(spec) if spec else data_dir / "blobs")
