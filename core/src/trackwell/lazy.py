"""Lazy package attributes (PEP 562) for trackwell's own distributions.

Integration packages export classes that live beside a framework import; their
``__init__`` must stay free of it, because ``init()`` imports each installed
integration's plugin module, and with it the package. This module imports nothing
beyond the standard library for the same reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any


def lazy_exports(
    package: str,
    namespace: MutableMapping[str, Any],
    exports: Mapping[str, tuple[str, str]],
    public: Sequence[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's PEP 562 ``__getattr__`` and ``__dir__``, for public names that live in
    submodules imported on first use (so importing the package imports no framework).

    ``exports`` maps each public name to ``(submodule, attribute)``; ``namespace`` is the
    package's ``globals()``, where a name is cached once imported. Use as
    ``__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)``.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = exports[name]
        value = getattr(importlib.import_module(f"{package}.{module}"), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
