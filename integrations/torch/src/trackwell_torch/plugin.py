"""The trackwell plugin of trackwell-torch: ``trackwell.integration.torch`` is this package.

Loaded at every ``trackwell.init()`` through the ``trackwell`` entry point, so it imports
no torch.
"""

from __future__ import annotations

from collections.abc import Callable

from trackwell import hookimpl


@hookimpl
def register_integrations(register: Callable[[str, str], None]) -> None:
    register("torch", "trackwell_torch")
