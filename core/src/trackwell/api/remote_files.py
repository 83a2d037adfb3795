"""One file of a server run, as the Public API reads, downloads and deletes it (W&B's ``File``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trackwell._pipeline.transport import file_path
from trackwell.api.remote_http import ServerClient

if TYPE_CHECKING:
    from trackwell.api.remote_runs import ServerRun


class ServerFile:
    """One file of a server run (W&B's ``File``): ``name``, ``size``, ``sha256``, ``download()``."""

    def __init__(self, client: ServerClient, run: ServerRun, info: Mapping[str, Any]) -> None:
        self._client = client
        self._run = run
        self.name: str = info["path"]
        self.size: int = int(info.get("size") or 0)
        self.sha256: str | None = info.get("sha256")
        self.md5 = None  # W&B has md5; the server hashes with sha256
        self.updated_at: float | None = info.get("updated_at")
        self.url: str | None = info.get("url")

    def read_bytes(self) -> bytes:
        """The file's content, straight from the server."""
        return self._client.get_bytes(file_path(*self._run._key, self.name))

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> IO[str]:
        """Save the file as ``root/name`` and return it open for reading, as W&B's ``File.download``.

        An existing file raises ``FileExistsError`` unless ``replace=True`` (overwrite)
        or ``exist_ok=True`` (keep it and open it).
        """
        dest = Path(root) / self.name
        if dest.exists() and not replace:
            if not exist_ok:
                raise FileExistsError(f"{dest} exists; pass replace=True or exist_ok=True")
        else:
            data = self.read_bytes()
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(dest)  # never leave a half-written file under the real name
        return open(dest, encoding="utf-8", errors="replace")

    def delete(self) -> None:
        """Delete the file from its run on the server (W&B's ``File.delete()``)."""
        self._client.send("DELETE", file_path(*self._run._key, self.name))

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"
