"""``init(sync_tensorboard=True)``: log what SummaryWriters write, as they write it.

W&B's behaviour: the event-file writers of tensorboard (used by
``torch.utils.tensorboard``) and tensorboardX are patched, so every event a
``SummaryWriter`` adds is also logged to the current run, with the TensorBoard step
as ``global_step``; the event files themselves are saved into the run at the end.

The patch wraps ``EventFileWriter.add_event`` (and ``flush``), public methods both
libraries have had for years. A writer module imported after the run started is
patched when it is imported (a small ``sys.meta_path`` hook, removed with the patch).
Values of one step are collected until the writer moves to another step (or flushes,
or the run finishes), then logged as one row.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
import types
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trackwell_tensorboard.convert import convert_event
from trackwell_tensorboard.events import decode_event, is_event_file
from trackwell_tensorboard.importer import prefix_for, save_media

if TYPE_CHECKING:
    from trackwell.extend import Run

logger = logging.getLogger("trackwell.tensorboard")

#: Modules defining an ``EventFileWriter`` class with ``add_event(event)``.
WRITER_MODULES = (
    "tensorboard.summary.writer.event_file_writer",  # torch.utils.tensorboard, tensorboard
    "tensorboardX.event_file_writer",
)

_lock = threading.RLock()
_runs: list[Run] = []  # runs syncing, oldest first; events go to the newest
_root_logdir: str | None = None  # given to patch(): prefixes and where event files go
_first_logdir: str | None = None  # without one: prefixes are relative to the first writer's
_originals: dict[type, tuple[Any, Any]] = {}  # EventFileWriter class -> (add_event, flush)
_finder: _PatchOnImport | None = None
_streams: weakref.WeakKeyDictionary[Any, _Stream] = weakref.WeakKeyDictionary()
_logdirs: dict[str, None] = {}  # every logdir seen, in order (saved at finish)
_warned = False


class _Stream:
    """The row being collected for one writer: values of its current step."""

    __slots__ = ("prefix", "row", "step")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.step: int | None = None
        self.row: dict[str, Any] = {}


def _target() -> Run | None:
    return _runs[-1] if _runs else None


def _emit(stream: _Stream, run: Run) -> None:
    if stream.row and stream.step is not None:
        row, stream.row = stream.row, {}
        row["global_step"] = stream.step
        run.log(row)


def _forward(writer: Any, event: Any) -> None:
    run = _target()
    if run is None:
        return
    serialize = getattr(event, "SerializeToString", None)
    if serialize is None:
        return
    decoded = decode_event(serialize())
    if not decoded.values:
        return
    with _lock:
        stream = _streams.get(writer)
        if stream is None:
            global _first_logdir
            logdir = os.fspath(writer.get_logdir())
            _logdirs.setdefault(logdir, None)
            if _first_logdir is None:
                _first_logdir = logdir
            # add_scalars() writes each series through a writer in a sub-folder of the
            # main one, all with the same tag: the sub-folder tells them apart.
            stream = _streams[writer] = _Stream(prefix_for(logdir, _root_logdir or _first_logdir))
        if stream.step is not None and decoded.step != stream.step:
            _emit(stream, run)
        stream.step = decoded.step
        converted = convert_event(decoded, stream.prefix)
        if converted.config:
            run.config.update(converted.config, allow_val_change=True)
        stream.row.update(converted.values)
        stream.row.update(save_media(run, converted.media))


def _report(exc: Exception) -> None:
    global _warned
    logger.debug("tensorboard sync failed", exc_info=exc)
    if not _warned:
        _warned = True
        import warnings

        from trackwell.errors import PluginWarning

        try:
            warnings.warn(
                f"trackwell-tensorboard: could not log a TensorBoard event ({type(exc).__name__}: {exc}); "
                "TensorBoard itself is unaffected",
                PluginWarning,
                stacklevel=3,
            )
        except Exception:
            pass


def _patch_class(cls: type) -> None:
    if cls in _originals:
        return
    add_event, flush = cls.add_event, getattr(cls, "flush", None)  # type: ignore[attr-defined]

    def patched_add_event(self: Any, event: Any) -> Any:
        result = add_event(self, event)
        try:
            _forward(self, event)
        except Exception as exc:  # never break the user's SummaryWriter
            _report(exc)
        return result

    def patched_flush(self: Any) -> Any:
        result = flush(self) if flush is not None else None
        run = _target()
        if run is not None:
            with _lock:
                stream = _streams.get(self)
                if stream is not None:
                    try:
                        _emit(stream, run)
                    except Exception as exc:
                        _report(exc)
        return result

    _originals[cls] = (add_event, flush)
    cls.add_event = patched_add_event  # type: ignore[attr-defined]
    if flush is not None:
        cls.flush = patched_flush  # type: ignore[attr-defined]


def _patch_module(module: types.ModuleType) -> None:
    cls = getattr(module, "EventFileWriter", None)
    if isinstance(cls, type) and hasattr(cls, "add_event"):
        with _lock:
            _patch_class(cls)


def _patching(exec_module: Callable[[types.ModuleType], None]) -> Callable[[types.ModuleType], None]:
    def exec_and_patch(module: types.ModuleType) -> None:
        exec_module(module)
        _patch_module(module)

    return exec_and_patch


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a writer module right after it is imported, when that happens after init()."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in WRITER_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module = _patching(spec.loader.exec_module)  # type: ignore[method-assign,assignment]
                return spec
        return None


def patch(root_logdir: str | os.PathLike[str] | None = None) -> None:
    """Patch the SummaryWriters of tensorboard and tensorboardX (idempotent).

    ``root_logdir``: keys of writers in its sub-folders get the sub-folder as prefix
    (``train/loss``). ``init(sync_tensorboard=True)`` calls this; call it yourself
    (with ``register_run``) to sync into a run started without it.
    """
    global _finder, _root_logdir
    with _lock:
        if root_logdir is not None:
            _root_logdir = os.fspath(root_logdir)
        for name in WRITER_MODULES:
            module = sys.modules.get(name)
            if module is not None:
                _patch_module(module)
        if _finder is None:
            _finder = _PatchOnImport()
            sys.meta_path.insert(0, _finder)


def unpatch() -> None:
    """Undo :func:`patch`: writers stop logging to trackwell."""
    global _finder, _root_logdir, _first_logdir
    with _lock:
        for cls, (add_event, flush) in _originals.items():
            cls.add_event = add_event  # type: ignore[attr-defined]
            if flush is not None:
                cls.flush = flush  # type: ignore[attr-defined]
        _originals.clear()
        if _finder is not None and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        _finder = None
        _root_logdir = _first_logdir = None


def register_run(run: Run) -> None:
    """Send events of patched writers to ``run`` (the newest registered run wins)."""
    with _lock:
        if run not in _runs:
            _runs.append(run)


def finish_run(run: Run, save_event_files: bool = True) -> None:
    """Log what the writers still hold for ``run``, save their event files, and stop
    syncing into it; the patch is removed when no run syncs any more."""
    with _lock:
        if run not in _runs:
            return
        if _target() is run:
            for stream in list(_streams.values()):
                _emit(stream, run)
        if save_event_files and not run.disabled:
            for logdir in _logdirs:
                # files/<logdir name>/events...: the layout TensorBoard reads back
                base = _root_logdir or os.path.dirname(os.path.abspath(logdir))
                for entry in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else ():
                    if is_event_file(entry):
                        run.save(os.path.join(logdir, entry), base_path=base, policy="now")
        _runs.remove(run)
        if not _runs:
            _streams.clear()
            _logdirs.clear()
            unpatch()
