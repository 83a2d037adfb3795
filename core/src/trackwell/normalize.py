"""Turn what users pass to ``log()`` into plain values, on the caller's thread.

This is the hot path: a row of plain Python floats and ints must cost a type check
per value and nothing more. Everything else (numpy and torch scalars, nested dicts,
lists, big strings) takes the slow path, which recognises numpy and torch by the
module their type comes from, so neither is ever imported here.

The caller must normalize (not the writer) because it owns the objects: a tensor or a
list handed to ``log()`` may be changed by the training loop right after the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trackwell import limits
from trackwell.errors import DataDroppedWarning, warn_user
from trackwell.media.base import Media

_PLAIN = frozenset((float, int, bool, type(None)))
DROP = object()


class _Budget:
    """Counts the bytes of a row's non-scalar values against the record limit, and
    carries what every warning names: the step, and the value limit in force."""

    __slots__ = ("used", "step", "max_value")

    def __init__(self, step: int | None = None) -> None:
        self.used = 0
        self.step = step
        self.max_value = limits.current().max_value_bytes

    @property
    def at(self) -> str:
        return "" if self.step is None else f" at step {self.step}"


def normalize_row(
    data: Mapping[Any, Any], step: int | None = None, run: Any = None, where: str = "log"
) -> dict[str, Any]:
    """Return a new dict of plain values, or raise TypeError for a non-string key.

    Values that cannot be recorded are dropped with a ``DataDroppedWarning`` naming the
    key and the step the row goes to (``step``, else ``run.step``, read only then); the
    rest of the row is kept. A row
    whose values add up to more than ``max_record_bytes`` (25 MB) is dropped whole.
    """
    row = dict(data)
    fixes = None
    for key, value in row.items():
        if type(key) is not str or type(value) not in _PLAIN:
            if fixes is None:
                fixes = []
            fixes.append(key)
    if fixes is None and "" not in row:  # one hash lookup: the empty key no store can hold
        return row
    if step is None and run is not None:
        step = run.step
    return _fix_row(row, fixes or [], step, where)


def _fix_row(row: dict[Any, Any], keys: list[Any], step: int | None, where: str) -> dict[str, Any]:
    budget = _Budget(step)
    if "" in row:
        value = row.pop("")
        warn_user(
            f"trackwell.{where}(): the key '' (empty){budget.at} cannot be stored; its value "
            f"({type(value).__name__}) was dropped, the rest of the row was kept",
            DataDroppedWarning,
        )
        keys = [k for k in keys if k != ""]
    for key in keys:
        if type(key) is not str:
            if isinstance(key, str):  # str subclass, e.g. an Enum mixing in str
                row[str(key)] = row.pop(key)
                continue
            raise TypeError(
                f"keys passed to trackwell.{where}() must be strings, got {key!r} "
                f"({type(key).__name__}); nothing from this call was logged"
            )
    for key in keys:
        skey = str(key)
        if type(row.get(skey)) in _PLAIN:
            continue
        value = convert(row[skey], skey, budget, where)
        if value is DROP:
            del row[skey]
        else:
            row[skey] = value
    most = limits.current().max_record_bytes
    if budget.used > most:
        warn_user(
            f"trackwell.{where}(){budget.at}: this call holds about {budget.used / 1e6:.1f} MB, over the "
            f"{most / 1e6:g} MB limit for one call; the whole call was dropped. "
            "Log large data as files or artifacts instead.",
            DataDroppedWarning,
        )
        return {}
    return row


def convert(value: Any, key: str, budget: _Budget | None = None, where: str = "log") -> Any:
    """Convert one value to plain data; return the drop marker when it can't be kept."""
    if budget is None:
        budget = _Budget()
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is str:
        return _sized(value, len(value), key, budget, where)
    if isinstance(value, Media):  # snapshotted now (constructor or _for_log); encoded by the writer
        return value._for_log()
    module = kind.__module__
    if module == "numpy" or module.startswith("numpy."):
        return _from_numpy(value, key, budget, where)
    if module == "torch" or module.startswith("torch."):
        return _from_torch(value, key, budget, where)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _sized(str(value), len(value), key, budget, where)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"keys passed to trackwell.{where}() must be strings, got {k!r} "
                    f"({type(k).__name__}) inside {key!r}; nothing from this call was logged"
                )
            converted = convert(v, f"{key}.{k}", budget, where)
            if converted is not DROP:
                out[str(k)] = converted
        return out
    if isinstance(value, (list, tuple, set, frozenset, range)):
        if len(value) > budget.max_value // 8:
            return _too_big(key, len(value) * 8, budget, where)
        before = budget.used
        items = [convert(v, key, budget, where) for v in value]
        items = [v for v in items if v is not DROP]
        # nested lists and strings were counted as they were converted: they count
        # toward this list's size too (the server sizes a list by its whole encoding)
        size = budget.used - before + _estimate(items)
        budget.used = before
        return _sized(items, size, key, budget, where)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return _sized(data, len(data), key, budget, where)
    iso = getattr(value, "isoformat", None)
    if iso is not None and module == "datetime":
        return iso()
    media = _as_media(value, module)
    if media is not None:
        return media
    if hasattr(value, "__float__"):  # Decimal, Fraction, other numeric types
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    warn_user(
        f"trackwell.{where}(): value of {key!r}{budget.at} has type {kind.__module__}.{kind.__qualname__}, "
        "which trackwell cannot record; that key was dropped, the rest of the row was kept",
        DataDroppedWarning,
    )
    return DROP


