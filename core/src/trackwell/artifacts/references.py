"""References: artifact entries whose bytes stay where they are (``file://``, ``s3://``, ``http(s)://``).

Adding one records the location, size and a checksum (sha256 for local files, the
ETag for S3 and HTTP) without copying; downloading fetches from the source and checks
what was recorded. ``boto3`` is imported only when an ``s3://`` reference is used.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from trackwell.artifacts.cache import Cache, hash_file
from trackwell.artifacts.manifest import ArtifactError, ArtifactManifestEntry, clean_path

TIMEOUT = 30.0


def resolve(
    uri: str, name: str | None, checksum: bool, max_objects: int | None
) -> list[ArtifactManifestEntry]:
    """The entries a reference to ``uri`` adds (one, or one per object under a folder/prefix)."""
    if not isinstance(uri, str) or "://" not in uri:
        raise ArtifactError(
            f"add_reference() needs a URI such as file:///path, s3://bucket/key or https://..., got {uri!r}"
        )
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "file":
        entries = _file_entries(uri, name, checksum)
    elif scheme in ("http", "https"):
        entries = [_http_entry(uri, name, checksum)]
    elif scheme == "s3":
        entries = _s3_entries(uri, name, checksum, max_objects)
    else:
        raise ArtifactError(
            f"add_reference(): unsupported scheme {scheme!r} in {uri!r} (file, s3, http, https)"
        )
    if max_objects is not None and len(entries) > max_objects:
        raise ArtifactError(
            f"reference {uri} holds {len(entries)} objects, more than max_objects={max_objects}"
        )
    return entries


def _local_path(uri: str) -> Path:
    parts = urlsplit(uri)
    return Path(
        unquote(parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else unquote(parts.path)
    )


def _file_entries(uri: str, name: str | None, checksum: bool) -> list[ArtifactManifestEntry]:
    path = _local_path(uri)
    if path.is_file():
        files = [(path, clean_path(name or path.name))]
    elif path.is_dir():
        prefix = clean_path(name) + "/" if name else ""
        files = [(p, prefix + p.relative_to(path).as_posix()) for p in sorted(path.rglob("*")) if p.is_file()]
    else:
        raise ArtifactError(f"reference {uri}: no such file or directory {str(path)!r}")
    out = []
    for p, entry_name in files:
        size = p.stat().st_size
        digest = hash_file(p)[0] if checksum else None
        out.append(ArtifactManifestEntry(entry_name, digest, size, ref=p.resolve().as_uri()))
    return out


def _http_entry(uri: str, name: str | None, checksum: bool) -> ArtifactManifestEntry:
    try:
        with urllib.request.urlopen(urllib.request.Request(uri, method="HEAD"), timeout=TIMEOUT) as resp:
            etag = resp.headers.get("ETag")
            length = resp.headers.get("Content-Length")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ArtifactError(f"reference {uri} is not reachable: {getattr(exc, 'reason', exc)}") from None
    size = int(length) if length is not None and length.isdigit() else None
    digest = None
    if checksum and not etag:
        digest, size = _http_hash(uri)  # no ETag to recognise the content by: hash it (not kept)
    entry_name = clean_path(name or posixpath.basename(urlsplit(uri).path) or urlsplit(uri).netloc)
    return ArtifactManifestEntry(entry_name, digest, size, ref=uri, etag=etag.strip('"') if etag else None)


def _http_hash(uri: str) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    try:
        with urllib.request.urlopen(uri, timeout=TIMEOUT) as resp:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                n += len(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise ArtifactError(f"reference {uri} is not reachable: {getattr(exc, 'reason', exc)}") from None
    return h.hexdigest(), n


def _s3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise ArtifactError("s3:// references need boto3: pip install boto3") from exc
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def _s3_entries(
    uri: str, name: str | None, checksum: bool, max_objects: int | None
) -> list[ArtifactManifestEntry]:
    parts = urlsplit(uri)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    client = _s3()
    try:
        head = client.head_object(Bucket=bucket, Key=key) if key else None
    except Exception as exc:  # botocore's ClientError (404) or a connection error
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code not in ("404", "NoSuchKey", "NotFound"):
            raise ArtifactError(f"reference {uri} is not reachable: {exc}") from None
        head = None
    if head is not None:
        return [_s3_entry(bucket, key, clean_path(name or posixpath.basename(key)), head["ContentLength"],
                          head.get("ETag"), head.get("VersionId"))]  # fmt: skip
    prefix = key.rstrip("/") + "/" if key else ""
    out: list[ArtifactManifestEntry] = []
    base = clean_path(name) + "/" if name else ""
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents") or ():
                out.append(
                    _s3_entry(
                        bucket,
                        obj["Key"],
                        base + obj["Key"][len(prefix) :],
                        obj["Size"],
                        obj.get("ETag"),
                        None,
                    )
                )
                if max_objects is not None and len(out) > max_objects:
                    return out
    except Exception as exc:
        raise ArtifactError(f"reference {uri} is not reachable: {exc}") from None
    if not out:
        raise ArtifactError(f"reference {uri}: no such object or prefix in bucket {bucket!r}")
    return out


def _s3_entry(
    bucket: str, key: str, path: str, size: int, etag: str | None, version: str | None
) -> ArtifactManifestEntry:
    extra = {"versionID": version} if version else {}
    return ArtifactManifestEntry(clean_path(path), None, int(size), ref=f"s3://{bucket}/{key}",
                                 etag=etag.strip('"') if etag else None, extra=extra)  # fmt: skip


def fetch(entry: ArtifactManifestEntry, cache: Cache, allow_missing: bool) -> Path | None:
    """The referenced bytes as a local file (cached under their sha256 when known); None if
    missing and ``allow_missing``."""
    assert entry.ref is not None
    scheme = urlsplit(entry.ref).scheme.lower()
    try:
        if scheme == "file":
            path = _local_path(entry.ref)
            if not path.is_file():
                raise ArtifactError(f"referenced file {path} is missing")
            if entry.size is not None and path.stat().st_size != entry.size:
                raise ArtifactError(f"referenced file {path} changed since it was logged (size differs)")
            if entry.digest is not None:
                digest, _ = hash_file(path)
                if digest != entry.digest:
                    raise ArtifactError(
                        f"referenced file {path} changed since it was logged (sha256 differs)"
                    )
                return cache.adopt(entry.digest, path, link=False)
            return path
        tmp = cache.root / "partial" / hashlib.sha256(entry.ref.encode()).hexdigest()
        tmp.parent.mkdir(parents=True, exist_ok=True)
        if scheme in ("http", "https"):
            _http_get(entry.ref, tmp)
        else:
            args: dict[str, Any] = {
                "Bucket": urlsplit(entry.ref).netloc,
                "Key": urlsplit(entry.ref).path.lstrip("/"),
            }
            if entry.extra.get("versionID"):
                args["VersionId"] = entry.extra["versionID"]
            try:
                extra = {"VersionId": args["VersionId"]} if "VersionId" in args else None
                _s3().download_file(args["Bucket"], args["Key"], str(tmp), ExtraArgs=extra)
            except Exception as exc:
                raise ArtifactError(f"referenced object {entry.ref} could not be fetched: {exc}") from None
        digest, size = hash_file(tmp)
        if (
            (entry.size is not None and size != entry.size)
            or (entry.digest is not None and digest != entry.digest)
            or (scheme == "s3" and not _etag_matches(entry.etag, tmp))
        ):
            tmp.unlink()
            raise ArtifactError(f"referenced object {entry.ref} changed since it was logged")
        return cache.commit_partial_as(tmp, digest)
    except ArtifactError:
        if allow_missing:
            return None
        raise


def _http_get(uri: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(uri, timeout=TIMEOUT) as resp, open(dest, "wb") as fh:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise ArtifactError(
            f"referenced object {uri} could not be fetched: {getattr(exc, 'reason', exc)}"
        ) from None


def _etag_matches(etag: str | None, path: Path) -> bool:
    """S3's ETag of an object uploaded in one piece is the MD5 of its bytes: check it.
    Multi-part ETags (``<md5>-<parts>``) depend on the part sizes used, so they pass."""
    if not etag or len(etag) != 32 or any(c not in "0123456789abcdef" for c in etag.lower()):
        return True
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest() == etag.lower()
