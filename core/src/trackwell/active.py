"""The process's current run, kept in a leaf module that imports nothing of trackwell.

Code below the session (an ``Artifact`` saved or linked with no run given, a sweep
agent finishing its trial) needs the run that ``trackwell.init`` made current. Reading
it from ``trackwell`` or ``trackwell.session`` would import the run and its pipeline
back into the artifacts and sweeps packages, a cycle; this module breaks it: the
session calls ``set()``, those packages call ``get()``. An artifact saved with no
current run starts one of its own as W&B does, and an artifact's lineage names runs
of the Public API, a layer above artifacts: both come through what the package
registers here (``set_init()``, ``set_api()``, called by ``trackwell/__init__.py``),
so this module, and what reads it, imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackwell.run import Run

_current: Run | None = None
_init: Callable[..., Run] | None = None
_api: Callable[[str, str | None], Any] | None = None


def get() -> Run | None:
    """The current run (``trackwell.run``): None before ``init()`` and after ``finish()``."""
    return _current


def set(run: Run | None) -> None:
    """Called by the session when a run becomes current (or, with None, stops being)."""
    global _current
    _current = run


def set_init(init: Callable[..., Run]) -> None:
    """Register ``trackwell.init``, so ``start()`` can begin a run without importing it."""
    global _init
    _init = init


def start(**kwargs: Any) -> Run:
    """A new run, as ``trackwell.init(**kwargs)``: for a draft artifact saved with no run."""
    if _init is None:  # importing this module runs trackwell/__init__.py first, which sets it
        raise RuntimeError("trackwell.active.start() before trackwell registered its init()")
    return _init(**kwargs)


def set_api(factory: Callable[[str, str | None], Any]) -> None:
    """Register how to open the Public API on a server: ``factory(base_url, api_key)``."""
    global _api
    _api = factory


def api(base_url: str, api_key: str | None) -> Any:
    """The Public API (``trackwell.Api``) on ``base_url``: for ``Artifact.logged_by()``/``used_by()``."""
    if _api is None:
        raise RuntimeError("trackwell.active.api() before trackwell registered its Public API")
    return _api(base_url, api_key)
