"""Fixtures for the torch integration tests (skipped when torch or trackwell-torch is missing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("trackwell_torch")


@pytest.fixture(autouse=True)
def _finish_runs(trackwell_dir: Path) -> Iterator[None]:
    """Each test in its own directory; runs a test left open are finished after it."""
    yield
    import trackwell

    while trackwell.run is not None:
        trackwell.finish()


@pytest.fixture(scope="module")
def fast_crash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real server that marks a run crashed after 2 s of silence (checked every 0.25 s)."""
    try:
        from trackwell_server.testing import start_server
    except ImportError as exc:
        pytest.skip(f"the trackwell server is not installed (pip install -e server-lite): {exc}")
    handle = start_server(
        tmp_path_factory.mktemp("torch-server"), heartbeat_timeout=2.0, crash_check_interval=0.25
    )
    yield handle
    handle.stop()
