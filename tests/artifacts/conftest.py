"""Fixtures for artifact tests: the real server, and the FaultProxy of tests/online."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _online_conftest() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_online_conftest", Path(__file__).parent.parent / "online" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


FaultProxy = _online_conftest().FaultProxy


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
    import os
    import socket

    from moto.server import ThreadedMotoServer

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(key, value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.stop()
