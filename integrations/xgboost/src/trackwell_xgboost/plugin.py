"""The trackwell plugin of trackwell-xgboost: ``trackwell.integration.xgboost`` is this package.

Loaded at every ``trackwell.init()`` through the ``trackwell`` entry point, so it imports
no framework.
"""

from __future__ import annotations

from collections.abc import Callable

from trackwell import hookimpl


@hookimpl
def register_integrations(register: Callable[[str, str], None]) -> None:
    register("xgboost", "trackwell_xgboost")
