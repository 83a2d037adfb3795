"""Waiting for a condition with a deadline, and a free port: what tests of threads and servers need.

A test that sleeps a fixed time is either slow or flaky; one that polls with a deadline
is neither, and names what it waited for when the deadline passes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_until(check: Callable[[], object], timeout: float = 60.0, what: str = "condition",
               interval: float = 0.02) -> None:  # fmt: skip
    """Poll ``check`` until it returns something true; fail, naming ``what``, past ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not met within {timeout:g} s"
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it).

    For a process that must be told its port before it starts (a server subprocess that
    is restarted on the same port); a server in this process should bind port 0 itself.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
