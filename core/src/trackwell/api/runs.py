"""``Run`` and ``Runs``: W&B's Public API objects, read from local run directories.

A ``Run`` is a snapshot of its log taken when it was loaded; ``run.load(force=True)``
takes a fresh one (cheap when the log has not changed, thanks to the log cache).
Attribute names follow W&B's Public API so analysis notebooks run unchanged.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, overload

from trackwell.api import history as _history
from trackwell.api.base import SummaryView
from trackwell.api.cache import LogCache
from trackwell.api.replay import RunData
from trackwell.api.system_names import SYSTEM_STREAMS, api_rows
from trackwell.errors import UsageError
from trackwell.rundir import parse_run_dir_name

if TYPE_CHECKING:
    from trackwell.table import Table

_READ_ONLY = (
    "the local trackwell Api is read-only: it reads run logs that only their run may write. "
    "Change a live run through its Run object, or resume it with trackwell.init(id=..., resume='must')"
)


class Summary(SummaryView, Mapping[str, Any]):
    """A run's summary: read like a dict (``summary["loss"]``) or attribute (``summary.loss``)."""

    def __setitem__(self, key: str, value: Any) -> None:
        raise UsageError(_READ_ONLY)

    __setattr__ = __setitem__

    def __delitem__(self, key: str) -> None:
        raise UsageError(_READ_ONLY)

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise UsageError(_READ_ONLY)


class LocalFile:
    """One file under a run's ``files/`` folder (W&B's ``File``, without a server)."""

    def __init__(self, files_dir: Path, name: str) -> None:
        self.name = name  # path relative to files/, with "/" separators, as W&B names files
        self.path = str(files_dir / name)
        try:
            self.size = os.path.getsize(self.path)
        except OSError:
            self.size = 0
        self.url = None

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> IO[str]:
        """Copy the file to ``root/name`` and open it, as W&B's ``File.download`` does."""
        dest = Path(root) / self.name
        if dest.exists() and not replace:
            if not exist_ok:
                raise FileExistsError(f"{dest} exists; pass replace=True or exist_ok=True")
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path, dest)
        return open(dest, encoding="utf-8", errors="replace")  # W&B's download returns the file open

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"


