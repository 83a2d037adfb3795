"""A server run's summary as the Public API edits it (W&B's ``run.summary`` of an ``Api`` run)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from trackwell.api.base import SummaryView

if TYPE_CHECKING:
    from trackwell.api.remote_runs import ServerRun


class ServerSummary(SummaryView, MutableMapping[str, Any]):
    """A server run's summary: a dict you may edit; ``run.update()`` (or ``summary.update()``) saves it.

    ``summary.update({...})`` both edits and saves, as W&B's does, so the documented
    ``run.summary.update({"key": val})`` works in one call.
    """

    def __init__(self, run: ServerRun, values: dict[str, Any]) -> None:
        self.__dict__["_run"] = run
        super().__init__(values)

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = _summary_value(value)

    def __delitem__(self, key: str) -> None:
        del self._values[key]

    def __setattr__(self, key: str, value: Any) -> None:
        self._values[key] = _summary_value(value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set the given keys, then save the run (W&B's ``run.summary.update()``)."""
        for key, value in dict(*args, **kwargs).items():
            self._values[key] = _summary_value(value)
        self._run.update()


#: Arrays longer than this are kept as a histogram of 32 bins, as W&B does.
_MAX_ARRAY = 32


def _summary_value(value: Any) -> Any:
    """``value`` as the JSON the server stores: arrays and numpy numbers as numbers, a
    ``Histogram`` (or an array of more than 32 values) as W&B's histogram object."""
    from trackwell.media import _util
    from trackwell.media.base import Media
    from trackwell.media.histogram import Histogram

    if isinstance(value, Media):
        if not isinstance(value, Histogram):
            raise TypeError(
                f"a {type(value).__name__} in the summary of a Public API run needs its files: "
                "log it from a run (wandb.init(id=..., resume='must')) instead"
            )
        return value.to_record(None)
    if isinstance(value, Mapping):
        return {str(k): _summary_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_summary_value(v) for v in value]
    if _util.is_numpy(value):
        if getattr(value, "ndim", 0) == 0:
            return value.item()
        if value.size > _MAX_ARRAY:
            return Histogram(value.ravel(), num_bins=_MAX_ARRAY).to_record(None)
        return value.tolist()
    return value
