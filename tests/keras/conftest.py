"""Fixtures for the Keras integration tests: Keras 3 on the torch backend, skipped when missing."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported; tensorflow is not installed


@pytest.fixture(autouse=True)
def _fresh(trackwell_dir: object) -> Iterator[None]:
    from trackwell.integration import support

    support._warned.clear()
    yield
    import trackwell

    while trackwell.run is not None:
        trackwell.finish()