class Run:
    """One local run. ``config`` and ``tags`` are this object's own copies."""

    def __init__(self, run_dir: Path, log_path: Path, cache: LogCache) -> None:
        self._dir = Path(run_dir)
        self._log = Path(log_path)
        self._cache = cache
        self.load(force=True)

    # -- loading ---------------------------------------------------------------
    def load(self, force: bool = False) -> Run:
        """Re-read the run log (cheap when it has not changed); returns ``self``."""
        if not force and hasattr(self, "_data"):
            return self
        data = self._cache.load(self._log)
        self._data: RunData = data
        info = data.info
        parsed = parse_run_dir_name(self._dir.name)
        self.id: str = info.get("id") or (parsed[2] if parsed else self._dir.name)
        self.name: str = info.get("name") or self.id
        self.project: str | None = info.get("project")
        self.entity: str | None = info.get("entity")
        self.group: str | None = info.get("group")
        self.job_type: str | None = info.get("job_type")
        self.notes: str | None = info.get("notes")
        self.tags: list[str] = list(info.get("tags") or ())
        self.sweep_id: str | None = info.get("sweep_id")
        self.config: dict[str, Any] = copy.deepcopy(data.config)
        self.summary = Summary(data.summary)
        self.start_time: float = _start_time(info, parsed)
        self.state: str = _state(data)
        return self

    # -- identity ----------------------------------------------------------------
    @property
    def display_name(self) -> str:
        return self.name

    @property
    def path(self) -> list[str | None]:
        """``[entity, project, id]``, as W&B's ``run.path``."""
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> None:
        """Local runs have no web page (``trackwell ui`` serves them)."""
        return None

    @property
    def dir(self) -> str:
        """The run directory (``.../trackwell/offline-run-<time>-<id>``)."""
        return str(self._dir)

    @property
    def created_at(self) -> str:
        """Start time as an ISO 8601 string in UTC (W&B's format: no zone suffix)."""
        stamp = datetime.fromtimestamp(self.start_time, tz=timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S")

    @property
    def metadata(self) -> dict[str, Any]:
        return copy.deepcopy(self._data.meta)

    @property
    def commit(self) -> str | None:
        git = self._data.meta.get("git")
        return git.get("commit") if isinstance(git, dict) else None

    # -- outcome -----------------------------------------------------------------
    @property
    def exit_code(self) -> int | None:
        return self._data.exit.get("exit_code") if self._data.exit else None

    @property
    def runtime(self) -> float:
        """Seconds the run ran: its EXIT's runtime, up to now if live, else up to its last record."""
        data = self._data
        if data.exit and isinstance(data.exit.get("runtime"), (int, float)):
            return float(data.exit["runtime"])
        if self.state == "running":
            return max(0.0, time.time() - self.start_time)
        if data.last_runtime is not None:
            return data.last_runtime
        if data.last_timestamp is not None:
            return max(0.0, data.last_timestamp - self.start_time)
        return 0.0

    @property
    def lastHistoryStep(self) -> int:  # W&B's name
        """The ``_step`` of the last history row, -1 when there is none."""
        for row in reversed(self._data.history):
            step = row.get("_step")
            if isinstance(step, int):
                return step
        return -1

    @property
    def history_length(self) -> int:
        """How many history rows the run logged."""
        return len(self._data.history)

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._data.alerts)

    @property
    def system_metrics(self) -> dict[str, Any]:
        """The latest value of each system metric."""
        out: dict[str, Any] = {}
        for row in self._data.system:
            out.update(row)
        return out

    # -- history -----------------------------------------------------------------
    def history(
        self,
        samples: int | None = 500,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """Up to ``samples`` rows (every row with ``None``), evenly spaced and keeping the first and last.

        With ``keys``, only rows that hold every key (and ``x_axis``), with just those
        columns. ``stream="events"`` (or ``"system"``) gives system-metrics samples,
        named as W&B names them (``system.cpu``), whose default x-axis is
        ``_runtime`` since they have no ``_step``. Returns a
        pandas DataFrame, or a list of dicts with ``pandas=False``.
        """
        samples = _history.check_samples(samples)
        keys = _history.check_keys(keys, "history")
        rows = self._stream(stream)
        if stream in SYSTEM_STREAMS and x_axis == "_step":
            x_axis = "_runtime"
        if keys:
            picked = _history.sample(_history.select(rows, keys, x_axis), samples)
        else:  # sample first, so a 100k-row run copies only the rows returned
            picked = _history.select(_history.sample(rows, samples), None, x_axis)
        if pandas:
            return _history.to_frame(picked, keys, x_axis)
        return picked

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every history row, unsampled, with ``min_step <= _step < max_step``.

        With ``keys``, only rows holding all of them, cut to those keys. ``page_size``
        is accepted for W&B compatibility; a local log needs no paging.
        """
        _history.check_page_size(page_size)
        keys = _history.check_keys(keys, "scan_history")
        return _history.scan(self._data.history, keys, min_step, max_step)

    def _stream(self, stream: str) -> list[dict[str, Any]]:
        if stream == "default":
            return self._data.history
        if stream in SYSTEM_STREAMS:
            return api_rows(self._data.system)
        raise UsageError(f"history(stream={stream!r}): use 'default', or 'events' for system metrics")

    def table(self, key: str, step: int | None = None) -> Table:
        """The ``trackwell.Table`` logged under ``key`` (a table or a chart's table) at
        ``step``, or the last one logged; ``.get_dataframe()`` makes it a DataFrame."""
        from trackwell.table.read import run_table

        return run_table(self, key, step)

    # -- files -------------------------------------------------------------------
    def files(self, names: Sequence[str] | None = None) -> list[LocalFile]:
        """Files under the run's ``files/`` folder (config.yaml, output.log, saved files, ...)."""
        base = self._dir / "files"
        if not base.is_dir():
            return []
        found = sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
        if names is not None:
            wanted = set(names)
            found = [n for n in found if n in wanted]
        return [LocalFile(base, n) for n in found]

    def file(self, name: str) -> LocalFile:
        path = self._dir / "files" / name
        if not path.is_file():
            raise FileNotFoundError(f"run {self.id} has no file {name!r} under {self._dir / 'files'}")
        return LocalFile(self._dir / "files", name)

    @property
    def saved_files(self) -> list[str]:
        """Paths passed to ``run.save()``, relative to ``files/``, in the order saved."""
        return list(self._data.saved_files)

    # -- writes W&B allows but a local reader must not do ---------------------
    def update(self) -> None:
        raise UsageError(_READ_ONLY)

    def delete(self, delete_artifacts: bool = False) -> None:
        raise UsageError(_READ_ONLY + f"; to delete a local run remove its directory {self._dir}")

    def __repr__(self) -> str:
        return f"<Run {'/'.join(p for p in self.path if p)} ({self.state})>"


class Runs(Sequence[Run]):
    """The result of ``api.runs()``: a list-like, sized, indexable collection of ``Run``."""

    def __init__(self, runs: list[Run], description: str = "") -> None:
        self._runs = runs
        self._description = description

    @overload
    def __getitem__(self, index: int) -> Run: ...

    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...

    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        return self._runs[index]

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs)

    @property
    def length(self) -> int:
        return len(self._runs)

    def __repr__(self) -> str:
        return f"<Runs {self._description} ({len(self._runs)} runs)>"


def _start_time(info: Mapping[str, Any], parsed: tuple[bool, str, str] | None) -> float:
    start = info.get("start_time")
    if isinstance(start, (int, float)):
        return float(start)
    if parsed:  # no RUN record yet (killed right after init): the directory name has the time
        return time.mktime(time.strptime(parsed[1], "%Y%m%d_%H%M%S"))
    return 0.0


def _state(data: RunData) -> str:
    """finished/failed/killed from EXIT; else running if its process is alive here; else crashed
    (preempting and preempted, as W&B says, once the run called ``mark_preempting()``)."""
    if data.exit is not None:
        return str(data.exit.get("state") or "finished")
    info = data.info
    pid = info.get("pid")
    live = isinstance(pid, int) and info.get("host") in _this_host() and _pid_alive(pid, data.log_mtime)
    if info.get("preempting"):
        return "preempting" if live else "preempted"
    return "running" if live else "crashed"


def _this_host() -> set[str]:
    """Names a run started on this machine may carry: the hostname, or the override
    (TRACKWELL_HOST / WANDB_HOST) that ``init()`` records instead when one is set."""
    names = {socket.gethostname()}
    names.update(os.environ[v] for v in ("TRACKWELL_HOST", "WANDB_HOST") if os.environ.get(v))
    return names


def _pid_alive(pid: int, log_mtime: float | None) -> bool:
    """Whether ``pid`` is the run's process: alive, not a zombie, not a recycled pid.

    The run's process existed before its last write to the log, while a process that
    got the pid after the run died was created after that write: comparing the
    process's creation time with the log's mtime tells them apart, resumed runs
    included (a start_time would be the first session's).
    """
    import psutil  # a core dependency, imported here to keep `import trackwell` light

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return log_mtime is None or proc.create_time() <= log_mtime + 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
