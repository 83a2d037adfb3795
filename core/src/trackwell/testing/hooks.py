"""Recording the plugin hooks a test causes (cf. pytest's ``HookRecorder``).

A plugin's test asserts what the SDK told plugins, with the SDK's real plugin manager:
every hook call is recorded (the name and its keyword arguments) through pluggy's own
call monitoring, from whichever thread made it (the writer calls some hooks).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy


@dataclass(frozen=True)
class HookCall:
    """One hook call: the hook's name and the keyword arguments it was called with."""

    name: str
    kwargs: dict[str, Any]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.kwargs[key]
        except KeyError:
            raise AttributeError(f"hook call {self.name} has no argument {key!r}") from None


class HookRecorder:
    """Records every hook call of ``pm`` until ``finish_recording()``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.calls: list[HookCall] = []
        self._lock = threading.Lock()
        self._undo = pm.add_hookcall_monitoring(self._before, self._after)

    def _before(self, hook_name: str, hook_impls: Sequence[pluggy.HookImpl],
                kwargs: Mapping[str, Any]) -> None:  # fmt: skip
        with self._lock:
            self.calls.append(HookCall(hook_name, dict(kwargs)))

    def _after(self, outcome: pluggy.Result[Any], hook_name: str, hook_impls: Sequence[pluggy.HookImpl],
               kwargs: Mapping[str, Any]) -> None:  # fmt: skip
        pass  # pluggy wants both; what a hook returned is the test's to check through the SDK

    def getcalls(self, *names: str) -> list[HookCall]:
        """The calls of the hooks named (all hooks when none is named), in order."""
        with self._lock:
            return [call for call in self.calls if not names or call.name in names]

    def getcall(self, name: str) -> HookCall:
        """The one call of hook ``name``; fail unless there was exactly one."""
        calls = self.getcalls(name)
        assert len(calls) == 1, f"{name} was called {len(calls)} times: {calls}"
        return calls[0]

    def assert_called(self, name: str, times: int | None = None) -> None:
        """Fail unless hook ``name`` was called (exactly ``times`` times, when given)."""
        n = len(self.getcalls(name))
        if times is None:
            assert n > 0, f"{name} was never called; calls: {[c.name for c in self.getcalls()]}"
        else:
            assert n == times, f"{name} was called {n} times, not {times}"

    def finish_recording(self) -> None:
        self._undo()
