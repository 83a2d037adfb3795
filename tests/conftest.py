"""What every directory of the suite shares: the process-wide setup of the test run itself.

Fixtures shared by several directories live in importable modules, not here:
``trackwell.testing`` (the pytest plugin shipped with the SDK: run fixtures, ``wait_until``,
``free_port``, the fault proxy, a script runner) and ``trackwell_server.testing`` (real
servers, in-process or as processes). The ``slow`` marker is registered in pyproject.toml.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Started in the background (`nohup bash scripts/test.sh &`, as some CI runners do), pytest
    # inherits SIGINT ignored, and an ignored signal stays ignored across fork and exec: every
    # child a test starts would ignore the Ctrl-C the test sends it (the Ctrl-C tests would
    # hang, then fail). With a handler installed here, children start with the default action
    # again (exec resets handled signals), as they do under a terminal.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# -- the slow marker ------------------------------------------------------------------------------
# `bash scripts/test.sh -m "not slow"` is the inner loop (under 2 minutes on a 2-core machine);
# CI runs everything. What is slow is decided here, in one place, from `--durations=0` runs of
# each directory (docs/development.md); a test may also carry @pytest.mark.slow itself.

#: Directories whose every test is slow by nature.
SLOW_DIRS = {
    "faults": "real SDK and server processes, kill -9 and restarts, each test several seconds",
    "dashboard": "a real headless Chromium over a server with logged runs",
    "mlflow": "real MLflow stores and an `mlflow server` process",
    "torch": "torch and DDP worker processes",
    "lightning": "training with Lightning",
    "transformers": "training with transformers' Trainer",
    "keras": "training with Keras",
}

#: Files (every test in them) and single tests, as node ids under tests/, measured at a second
#: or more each on a 2-core machine.
SLOW_TESTS = {
    "core/test_process.py": "a child interpreter per test (exits, signals, kill -9)",
}


def _slow_reason(nodeid: str) -> str | None:
    rel = nodeid.removeprefix("tests/")
    reason = SLOW_DIRS.get(rel.split("/", 1)[0])
    if reason is not None:
        return reason
    for key, why in SLOW_TESTS.items():
        if rel == key or rel.startswith((key + "::", key + "[")):
            return why
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    stale = [key for key in [*SLOW_DIRS, *SLOW_TESTS] if not (here / key.split("::")[0]).exists()]
    if stale:  # a renamed file would silently fall into the inner loop
        raise pytest.UsageError(f"tests/conftest.py marks as slow what does not exist: {stale}")
    for item in items:
        if _slow_reason(item.nodeid) is not None:
            item.add_marker(pytest.mark.slow)
