"""Content-addressed blob stores: a local directory, or S3 (and S3-compatible stores).

Blobs are named by the sha256 of their bytes, so a retried upload, or the same file in
two runs, is stored once, and several server processes can write the same blob at the
same time without coordinating: both write identical bytes under the same name.

Blobs arrive through ``writer`` (whole) or ``part_writer`` + ``assemble`` (in parts,
any order: the one part-upload protocol of run files and artifact blobs, see
``routes/uploads.py``), streamed: no blob is ever held whole in memory. They are not
fsynced one by one (a 10,000-file artifact would pay 10,000 fsyncs, each a disk
flush); the temp-file-and-rename keeps a crash from ever showing a torn blob under
its name, and the OS writes them out within seconds.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from trackwell_server.private import make_dirs, private_dir

#: How much a streamed read or an assembly copy handles at a time.
CHUNK = 1024 * 1024
#: Parts of an S3 multipart upload made while assembling (S3 wants >= 5 MiB but the last).
_S3_PART = 16 * 1024 * 1024


class BlobNotFound(KeyError):
    """No blob with that digest."""


class DigestMismatch(ValueError):
    """Assembled bytes whose sha256 is not the one they were uploaded under."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"the bytes hash to {actual}, not {expected}")
        self.actual = actual


class BlobWriter(Protocol):
    """Bytes on their way into the store, invisible until ``commit``.

    The caller hashes what it writes and commits only bytes that match their name;
    ``abort`` throws them away.
    """

    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


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

    def exists(self, digest: str) -> bool:
        """Whether blob ``digest`` is stored."""

    def size(self, digest: str) -> int:
        """The length of blob ``digest``; ``BlobNotFound`` if absent."""

    def read_range(self, digest: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` up to (excluding) ``end`` of blob ``digest``, in chunks of at most ``CHUNK``."""

    def writer(self, digest: str) -> BlobWriter:
        """A writer whose ``commit`` stores its bytes as blob ``digest`` (not fsynced: see module doc)."""

    def part_writer(self, upload: str, part: int) -> BlobWriter:
        """A writer for part ``part`` of upload ``upload`` (in the upload area, not a blob yet)."""

    def digest_upload(self, upload: str, parts: int) -> str:
        """The sha256 of parts ``0..parts-1`` of ``upload`` joined (streamed); ``BlobNotFound``
        if one is missing.

        For an upload whose digest is not known up front (a run file): the name
        ``assemble`` then stores it under.
        """

    def assemble(self, upload: str, parts: int, digest: str) -> int:
        """Join parts ``0..parts-1`` of ``upload`` into blob ``digest``, streaming; return its size.

        ``DigestMismatch`` (and nothing stored) if the joined bytes hash to something
        else, ``BlobNotFound`` if a part is missing. The parts stay until ``discard_upload``.
        """

    def discard_upload(self, upload: str) -> None:
        """Delete the parts of ``upload``."""


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalBlobStore:
    """Blobs as files ``<root>/ab/cd/<sha256>``, written atomically (temp file + rename).

    Owner-only: the root and its folders are 0700, every file 0600 (``mkstemp``'s mode,
    kept by the rename), since blobs are users' private files.
    """

    def __init__(self, root: Path) -> None:
        self.root = private_dir(root)
        #: Blob folders known to exist (nothing removes them): a batch of 1,000 blobs
        #: would otherwise pay a mkdir call per blob, on top of its file's creation.
        self._dirs: set[Path] = set()

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        path = self._path(digest)
        if path.exists():
            # a fresh write time keeps the collector off a blob about to be referenced again
            os.utime(path)
            return digest
        make_dirs(path.parent)
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
            # a temp file left by a crash goes too (a live one is younger than the grace)
            if (len(name) != 64 and not name.startswith(".tmp-")) or name in referenced:
                continue
            try:
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:  # another process collected it first
                pass
        return deleted

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def read_range(self, digest: str, start: int, end: int) -> Iterator[bytes]:
        try:
            fh = open(self._path(digest), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise BlobNotFound(digest) from None
        return _read_file(fh, start, end)

    def writer(self, digest: str) -> BlobWriter:
        path = self._path(digest)
        if path.parent not in self._dirs:
            make_dirs(path.parent)
            self._dirs.add(path.parent)
        return _LocalWriter(path)

    def _upload_dir(self, upload: str) -> Path:
        return self.root / "uploads" / upload

    def part_writer(self, upload: str, part: int) -> BlobWriter:
        folder = self._upload_dir(upload)
        make_dirs(folder)
        return _LocalWriter(folder / f"{part:05d}")

    def _read_parts(self, upload: str, parts: int) -> Iterator[bytes]:
        for part in range(parts):
            try:
                fh = open(self._upload_dir(upload) / f"{part:05d}", "rb")  # noqa: SIM115
            except FileNotFoundError:
                raise BlobNotFound(f"{upload} part {part}") from None
            yield from _read_file(fh, 0, None)

    def digest_upload(self, upload: str, parts: int) -> str:
        whole = hashlib.sha256()
        for chunk in self._read_parts(upload, parts):
            whole.update(chunk)
        return whole.hexdigest()

    def assemble(self, upload: str, parts: int, digest: str) -> int:
        out = self.writer(digest)
        whole = hashlib.sha256()
        size = 0
        try:
            for chunk in self._read_parts(upload, parts):
                whole.update(chunk)
                out.write(chunk)
                size += len(chunk)
            if whole.hexdigest() != digest:
                raise DigestMismatch(digest, whole.hexdigest())
        except BaseException:
            out.abort()
            raise
        out.commit()
        return size

    def discard_upload(self, upload: str) -> None:
        folder = self._upload_dir(upload)
        for path in folder.glob("*"):
            path.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:  # gone already, or a part being written right now
            pass


def _read_file(fh: IO[bytes], start: int, end: int | None) -> Iterator[bytes]:
    with fh:
        fh.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            chunk = fh.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


class _LocalWriter:
    """A temp file beside ``path``, renamed onto it by ``commit``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, self.tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        self.fh = os.fdopen(fd, "wb")

    def write(self, data: bytes | memoryview) -> None:
        self.fh.write(data)

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


class _S3Writer:
    """Bytes spooled in memory up to 8 MiB (then to a temp file), uploaded by ``commit``."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.fh = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    def write(self, data: bytes | memoryview) -> None:
        self.fh.write(data)

    def commit(self) -> None:
        with self.fh:
            self.fh.seek(0)
            self.client.upload_fileobj(self.fh, self.bucket, self.key)

    def abort(self) -> None:
        self.fh.close()


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

    def _upload_key(self, upload: str, part: int | None = None) -> str:
        name = f"uploads/{upload}/" + ("" if part is None else f"{part:05d}")
        return f"{self.prefix}/{name}" if self.prefix else name

    def _missing(self, exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
            "NoSuchKey", "404", "NotFound")  # fmt: skip

    def exists(self, digest: str) -> bool:
        try:
            self.size(digest)
        except BlobNotFound:
            return False
        return True

    def size(self, digest: str) -> int:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(digest))
        except Exception as exc:
            if self._missing(exc):
                raise BlobNotFound(digest) from None
            raise
        return int(head["ContentLength"])

    def read_range(self, digest: str, start: int, end: int) -> Iterator[bytes]:
        if end <= start:
            return iter(())
        try:
            obj = self.client.get_object(
                Bucket=self.bucket, Key=self._key(digest), Range=f"bytes={start}-{end - 1}"
            )
        except Exception as exc:
            if self._missing(exc):
                raise BlobNotFound(digest) from None
            raise
        body: Iterator[bytes] = obj["Body"].iter_chunks(CHUNK)
        return body

    def writer(self, digest: str) -> BlobWriter:
        return _S3Writer(self.client, self.bucket, self._key(digest))

    def part_writer(self, upload: str, part: int) -> BlobWriter:
        return _S3Writer(self.client, self.bucket, self._upload_key(upload, part))

    def _read_parts(self, upload: str, parts: int) -> Iterator[bytes]:
        for part in range(parts):
            try:
                obj = self.client.get_object(Bucket=self.bucket, Key=self._upload_key(upload, part))
            except Exception as exc:
                if self._missing(exc):
                    raise BlobNotFound(f"{upload} part {part}") from None
                raise
            yield from obj["Body"].iter_chunks(CHUNK)

    def digest_upload(self, upload: str, parts: int) -> str:
        whole = hashlib.sha256()
        for chunk in self._read_parts(upload, parts):
            whole.update(chunk)
        return whole.hexdigest()

    def assemble(self, upload: str, parts: int, digest: str) -> int:
        key = self._key(digest)
        mpu = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        done: list[dict[str, Any]] = []
        buffer = bytearray()
        whole = hashlib.sha256()
        size = 0

        def flush() -> None:
            number = len(done) + 1
            etag = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=mpu, PartNumber=number,
                                           Body=bytes(buffer))["ETag"]  # fmt: skip
            done.append({"ETag": etag, "PartNumber": number})
            buffer.clear()

        try:
            for chunk in self._read_parts(upload, parts):
                whole.update(chunk)
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= _S3_PART:
                    flush()
            if whole.hexdigest() != digest:
                raise DigestMismatch(digest, whole.hexdigest())
            if buffer or not done:
                flush()
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=mpu,
                                                  MultipartUpload={"Parts": done})  # fmt: skip
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=mpu)
            raise
        return size

    def discard_upload(self, upload: str) -> None:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._upload_key(upload)
        )
        for page in pages:
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents") or ()]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} ({self.endpoint_url})" if self.endpoint_url else where

