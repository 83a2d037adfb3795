"""The server's half of the pytest fixtures trackwell ships: it starts the server they test against.

``trackwell.testing`` (the SDK's pytest plugin) owns the fixtures (``trackwell_server``,
``trackwell_online_dir``, ``online_run``) but cannot import the server: the SDK is the
bottom layer. It asks through the ``pytest_trackwell_start_server`` hook, which this
plugin (registered by the ``pytest11`` entry point) answers; without it the fixtures
skip, saying how to install the server. Light to import: it runs in every pytest session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_trackwell_start_server(data_dir: Path) -> Any:
    from trackwell_server.testing import start_server

    return start_server(data_dir)
