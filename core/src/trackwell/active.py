"""The process's current run, kept in a leaf module that imports nothing of trackwell.

Code below the session (an ``Artifact`` saved or linked with no run given, a sweep
agent finishing its trial) needs the run that ``trackwell.init`` made current. Reading
it from ``trackwell`` or ``trackwell.session`` would import the run and its pipeline
back into the artifacts and sweeps packages, a cycle; this module breaks it: the
session calls ``set()``, those packages call ``get()``. An artifact saved with no
current run starts one of its own as W&B does, through the ``init`` the package
registers here with ``set_init()`` (``trackwell/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackwell.run import Run

_current: Run | None = None
_init: Callable[..., Run] | None = None


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
    if _init is None:  # only if trackwell/__init__.py did not run, which importing us implies
        raise RuntimeError("trackwell.active.start() before trackwell registered its init()")
    return _init(**kwargs)
