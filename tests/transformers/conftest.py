"""Fixtures for the Hugging Face integration tests (skipped when transformers is missing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _isolated(trackwell_dir: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No downloads, no W&B variables from the caller, fresh once-only warnings."""
    from trackwell.integration import support

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for name in ("PROJECT", "LOG_MODEL", "WATCH"):
        monkeypatch.delenv(f"WANDB_{name}", raising=False)
        monkeypatch.delenv(f"TRACKWELL_{name}", raising=False)
    support._warned.clear()
    yield
    import trackwell

    while trackwell.run is not None:
        trackwell.finish()
