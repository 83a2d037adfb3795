"""The pytest hooks of trackwell's pytest plugin: how another distribution provides what it owns.

The SDK's fixtures need a real server, which lives in another distribution
(server-lite) that the SDK must not import; that distribution's pytest plugin
implements ``pytest_trackwell_start_server``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_trackwell_start_server(data_dir: Path) -> Any:
    """Start a trackwell server on a free 127.0.0.1 port keeping its data in ``data_dir``.

    Return its handle: ``url``, ``admin_key``, ``create_user(name)`` (the new user's API
    key) and ``stop()``. The first plugin to return one wins; with none, the fixtures
    that need a server skip.
    """