def storable_text(text: str) -> str:
    """``text`` as UTF-8 can hold it: each lone surrogate becomes its escape, ``\\udc80``.

    Python strings may hold lone surrogates (``os.fsdecode`` makes ``"\\udc80"`` of a file
    name's byte 0x80), UTF-8 cannot. Instead of refusing the value, each one is written
    as the six characters of its backslash escape (Python's ``backslashreplace``), so it
    stays visible and a reader can tell what it was. Everything else is unchanged. The
    server applies the same rule to what it ingests.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable(obj: Any) -> Any:
    """``obj`` with every string in it, map keys included, made storable (``storable_text``).

    Shared by the writer (a record msgpack refused) and the server (JSON it ingests), so
    both escape alike."""
    if isinstance(obj, str):
        return storable_text(obj)
    if isinstance(obj, dict):
        return {storable_text(k) if isinstance(k, str) else k: storable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [storable(v) for v in obj]
    return obj


def _as_media(value: Any, module: str) -> Media | None:
    """A figure (matplotlib: Image; plotly: Plotly), a pandas DataFrame (Table) or a
    plugin-converted object as Media.

    Recognised by module name, so neither library is imported to check.
    """
    if module == "builtins" and getattr(value, "__name__", None) == "matplotlib.pyplot":
        value, module = value.gcf(), "matplotlib.figure"  # W&B's log({"chart": plt}): the current figure
    if module.startswith("matplotlib.") and hasattr(value, "savefig"):
        from trackwell.media.image import Image

        return Image(value)
    if module.startswith("plotly.") and hasattr(value, "to_plotly_json"):
        from trackwell.media.plotly import Plotly

        return Plotly(value)
    if module.split(".")[0] == "pandas" and type(value).__name__ == "DataFrame":  # as W&B: a Table
        from trackwell.table import Table

        return Table(dataframe=value)
    from trackwell.media.base import find_converter

    converter = find_converter(value)
    return None if converter is None else converter(value)


def _from_numpy(value: Any, key: str, budget: _Budget, where: str) -> Any:
    ndim = getattr(value, "ndim", 0)
    if ndim == 0 and hasattr(value, "item"):
        item = value.item()
        return item if type(item) in _PLAIN or type(item) is str else convert(item, key, budget, where)
    size = getattr(value, "nbytes", 0)
    if size > budget.max_value:
        return _too_big(key, size, budget, where)
    if hasattr(value, "tolist"):
        return convert(value.tolist(), key, budget, where)
    return _unknown(value, key, budget, where)


def _from_torch(value: Any, key: str, budget: _Budget, where: str) -> Any:
    numel = getattr(value, "numel", None)
    if numel is None:
        return _unknown(value, key, budget, where)
    n = numel()
    if n == 1 and value.dim() == 0:
        return value.detach().cpu().item()
    if n * value.element_size() > budget.max_value:
        return _too_big(key, n * value.element_size(), budget, where)
    return convert(value.detach().cpu().tolist(), key, budget, where)


def _unknown(value: Any, key: str, budget: _Budget, where: str) -> Any:
    kind = type(value)
    warn_user(
        f"trackwell.{where}(): value of {key!r}{budget.at} has type {kind.__module__}.{kind.__qualname__}, "
        "which trackwell cannot record; that key was dropped",
        DataDroppedWarning,
    )
    return DROP


def _estimate(items: list[Any]) -> int:
    """A cheap upper-ish bound of the encoded size of a list of plain values."""
    total = 0
    for v in items:
        t = type(v)
        if t is str or t is bytes:
            total += len(v) + 5
        elif t is list or t is dict:
            total += 64  # already counted into the budget by the recursive call
        else:
            total += 9
    return total


def _sized(value: Any, size: int, key: str, budget: _Budget, where: str) -> Any:
    if size > budget.max_value:
        return _too_big(key, size, budget, where)
    budget.used += size
    return value


def _too_big(key: str, size: int, budget: _Budget, where: str) -> Any:
    warn_user(
        f"trackwell.{where}(): value of {key!r}{budget.at} is about {size / 1e6:.1f} MB, over the "
        f"{budget.max_value / 1e6:g} MB limit for one value; that key was dropped, the rest of "
        "the row was kept. "
        "Log large data as files or artifacts instead.",
        DataDroppedWarning,
    )
    return DROP
