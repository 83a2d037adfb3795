"""Fixtures for artifact tests: the real server, a FaultProxy in front of it, and S3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trackwell.testing import FaultProxy


@pytest.fixture
def proxy(
    trackwell_online_dir: Path, trackwell_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A ``FaultProxy`` in front of the server, with TRACKWELL_BASE_URL pointing at it."""
    p = FaultProxy(trackwell_server.url)
    monkeypatch.setenv("TRACKWELL_BASE_URL", p.url)
    yield p
    p.stop()


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    """A real S3 API (moto's server) on a free loopback port, with dummy credentials."""
    from trackwell_server.testing import moto_s3

    with moto_s3() as url:
        yield url
