"""``run.watch(model)``: gradient and parameter histograms from hooks, W&B's key names.

Gradients come from a hook on each trainable parameter (``Tensor.register_hook``),
parameters from a forward hook on the model. A hook call only counts in Python; every
``log_freq``-th call computes the histogram on the tensor's own device
(``torch.aminmax`` and ``torch.histc``, 64 bins) and copies the 64 counts and the range
to the host, the only synchronization a watched step ever causes. The result joins the
run's current row with ``commit=False``, so it lands at the step of the user's next
``log()``, as in W&B.

Each histogram is a ``trackwell.Histogram`` (W&B's ``{"_type": "histogram", "values",
"bins"}`` record, read back whole). Keys: ``gradients/<param name>`` and
``parameters/<param name>``; the model at watch index ``i > 0`` gets W&B's prefix
``graph_<i>`` (``gradients/graph_1fc.weight``).
Frozen parameters (``requires_grad=False``) get no hook and no histogram.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from trackwell import Histogram
from trackwell.errors import UsageError
from trackwell.extend import on_finish, run_directory

if TYPE_CHECKING:
    from trackwell.extend import Run

HIST_BINS = 64
LOG_CHOICES = ("gradients", "parameters", "all", None)

#: run -> its watches, in watch order (a run that is gone takes its entry along).
_watches: weakref.WeakKeyDictionary[Any, list[_Watch]] = weakref.WeakKeyDictionary()
#: run -> the next watch index (W&B's global watch counter, per run here).
_next_idx: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def tensor_histogram(tensor: torch.Tensor, bins: int = HIST_BINS) -> tuple[list[float], list[float]] | None:
    """``(counts, edges)`` of the finite values of ``tensor``, computed on its device.

    ``len(edges) == bins + 1``, from the smallest to the largest finite value. When
    every value is the same, the range is widened by 0.5 on each side (so the values
    fall in the middle bin, not on an edge). None when no value is finite.
    Two device-to-host copies (the range, then the counts): call it only on steps that log.
    """
    flat = tensor.detach().reshape(-1)
    if flat.is_sparse or flat.numel() == 0:
        return None
    if not flat.is_floating_point() or flat.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()  # histc needs a float type; halves are upcast as W&B does
    lo, hi = torch.stack(torch.aminmax(flat)).tolist()
    if not (_finite(lo) and _finite(hi)):
        flat = flat[torch.isfinite(flat)]
        if flat.numel() == 0:
            return None
        lo, hi = torch.stack(torch.aminmax(flat)).tolist()
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(flat, bins=bins, min=lo, max=hi).tolist()
    step = (hi - lo) / bins
    edges = [lo + i * step for i in range(bins)] + [hi]
    return counts, edges


def _finite(x: float) -> bool:
    return x - x == 0.0  # False for inf and nan


class _Watch:
    """The hooks of one model watched by one run."""

    def __init__(self, run: Run, model: torch.nn.Module, prefix: str, log: str | None, log_freq: int) -> None:
        self.run = run
        self.model_ref = weakref.ref(model)
        self.prefix = prefix
        self.log_freq = log_freq
        self.handles: list[Any] = []
        if log in ("parameters", "all"):
            self._forwards = 0
            self.handles.append(model.register_forward_hook(self._on_forward))
        if log in ("gradients", "all"):
            for name, param in model.named_parameters():
                if param.requires_grad:
                    self.handles.append(param.register_hook(self._grad_hook(name)))

    @property
    def model(self) -> torch.nn.Module | None:
        return self.model_ref()

    def _grad_hook(self, name: str) -> Callable[[torch.Tensor], None]:
        key = f"gradients/{self.prefix}{name}"
        calls = [0]
        log_freq = self.log_freq

        def hook(grad: torch.Tensor) -> None:
            calls[0] += 1
            if calls[0] < log_freq:
                return
            calls[0] = 0
            self._log({key: grad})

        return hook

    def _on_forward(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        self._forwards += 1
        if self._forwards < self.log_freq:
            return
        self._forwards = 0
        p = self.prefix
        self._log({f"parameters/{p}{n}": t for n, t in module.named_parameters() if t.requires_grad})

    def _log(self, tensors: dict[str, torch.Tensor]) -> None:
        row = {}
        with torch.no_grad():
            for key, tensor in tensors.items():
                hist = tensor_histogram(tensor)
                if hist is not None:
                    row[key] = Histogram(np_histogram=hist)
        if row:
            self.run.log(row, commit=False)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def _models(models: Any) -> list[torch.nn.Module]:
    items = list(models) if isinstance(models, (list, tuple)) else [models]
    for model in items:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"watch() expects torch.nn.Module models, got {type(model).__name__}")
    return items


def _current_run(run: Run | None) -> Run:
    if run is not None:
        return run
    import trackwell

    if trackwell.run is None:
        raise UsageError("You must call trackwell.init() before watch()")
    return trackwell.run


def watch(
    models: torch.nn.Module | Sequence[torch.nn.Module],
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
    run: Run | None = None,
) -> list[torch.nn.Module]:
    """Hook ``models`` so that their gradients and/or parameters are logged as histograms.

    ``log``: ``"gradients"`` (default), ``"parameters"``, ``"all"`` or None (no
    histograms). ``log_freq``: every how many backward passes (gradients) or forward
    calls (parameters) a histogram is taken. ``idx``: the watch index of the first model
    (keys of index ``i > 0`` get the prefix ``graph_<i>``; default: this run's next).
    ``log_graph``: also save the module tree (types, parameter shapes and counts) as
    ``graph_<i>.json`` in the run's files. ``criterion`` is accepted for W&B
    compatibility and not used. Returns the models, as W&B does.
    A disabled run (``mode="disabled"``, such as a non-zero rank's) adds no hooks.
    """
    if log not in LOG_CHOICES:
        raise UsageError(f"watch(log=...) must be 'gradients', 'parameters', 'all' or None, not {log!r}")
    if type(log_freq) is not int or log_freq < 1:
        raise UsageError(f"watch(log_freq=...) must be a positive integer, not {log_freq!r}")
    items = _models(models)
    run = _current_run(run)
    if run.disabled:
        return items
    watched = _watches.setdefault(run, [])
    for model in items:
        if any(w.model is model for w in watched):
            raise UsageError(
                "You can only call watch() once per model; call unwatch(model) first to watch it again"
            )
    first = _next_idx.get(run, 0) if idx is None else int(idx)
    if not watched and not _next_idx.get(run):
        on_finish(run, _on_run_finish)  # hooks must not log into a finished run
    for offset, model in enumerate(items):
        index = first + offset
        prefix = f"graph_{index}" if index > 0 else ""
        watched.append(_Watch(run, model, prefix, log, log_freq))
        if log_graph:
            _save_graph(run, model, index)
    _next_idx[run] = max(_next_idx.get(run, 0), first + len(items))
    return items


def unwatch(
    models: torch.nn.Module | Sequence[torch.nn.Module] | None = None, run: Run | None = None
) -> None:
    """Remove the hooks of ``models`` (every watched model of the run when None)."""
    run = _current_run(run)
    watched = _watches.get(run, [])
    targets = None if models is None else _models(models)
    keep = []
    for w in watched:
        if targets is None or any(w.model is m for m in targets):
            w.remove()
        else:
            keep.append(w)
    watched[:] = keep


def _on_run_finish(run: Run) -> None:
    for w in _watches.pop(run, []):
        w.remove()


def module_graph(model: torch.nn.Module) -> dict[str, Any]:
    """The module tree: each module's type, its own parameters' shapes and its parameter counts."""

    def node(name: str, module: torch.nn.Module) -> dict[str, Any]:
        own = dict(module.named_parameters(recurse=False))
        return {
            "name": name,
            "type": type(module).__name__,
            "module": type(module).__module__,
            "parameters": {n: list(p.shape) for n, p in own.items()},
            "num_parameters": sum(p.numel() for p in module.parameters()),
            "trainable_parameters": sum(p.numel() for p in module.parameters() if p.requires_grad),
            "children": [node(n, child) for n, child in module.named_children()],
        }

    return {"format": "trackwell-module-graph/1", "root": node("", model)}


def _save_graph(run: Run, model: torch.nn.Module, index: int) -> None:
    path = run_directory(run) / f"graph_{index}.json"
    path.write_text(json.dumps(module_graph(model), indent=1), encoding="utf-8")
    run.save(str(path), base_path=str(run_directory(run)), policy="now")
