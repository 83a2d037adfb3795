"""Running a Python script as a user runs it, in a child process, and asserting how it ended.

Modelled on pytest's ``pytester.run``/``RunResult``: a script is what a user writes, so
exits, tracebacks, what reached the terminal and signals (Ctrl-C, kill -9) are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

#: Longest a script may run by default: generous, CI machines are small and shared.
TIMEOUT = 120.0


@dataclass(frozen=True)
class ScriptResult:
    """How a script ended: its exit code (negative: the signal that killed it), and both streams."""

    ret: int
    stdout: str
    stderr: str
    duration: float

    def assert_outcome(self, ret: int = 0, stdout: str | None = None, stderr: str | None = None) -> None:
        """Fail, showing both streams, unless it exited ``ret`` and each given text occurs in its stream."""
        shown = f"exit {self.ret}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        assert self.ret == ret, f"expected exit {ret}, got:\n{shown}"
        assert stdout is None or stdout in self.stdout, f"{stdout!r} not in stdout:\n{shown}"
        assert stderr is None or stderr in self.stderr, f"{stderr!r} not in stderr:\n{shown}"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class ScriptRunner:
    """Writes scripts into ``cwd`` and runs them there with ``env`` (default: this process's).

    Children get SIGINT's default action back even when this process was started with it
    ignored (``nohup ... &``): else a test's Ctrl-C would never reach them.
    """

    def __init__(self, cwd: Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT) -> None:
        self.cwd = cwd
        self.env = env
        self.timeout = timeout

    def write(self, source: str, name: str = "script.py") -> Path:
        """``source``, dedented, as ``cwd/name``."""
        path = self.cwd / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def spawn(self, source: str, *args: str, name: str = "script.py",
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:  # fmt: skip
        """Start ``source`` as a script (stdout and stderr piped, text); ``env`` adds variables."""
        script = self.write(source, name)
        ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        environ = {**(self.env or os.environ), **(env or {})}
        return subprocess.Popen(
            [sys.executable, str(script), *args], cwd=self.cwd, env=environ,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_default_sigint if ignored else None,
        )  # fmt: skip

    def run(self, source: str, *args: str, name: str = "script.py", env: dict[str, str] | None = None,
            timeout: float | None = None) -> ScriptResult:  # fmt: skip
        """Run ``source`` to its end (killed past ``timeout``) and return how it ended."""
        start = time.monotonic()
        proc = self.spawn(source, *args, name=name, env=env)
        return finish(proc, timeout if timeout is not None else self.timeout, start)


def finish(proc: subprocess.Popen[str], timeout: float = TIMEOUT, start: float | None = None) -> ScriptResult:
    """Wait for a child started with piped text streams; kill it past ``timeout`` and fail."""
    start = time.monotonic() if start is None else start
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        shown = f"--- stdout\n{out}\n--- stderr\n{err}"
        raise AssertionError(f"still running after {timeout:g} s\n{shown}") from None
    return ScriptResult(proc.returncode, out, err, time.monotonic() - start)
