"""What every directory of the suite shares: the process-wide setup of the test run itself.

Fixtures shared by several directories live in importable modules, not here:
``trackwell.testing`` (the pytest plugin shipped with the SDK: run fixtures, ``wait_until``,
``free_port``, the fault proxy, a script runner) and ``trackwell_server.testing`` (real
servers, in-process or as processes). The ``slow`` marker is registered in pyproject.toml.
"""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Started in the background (`nohup bash scripts/test.sh &`, as some CI runners do), pytest
    # inherits SIGINT ignored, and an ignored signal stays ignored across fork and exec: every
    # child a test starts would ignore the Ctrl-C the test sends it (the Ctrl-C tests would
    # hang, then fail). With a handler installed here, children start with the default action
    # again (exec resets handled signals), as they do under a terminal.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
