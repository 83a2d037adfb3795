"""Console capture: stdout and stderr are tee'd into the run's output.log, not swallowed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO


class _Tee:
    """Forwards everything to the real stream and hands a copy to the run."""

    def __init__(self, stream: TextIO, emit: Callable[[str], None]) -> None:
        self._stream = stream
        self._emit: Callable[[str], None] | None = emit

    def write(self, text: str) -> int:
        n = self._stream.write(text)
        emit = self._emit
        if emit is not None and text:
            emit(text)
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ConsoleCapture:
    """Installs the tees on start() and takes them out again on stop()."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._tees: list[tuple[str, _Tee]] = []

    def start(self) -> None:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is None or isinstance(stream, _Tee):
                continue
            tee = _Tee(stream, self._emit)
            setattr(sys, name, tee)
            self._tees.append((name, tee))

    def stop(self) -> None:
        for name, tee in self._tees:
            tee._emit = None  # stays harmless if someone else wrapped it meanwhile
            if getattr(sys, name) is tee:
                setattr(sys, name, tee._stream)
        self._tees.clear()
