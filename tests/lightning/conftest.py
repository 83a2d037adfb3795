"""Fixtures for the Lightning integration tests (skipped when Lightning is missing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_warnings(trackwell_dir: object) -> Iterator[None]:
    """Each test sees the integrations' once-per-process warnings again, in its own directory."""
    from trackwell.integration import support

    support._warned.clear()
    yield
    import trackwell

    while trackwell.run is not None:
        trackwell.finish()
