"""``run.summary``: the last value of each metric, a mapping the user may also edit.

A view, not a copy: reading asks the run for an exact snapshot (the writer applies
everything logged so far first), writing queues a SUMMARY record through the run.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from trackwell.normalize import DROP, convert

if TYPE_CHECKING:
    from trackwell.run import Run


class Summary(MutableMapping[str, Any]):
    """``run.summary``: the last value of each metric, unless you set one yourself.

    Reading waits until the writer has applied everything logged so far, so it is
    exact, but it is not free: don't read it on every step of a tight loop.
    """

    def __init__(self, run: Run) -> None:
        object.__setattr__(self, "_run", run)  # reads go through run._summary_snapshot()

    def __getitem__(self, key: str) -> Any:
        return self._run._summary_snapshot()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self._run._summary_snapshot():
            raise KeyError(key)
        self._run._summary_edit({}, [key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._run._summary_snapshot())

    def __len__(self) -> int:
        return len(self._run._summary_snapshot())

    def __getattr__(self, key: str) -> Any:
        try:
            return self._run._summary_snapshot()[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, d: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        data = dict(d or {}, **kwargs)
        clean = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"summary keys must be strings, got {key!r}")
            value = convert(value, key, where="summary.update")
            if value is not DROP:
                clean[key] = value
        if clean:
            self._run._summary_edit(clean, [])

    def as_dict(self) -> dict[str, Any]:
        return dict(self._run._summary_snapshot())

    def __repr__(self) -> str:
        return f"Summary({self._run._summary_snapshot()!r})"
