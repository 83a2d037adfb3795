"""Run an integration's set-up when its framework is imported, whichever comes first.

Hugging Face's ``Trainer`` accepts only the ``report_to`` names in its own table, and
a user writes ``report_to="trackwell"`` without ever calling ``trackwell.init()``: the
trackwell-transformers package has to add itself to that table as soon as transformers
defines it. ``import trackwell`` therefore puts one small finder at the front of
``sys.meta_path``. It answers a dict lookup for every import (a fraction of a
microsecond) and steps in only for the modules named in ``HOOKS``: it lets the normal
finders locate them, and wraps their loader so that, once the module has run, the
integration's hook gets it. When the module was imported before trackwell, the hook
runs at once. A missing integration package is skipped quietly; a failing hook is
reported as a warning and never breaks the framework's import.

This runs before any plugin discovery (which ``import trackwell`` must not pay for), so
the table is static: one line per framework that needs import-time wiring.
"""

from __future__ import annotations

import sys
from typing import Any

#: module whose import triggers the hook -> ``"package:function"``, called with that module
HOOKS: dict[str, str] = {
    "transformers.integrations.integration_utils": "trackwell_transformers:register_with_transformers",
}


def run_hook(fullname: str, module: Any) -> None:
    """Call the integration hook registered for ``fullname`` with the imported module."""
    import importlib

    package, _, function = HOOKS[fullname].partition(":")
    try:
        hook = getattr(importlib.import_module(package), function)
        hook(module)
    except ModuleNotFoundError as exc:
        if exc.name != package:
            _warn(package, exc)
    except Exception as exc:  # never break the user's import of the framework
        _warn(package, exc)


def _warn(package: str, exc: BaseException) -> None:
    from trackwell.errors import warn_user

    warn_user(f"trackwell: {package} could not set itself up with its framework: {exc!r}")


class _Loader:
    """Runs the real loader, then the hook; anything else is the real loader's."""

    def __init__(self, loader: Any, fullname: str) -> None:
        self._loader = loader
        self._fullname = fullname

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        run_hook(self._fullname, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class PostImportFinder:
    """A ``sys.meta_path`` finder that wraps the loaders of the modules in ``HOOKS``."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in HOOKS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, fullname)  # type: ignore[assignment]
                return spec
        return None


_finder: PostImportFinder | None = None


def install() -> None:
    """Put the finder in place once, and run hooks for modules imported already."""
    global _finder
    if _finder is not None:
        return
    _finder = PostImportFinder()
    sys.meta_path.insert(0, _finder)
    for fullname in HOOKS:
        module = sys.modules.get(fullname)
        if module is not None:
            run_hook(fullname, module)
