"""Column types of a ``Table``: inferred from the first value, checked on every add.

A column's kind is one of the strings ``number``, ``string``, ``boolean``, ``list``,
``dict``, ``any`` (``allow_mixed_types=True``), or a ``Media`` subclass (a column of
images). Checks work column-wise on the set of value types, so a 100k-row column costs
one ``set(map(type, ...))`` unless something is wrong or needs converting (numpy
scalars become Python numbers here, so the writer never sees them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trackwell.media.base import Media

NUMBER = "number"
STRING = "string"
BOOLEAN = "boolean"
LIST = "list"
DICT = "dict"
ANY = "any"  # allow_mixed_types=True: cells stored as JSON, read back as they were

Kind = str | type[Media]

_PLAIN_KINDS: dict[type, str] = {
    float: NUMBER,
    int: NUMBER,
    bool: BOOLEAN,
    str: STRING,
    list: LIST,
    tuple: LIST,
    dict: DICT,
}
_NONE = type(None)
#: Types stored as they are; anything else (tuples become lists) goes cell by cell.
FAST_KINDS = {t: k for t, k in _PLAIN_KINDS.items() if t is not tuple}

_DTYPE_NAMES: dict[Any, str] = {
    int: NUMBER,
    float: NUMBER,
    str: STRING,
    bool: BOOLEAN,
    list: LIST,
    tuple: LIST,
    dict: DICT,
    NUMBER: NUMBER,
    STRING: STRING,
    BOOLEAN: BOOLEAN,
    LIST: LIST,
    DICT: DICT,
    ANY: ANY,
}


def kind_name(kind: Kind | None) -> str:
    """How a kind appears in records and messages: ``number`` or ``image-file``."""
    if kind is None:
        return "none"
    if isinstance(kind, str):
        return kind
    return kind._type


def dtype_kind(dtype: Any) -> Kind | None:
    """A column kind from a user's ``dtype`` (``int``, ``str``, ``"number"``, ``trackwell.Image``)."""
    if dtype is None:
        return None
    if isinstance(dtype, type) and issubclass(dtype, Media):
        return dtype
    try:
        return _DTYPE_NAMES[dtype]
    except (KeyError, TypeError):
        pass
    names = sorted(k for k in _DTYPE_NAMES if isinstance(k, str))
    raise TypeError(
        f"unsupported column dtype {dtype!r}: use int, float, str, bool, list, dict, a media class "
        f"such as trackwell.Image, or one of {names}"
    )


def _cell_kind(value: Any) -> tuple[Kind | None, Any]:
    """The kind of one cell that the fast path did not recognise, and the value to store."""
    kind = type(value)
    if kind is tuple:
        return LIST, list(value)
    if kind in FAST_KINDS:
        return FAST_KINDS[kind], value
    if value is None:
        return None, None
    if isinstance(value, Media):
        return type(value), value
    module = kind.__module__
    if module == "numpy" or module.startswith("numpy."):
        if getattr(value, "ndim", 1) == 0 and hasattr(value, "item"):
            return _cell_kind(value.item())
        return LIST, value  # an array: stored as nested lists (tolist at encode time)
    if module == "torch" and hasattr(value, "detach"):
        return _cell_kind(value.detach().cpu().numpy())
    if isinstance(value, bool):
        return BOOLEAN, bool(value)
    if isinstance(value, (int, float)):
        return NUMBER, value
    if isinstance(value, str):
        return STRING, str(value)
    if isinstance(value, Mapping):
        return DICT, dict(value)
    if isinstance(value, Sequence):
        return LIST, list(value)
    raise TypeError(f"{kind.__module__}.{kind.__qualname__}")


def _fits(kind: Kind, cell: Kind) -> bool:
    if kind == cell:
        return True
    return isinstance(kind, type) and isinstance(cell, type) and issubclass(cell, kind)


def check_column(
    values: list[Any],
    kind: Kind | None,
    optional: bool,
    allow_mixed: bool,
    column: str,
    first_row: int = 0,
) -> tuple[Kind | None, list[Any]]:
    """Check ``values`` against the column's ``kind`` (``None``: not known yet).

    Returns the column's kind (inferred from the first non-None value when it was not
    known) and the values to store (the same list unless some needed converting).
    Raises ``TypeError`` naming the row, column, expected and got types, or
    ``ValueError`` for a None in a non-optional column.
    """
    types = set(map(type, values))
    if kind is not None and not isinstance(kind, str):
        fast = None  # media columns are checked per cell (isinstance, subclasses)
    elif types <= FAST_KINDS.keys() | {_NONE}:
        kinds = {FAST_KINDS[t] for t in types if t is not _NONE}
        fast = kinds if len(kinds) <= 1 else None
    else:
        fast = None
    if fast is not None and (_NONE not in types or optional):
        only = next(iter(fast), None)
        if only is None or kind is None or kind in (ANY, only):
            return (kind if kind is not None else only), values
    return _check_cells(values, kind, optional, allow_mixed, column, first_row)


def _check_cells(
    values: list[Any], kind: Kind | None, optional: bool, allow_mixed: bool, column: str, first_row: int
) -> tuple[Kind | None, list[Any]]:
    out = list(values)
    for i, value in enumerate(values):
        try:
            cell, stored = _cell_kind(value)
        except TypeError as exc:
            raise TypeError(
                f"row {first_row + i}, column {column!r}: values of type {exc} cannot be stored in a "
                "Table; use numbers, strings, booleans, lists, dicts, None or trackwell media objects"
            ) from None
        out[i] = stored
        if cell is None:
            if not optional:
                raise ValueError(
                    f"row {first_row + i}, column {column!r}: None in a column that is not optional"
                )
            continue
        if kind is None:
            kind = cell
        elif not _fits(kind, cell):
            if allow_mixed or kind == ANY:
                kind = ANY
                continue
            raise TypeError(
                f"row {first_row + i}, column {column!r}: expected {kind_name(kind)}, got {kind_name(cell)} "
                f"({type(value).__name__} {_short(value)}); pass allow_mixed_types=True to the Table to "
                "allow several types in one column"
            )
    return kind, out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
