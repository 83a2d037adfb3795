"""Helpers the media types share: recognising foreign objects without importing them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trackwell.media.base import require


def module_of(obj: Any) -> str:
    return type(obj).__module__ or ""


def is_torch(obj: Any) -> bool:
    return module_of(obj).startswith("torch") and hasattr(obj, "detach")


def is_numpy(obj: Any) -> bool:
    return module_of(obj).startswith("numpy") and hasattr(obj, "dtype")


def is_pil(obj: Any) -> bool:
    return module_of(obj).startswith("PIL.") and hasattr(obj, "save")


def is_matplotlib_figure(obj: Any) -> bool:
    mod = module_of(obj)
    return mod.startswith("matplotlib") and hasattr(obj, "savefig")


def is_plotly_figure(obj: Any) -> bool:
    mod = module_of(obj)
    return mod.startswith("plotly") and hasattr(obj, "to_plotly_json")


def to_numpy(data: Any, what: str) -> Any:
    """A private numpy copy of an array-like (a torch tensor moves to the CPU here,
    on the caller's thread, so the writer never touches a device)."""
    np = require("numpy", what)
    if is_torch(data):
        return data.detach().cpu().numpy().copy()
    return np.array(data, copy=True)


def existing_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path, or a clear FileNotFoundError naming the media type."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what}: no such file: {str(p)!r}")
    return p


def plain_labels(labels: Any, what: str) -> dict[str, str]:
    """class_labels ``{int: str}`` as JSON-able ``{"1": "car"}``."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise TypeError(f"{what}: class_labels must be a dict of {{int: str}}, got {type(labels).__name__}")
    out = {}
    for k, v in labels.items():
        try:
            key = int(k)
        except (TypeError, ValueError):
            raise TypeError(f"{what}: class_labels keys must be integers, got {k!r}") from None
        out[str(key)] = str(v)
    return out
