"""The built-in blob stores: ``file`` (a directory, also any ``--blob-store`` that is a path) and ``s3``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from trackwell_server.hookspecs import BlobStoreFactory
from trackwell_server.plugin_manager import LOCAL_SCHEME, hookimpl
from trackwell_server.storage.blobs import BlobStore, LocalBlobStore, S3BlobStore


def local_store(spec: str, data_dir: Path, endpoint_url: str | None) -> BlobStore:
    """A directory: ``file:///path``, a plain path, or (none given) ``<data_dir>/blobs``."""
    if spec.startswith(f"{LOCAL_SCHEME}://"):
        spec = urlparse(spec).path
    return LocalBlobStore(Path(spec) if spec else data_dir / "blobs")


def s3_store(spec: str, data_dir: Path, endpoint_url: str | None) -> BlobStore:
    """``s3://bucket/prefix``, at AWS or at ``--s3-endpoint-url`` (MinIO and other S3-compatible stores)."""
    parsed = urlparse(spec)
    if not parsed.netloc:
        raise ValueError(f"--blob-store {spec!r}: name a bucket, as in s3://bucket/prefix")
    return S3BlobStore(parsed.netloc, parsed.path, endpoint_url)


@hookimpl
def register_blob_stores(register: Callable[[str, BlobStoreFactory], None]) -> None:
    register(LOCAL_SCHEME, local_store)
    register("s3", s3_store)
