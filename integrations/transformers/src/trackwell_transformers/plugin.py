"""The trackwell plugin of trackwell-transformers: ``trackwell.integration.transformers`` is this package.

Loaded at every ``trackwell.init()`` through the ``trackwell`` entry point, so it imports
no framework.
"""

from __future__ import annotations

from collections.abc import Callable

from trackwell import hookimpl


@hookimpl
def register_integrations(register: Callable[[str, str], None]) -> None:
    register("transformers", "trackwell_transformers")
    register("huggingface", "trackwell_transformers")
