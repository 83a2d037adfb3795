"""W&B's Public API run from a server: ``ServerRun`` (its summary, files and the paged
``api.runs()`` listing are in ``remote_summary``, ``remote_files`` and ``remote_pages``).

A ``ServerRun`` is a snapshot of the server's ``RunInfo`` taken when it was fetched;
``run.load(force=True)`` fetches a fresh one. Unlike local runs these are writable,
as in W&B: edit ``name``, ``tags``, ``notes``, ``group``, ``job_type``, ``config`` or
``summary`` and call ``run.update()``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackwell._pipeline.transport import file_path, run_path
from trackwell.api import remote_history as _remote_history
from trackwell.api.remote_files import ServerFile
from trackwell.api.remote_http import ServerClient, canonical, decode_floats
from trackwell.api.remote_summary import ServerSummary
from trackwell.errors import NotFoundError, RunNotFoundError, UsageError

if TYPE_CHECKING:
    from trackwell.table import Table

#: Upload part size: under the server's 25 MB per request, as the sender's parts are.
_PART_BYTES = 16 * 1024 * 1024


class ServerRun:
    """One run on a server, with W&B's ``Run`` attributes. ``config`` and ``tags`` are editable copies."""

    def __init__(
        self,
        client: ServerClient,
        info: Mapping[str, Any],
        cache: dict[tuple[str, str, str], ServerRun] | None = None,
    ) -> None:
        self._client = client
        self._cache = cache  # the Api's runs by path, which a deleted run leaves
        self._set(info)

    # -- loading ---------------------------------------------------------------
    def _set(self, info: Mapping[str, Any]) -> None:
        self._info = dict(info)
        self.entity: str = info["entity"]
        self.project: str = info["project"]
        self.id: str = info["id"]
        self.name: str = info.get("display_name") or info.get("name") or self.id
        self.group: str | None = info.get("group")
        self.job_type: str | None = info.get("job_type")
        self.notes: str | None = info.get("notes")
        self.tags: list[str] = list(info.get("tags") or ())
        self.state: str = info.get("state") or "running"
        self.config: dict[str, Any] = copy.deepcopy(info.get("config") or {})
        self.summary = ServerSummary(self, decode_floats(copy.deepcopy(info.get("summary") or {})))
        self._saved = self._editable()  # what the server holds, to send only what changed

    def load(self, force: bool = False) -> ServerRun:
        """Fetch the run again (with ``force=True``; a plain ``load()`` keeps this snapshot)."""
        if force:
            self._set(self._fetch())
        return self

    def _fetch(self) -> dict[str, Any]:
        try:
            info: dict[str, Any] = self._client.get(run_path(*self._key))
        except NotFoundError as exc:
            raise RunNotFoundError(
                f"Could not find run {self.entity}/{self.project}/{self.id} on {self._client.base_url} "
                "(deleted, or not readable with this API key)"
            ) from exc
        return info

    @property
    def _key(self) -> tuple[str, str, str]:
        return self.entity, self.project, self.id

    def logged_artifacts(self, per_page: int = 100) -> list[Any]:
        """The artifact versions this run logged (W&B's ``run.logged_artifacts()``)."""
        from trackwell.api.artifacts import run_artifacts

        return run_artifacts(self._client, self._key, "logged")

    def used_artifacts(self, per_page: int = 100) -> list[Any]:
        """The artifact versions this run used as inputs (W&B's ``run.used_artifacts()``)."""
        from trackwell.api.artifacts import run_artifacts

        return run_artifacts(self._client, self._key, "used")

    def use_artifact(self, artifact: Any, use_as: str | None = None) -> Any:
        """Record a logged version as an input of this run, finished or not (W&B's
        ``api.run(path).use_artifact(api.artifact(name))``); returns the artifact."""
        from trackwell.api.artifacts import artifact_client

        self._existing(artifact, "use_artifact")
        body = {"artifact": self._ref_of(artifact), "use_as": use_as or artifact.name}
        artifact_client(self._client).send("POST", run_path(*self._key, "used-artifacts"), body)
        return artifact

    def log_artifact(
        self, artifact: Any, aliases: Sequence[str] | None = None, tags: Sequence[str] | None = None
    ) -> Any:
        """Declare a logged version an output of this run, adding ``aliases`` and ``tags``
        (W&B's ``api.run(path).log_artifact``): the version is committed again with this
        run as its logger: the newest version of its collection keeps its number and
        first logger, an older one becomes the newest again as a version of this run."""
        from trackwell.api.artifacts import artifact_client
        from trackwell.artifacts.client import artifact_path

        self._existing(artifact, "log_artifact")
        if (artifact.entity, artifact.project) != (self.entity, self.project):
            raise ValueError("A run can't log an artifact to a different project.")
        names = [aliases] if isinstance(aliases, str) else list(aliases or ())
        entries = {path: e.to_json() for path, e in artifact.manifest.entries.items()}
        body = {
            "name": artifact._name,
            "type": artifact.type,
            "description": artifact.description,
            "metadata": artifact.metadata,
            "aliases": [a for a in names if a != "latest"],
            "tags": list(tags or ()),
            "digest": artifact.digest,
            "manifest": {"version": 1, "entries": entries},
            "run": {"entity": self.entity, "project": self.project, "run_id": self.id},
        }
        client = artifact_client(self._client)
        artifact._set_info(client.send("POST", artifact_path(self.entity, self.project), body))
        return artifact

    @staticmethod
    def _existing(artifact: Any, what: str) -> None:
        from trackwell.artifacts.artifact import Artifact

        if not isinstance(artifact, Artifact):
            raise ValueError(f"You must pass a wandb.Api().artifact() to {what}")
        if artifact.is_draft():
            raise ValueError(
                f"Only existing artifacts are accepted by {what}() of a Public API run: log the draft "
                "first (artifact.save() or run.log_artifact())"
            )
        artifact.wait()

    @staticmethod
    def _ref_of(artifact: Any) -> str:
        return f"{artifact.entity}/{artifact.project}/{artifact._name}:{artifact.version}"

    # -- identity ----------------------------------------------------------------
    @property
    def display_name(self) -> str:
        return self.name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self.name = value

    @property
    def path(self) -> list[str]:
        """``[entity, project, id]``, as W&B's ``run.path``."""
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str | None:
        """The run's page on the server."""
        return self._info.get("url")

    @property
    def created_at(self) -> str:
        """Start time as an ISO 8601 string in UTC (W&B's format: no zone suffix)."""
        return _iso(self._info.get("created_at")) or ""

    @property
    def heartbeat_at(self) -> str | None:
        """When the server last heard from the run, as ``created_at``."""
        return _iso(self._info.get("heartbeat_at"))

    @property
    def start_time(self) -> float:
        """Start time in Unix seconds (the local API's attribute)."""
        return float(self._info.get("created_at") or 0.0)

    @property
    def metadata(self) -> dict[str, Any]:
        return copy.deepcopy(self._info.get("metadata") or {})

    @property
    def commit(self) -> str | None:
        git = self.metadata.get("git")
        return git.get("commit") if isinstance(git, dict) else None

    @property
    def sweep_id(self) -> str | None:
        sweep = self._info.get("sweep_id")
        return sweep if isinstance(sweep, str) else None

    # -- outcome -----------------------------------------------------------------
    @property
    def exit_code(self) -> int | None:
        return self._info.get("exit_code")

    @property
    def runtime(self) -> float:
        return float(self._info.get("runtime") or 0.0)

    @property
    def lastHistoryStep(self) -> int:  # W&B's name
        """The ``_step`` of the last history row, -1 when there is none."""
        step = self._info.get("last_step")
        return step if isinstance(step, int) else -1

    @property
    def history_keys(self) -> list[str]:
        """Every metric name the run logged."""
        return list(self._info.get("history_keys") or ())

    @property
    def system_metrics(self) -> dict[str, Any]:
        """The latest value of each system metric (one request each time it is read)."""
        latest: dict[str, Any] = {}
        for row in decode_floats(self._client.get(run_path(*self._key, "system"))["rows"]):
            latest.update(row)
        return latest

    @property
    def fork_of(self) -> dict[str, Any] | None:
        return copy.deepcopy(self._info.get("fork_of"))

    # -- history -----------------------------------------------------------------
    def history(
        self,
        samples: int | None = 500,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """About ``samples`` rows per key, downsampled on the server keeping each bucket's min and max.

        As the local API: with ``keys``, rows holding those keys cut to them (plus
        ``x_axis``); ``stream="events"`` gives system metrics; a DataFrame, or a list
        of dicts with ``pandas=False``. ``samples=None`` means every row; with
        ``keys`` and ``pandas=True`` those come as packed columns, which is what makes
        a million points load in well under a second (one row per step where any of
        ``keys`` was logged, NaN where one was not, as W&B documents).
        """
        return _remote_history.history(
            self._client,
            self._key,
            self.lastHistoryStep,
            self.history_keys,
            samples,
            keys,
            x_axis,
            pandas,
            stream,
        )

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every history row with ``min_step <= _step < max_step``, fetched ``page_size`` rows at a time.

        Lazy: no request is made until the first row is asked for, and each further
        page only when the previous one is used up.
        """
        return _remote_history.scan(self._client, self._key, keys, page_size, min_step, max_step)

    def table(self, key: str, step: int | None = None) -> Table:
        """The ``trackwell.Table`` logged under ``key`` (a table or a chart's table) at
        ``step``, or the last one logged; ``.get_dataframe()`` makes it a DataFrame."""
        from trackwell.table.read import run_table

        return run_table(self, key, step)

    # -- files -------------------------------------------------------------------
    def files(self, names: Sequence[str] | None = None, per_page: int = 50) -> list[ServerFile]:
        """The run's uploaded files (``per_page`` is accepted for W&B compatibility)."""
        listing = self._client.get(run_path(*self._key, "files"))["files"]
        found = [ServerFile(self._client, self, info) for info in listing]
        if names is not None:
            wanted = set(names)
            found = [f for f in found if f.name in wanted]
        return found

    def file(self, name: str) -> ServerFile:
        """The file ``name`` (a path relative to the run's files); ``FileNotFoundError`` if none."""
        for found in self.files([name]):
            return found
        raise FileNotFoundError(f"run {'/'.join(self.path)} has no file {name!r} on {self._client.base_url}")

    def upload_file(self, path: str, root: str = ".") -> ServerFile:
        """Upload the local file ``path`` to the run, named by its path relative to ``root`` (W&B's).

        Files over the server's per-request limit go up in parts.
        """
        local = Path(path).resolve()
        name = Path(os.path.relpath(local, Path(root).resolve())).as_posix()
        if name.startswith("../"):
            raise UsageError(f"run.upload_file({path!r}, root={root!r}): the file must be under root")
        size = local.stat().st_size
        parts = max(1, -(-size // _PART_BYTES))
        target = file_path(*self._key, name)
        with open(local, "rb") as fh:
            for part in range(parts):
                params = {"part": part, "parts": parts} if parts > 1 else None
                stored = self._client.put_bytes(target, fh.read(_PART_BYTES), params)
        return ServerFile(self._client, self, {**stored, "size": size})

    # -- writes --------------------------------------------------------------------
    def update(self) -> None:
        """Save edited ``name``, ``tags``, ``notes``, ``group``, ``job_type``, ``config`` and ``summary``.

        Only fields that differ from what was fetched are sent, so saving a summary
        edit does not overwrite config changes the live run made meanwhile (the server
        replaces ``config`` and ``summary`` whole).
        """
        current = self._editable()
        changed = {k: v for k, v in current.items() if canonical(v) != canonical(self._saved.get(k))}
        if not changed:
            return
        self._set(self._client.send("PATCH", run_path(*self._key), changed))

    def save(self) -> None:
        """W&B's older name for ``update()``."""
        self.update()

    def delete(self, delete_artifacts: bool = False) -> None:
        """Delete the run on the server with its history and files (``delete_artifacts`` is W&B's, unused)."""
        self._client.send("DELETE", run_path(*self._key))
        if self._cache is not None:
            self._cache.pop(self._key, None)  # so api.run(path) asks the server, and hears "not found"

    def _editable(self) -> dict[str, Any]:
        values = {
            "name": self.name,
            "group": self.group,
            "job_type": self.job_type,
            "tags": list(self.tags),
            "notes": self.notes,
            "config": self.config,
            "summary": self.summary._values,
        }
        return copy.deepcopy(values)

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"


def _iso(stamp: Any) -> str | None:
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        return None
    return datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
