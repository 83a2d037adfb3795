"""W&B's Public API objects from a server: ``ServerRun``, ``ServerRuns``, ``ServerSummary``, ``ServerFile``.

A ``ServerRun`` is a snapshot of the server's ``RunInfo`` taken when it was fetched;
``run.load(force=True)`` fetches a fresh one. Unlike local runs these are writable,
as in W&B: edit ``name``, ``tags``, ``notes``, ``group``, ``job_type``, ``config`` or
``summary`` and call ``run.update()``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, overload
from urllib.parse import quote

from trackwell._pipeline.transport import file_path, run_path
from trackwell.api import remote_history as _remote_history
from trackwell.api.base import SummaryView
from trackwell.api.remote_http import ServerClient, decode_floats, dumps, encode_floats
from trackwell.errors import NotFoundError, RunNotFoundError, UsageError

if TYPE_CHECKING:
    from trackwell.table import Table

#: Upload part size: under the server's 25 MB per request, as the sender's parts are.
_PART_BYTES = 16 * 1024 * 1024


class ServerSummary(SummaryView, MutableMapping[str, Any]):
    """A server run's summary: a dict you may edit; ``run.update()`` (or ``summary.update()``) saves it.

    ``summary.update({...})`` both edits and saves, as W&B's does, so the documented
    ``run.summary.update({"key": val})`` works in one call.
    """

    def __init__(self, run: ServerRun, values: dict[str, Any]) -> None:
        self.__dict__["_run"] = run
        super().__init__(values)

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = _summary_value(value)

    def __delitem__(self, key: str) -> None:
        del self._values[key]

    def __setattr__(self, key: str, value: Any) -> None:
        self._values[key] = _summary_value(value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set the given keys, then save the run (W&B's ``run.summary.update()``)."""
        for key, value in dict(*args, **kwargs).items():
            self._values[key] = _summary_value(value)
        self._run.update()


#: Arrays longer than this are kept as a histogram of 32 bins, as W&B does.
_MAX_ARRAY = 32


def _summary_value(value: Any) -> Any:
    """``value`` as the JSON the server stores: arrays and numpy numbers as numbers, a
    ``Histogram`` (or an array of more than 32 values) as W&B's histogram object."""
    from trackwell.media import _util
    from trackwell.media.base import Media
    from trackwell.media.histogram import Histogram

    if isinstance(value, Media):
        if not isinstance(value, Histogram):
            raise TypeError(
                f"a {type(value).__name__} in the summary of a Public API run needs its files: "
                "log it from a run (wandb.init(id=..., resume='must')) instead"
            )
        return value.to_record(None)
    if isinstance(value, Mapping):
        return {str(k): _summary_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_summary_value(v) for v in value]
    if _util.is_numpy(value):
        if getattr(value, "ndim", 0) == 0:
            return value.item()
        if value.size > _MAX_ARRAY:
            return Histogram(value.ravel(), num_bins=_MAX_ARRAY).to_record(None)
        return value.tolist()
    return value


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
        changed = {k: v for k, v in current.items() if _canonical(v) != _canonical(self._saved.get(k))}
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


class ServerRuns(Sequence[ServerRun]):
    """The result of ``api.runs()`` on a server: list-like, fetched a page at a time as it is used.

    Iterating fetches the next page only when the previous one is used up; ``len()``
    fetches at most the first page (the server sends the total with it).
    """

    def __init__(
        self,
        client: ServerClient,
        entity: str,
        project: str,
        filters: Mapping[str, Any] | None,
        order: str | None,
        per_page: int,
    ) -> None:
        if filters is not None and not isinstance(filters, Mapping):
            raise UsageError("api.runs(filters=...) must be a dict, e.g. {'config.lr': 0.1}")
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= 1000:
            raise UsageError(f"api.runs(per_page=...) must be an integer from 1 to 1000, got {per_page!r}")
        self._client = client
        self.entity = entity
        self.project = project
        self.filters = dict(filters or {})
        self.order = order
        self.per_page = per_page
        self._runs: list[ServerRun] = []
        self._cursor: str | None = None
        self._done = False
        self._total: int | None = None

    @property
    def query_key(self) -> str:
        """Identifies the query, so the ``Api`` can hand back the same pages for the same call."""
        return _canonical([self.entity, self.project, self.filters, self.order, self.per_page])

    def _fetch_page(self) -> None:
        params: dict[str, Any] = {
            "per_page": self.per_page,
            "cursor": self._cursor,
            "order": self.order or None,
        }
        if self.filters:
            params["filters"] = dumps(self.filters)
        path = "/runs/" + "/".join(quote(p, safe="") for p in (self.entity, self.project))
        page = self._client.get(path, params)
        self._runs.extend(ServerRun(self._client, info) for info in page["runs"])
        self._total = int(page.get("total", len(self._runs)))
        self._cursor = page.get("next_cursor")
        self._done = not self._cursor

    @property
    def cursor(self) -> str | None:
        """The server's cursor for the next page (W&B's ``Paginator.cursor``); None after the last."""
        return self._cursor

    @property
    def more(self) -> bool:
        """Whether pages are left to fetch (W&B's ``Paginator.more``): True before the first."""
        return not self._done

    def _load_until(self, count: int | None) -> None:
        """Fetch pages until ``count`` runs are held (all of them with ``None``)."""
        while not self._done and (count is None or len(self._runs) < count):
            self._fetch_page()

    @overload
    def __getitem__(self, index: int) -> ServerRun: ...

    @overload
    def __getitem__(self, index: slice) -> list[ServerRun]: ...

    def __getitem__(self, index: int | slice) -> ServerRun | list[ServerRun]:
        if isinstance(index, slice):
            stop = index.stop
            self._load_until(stop if stop is not None and stop >= 0 and (index.start or 0) >= 0 else None)
            return self._runs[index]
        self._load_until(index + 1 if index >= 0 else None)
        return self._runs[index]

    def __len__(self) -> int:
        if self._total is None:
            self._fetch_page()
        return self._total or 0

    def __iter__(self) -> Iterator[ServerRun]:
        i = 0
        while True:
            if i >= len(self._runs):
                if self._done:
                    return
                self._fetch_page()
                continue
            yield self._runs[i]
            i += 1

    @property
    def length(self) -> int:
        return len(self)

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project} ({len(self)} runs)>"


def _iso(stamp: Any) -> str | None:
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        return None
    return datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _canonical(value: Any) -> str:
    """A comparable form in which NaN equals NaN (``nan != nan`` would resend every NaN summary)."""
    return json.dumps(encode_floats(value), sort_keys=True, default=repr)
