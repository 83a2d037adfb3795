"""The trackwell plugin of trackwell-sklearn: ``trackwell.integration.sklearn`` is this package.

Loaded at every ``trackwell.init()`` through the ``trackwell`` entry point, so it imports
no framework.
"""

from __future__ import annotations

from collections.abc import Callable

from trackwell import hookimpl


@hookimpl
def register_integrations(register: Callable[[str, str], None]) -> None:
    register("sklearn", "trackwell_sklearn")
