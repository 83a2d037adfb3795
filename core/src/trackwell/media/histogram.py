"""``trackwell.Histogram``: W&B's ``wandb.Histogram``, stored inline in the row (no file)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trackwell.errors import DataDroppedWarning, warn_user
from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, require

MAX_BINS = 512


class Histogram(Media):
    """A histogram of values: from a sequence (binned here, ``num_bins`` ≤ 512) or from
    ``np_histogram``, the ``(values, bins)`` pair ``np.histogram`` returns.

    Binning happens in the constructor: the result is small, and a torch tensor is
    binned on its own device (``torch.histc``) so it is never copied whole to the host.
    NaN and infinite values are left out, with a warning.
    """

    _type = "histogram"

    def __init__(
        self,
        sequence: Any = None,
        np_histogram: tuple[Sequence[float], Sequence[float]] | None = None,
        num_bins: int = 64,
    ) -> None:
        if not isinstance(num_bins, int) or isinstance(num_bins, bool) or num_bins < 1:
            raise ValueError(f"trackwell.Histogram: num_bins must be a positive integer, got {num_bins!r}")
        if num_bins > MAX_BINS:
            raise ValueError(f"trackwell.Histogram: num_bins is at most {MAX_BINS}, got {num_bins}")
        if np_histogram is not None:
            if sequence is not None:
                raise ValueError("trackwell.Histogram: pass a sequence or np_histogram, not both")
            self.histogram, self.bins = _from_pair(np_histogram)
        elif sequence is not None:
            if isinstance(sequence, tuple) and len(sequence) == 2 and _looks_like_pair(sequence):
                self.histogram, self.bins = _from_pair(sequence)  # W&B: Histogram(np.histogram(x))
            elif _util.is_torch(sequence):
                self.histogram, self.bins = _torch_hist(sequence, num_bins)
            else:
                self.histogram, self.bins = _numpy_hist(sequence, num_bins)
        else:
            raise ValueError("trackwell.Histogram needs a sequence or np_histogram")
        if len(self.histogram) > MAX_BINS:
            raise ValueError(f"trackwell.Histogram: at most {MAX_BINS} bins, got {len(self.histogram)}")

    def to_record(self, ctx: MediaContext | None = None) -> dict[str, Any]:
        return {"_type": self._type, "values": list(self.histogram), "bins": list(self.bins)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes] | None = None) -> Histogram:
        return cls(np_histogram=(record["values"], record["bins"]))


def _looks_like_pair(seq: tuple[Any, Any]) -> bool:
    try:
        return len(seq[1]) == len(seq[0]) + 1
    except TypeError:
        return False


def _from_pair(pair: Any) -> tuple[list[float], list[float]]:
    try:
        values, bins = pair
        values = [float(v) for v in values]
        bins = [float(b) for b in bins]
    except (TypeError, ValueError):
        raise ValueError(
            "trackwell.Histogram: np_histogram must be a (values, bins) pair of number lists"
        ) from None
    if len(bins) != len(values) + 1:
        raise ValueError(
            "trackwell.Histogram: np_histogram needs len(bins) == len(values) + 1, "
            f"got {len(bins)} and {len(values)}"
        )
    return values, bins


def _dropped(n: int) -> None:
    warn_user(
        f"trackwell.Histogram: {n} NaN or infinite value(s) were left out of the histogram",
        DataDroppedWarning,
    )


def _numpy_hist(sequence: Any, num_bins: int) -> tuple[list[float], list[float]]:
    np = require("numpy", "trackwell.Histogram")
    try:
        arr = np.asarray(sequence, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError("trackwell.Histogram: the sequence must hold numbers") from None
    finite = np.isfinite(arr)
    if not finite.all():
        _dropped(int((~finite).sum()))
        arr = arr[finite]
    counts, bins = np.histogram(arr, bins=num_bins)
    return counts.tolist(), bins.tolist()


def _torch_hist(tensor: Any, num_bins: int) -> tuple[list[float], list[float]]:
    import torch  # the caller passed a tensor: torch is loaded already

    t = tensor.detach().reshape(-1)
    if not t.is_floating_point():
        t = t.double()
    finite = torch.isfinite(t)
    bad = int((~finite).sum().item())
    if bad:
        _dropped(bad)
        t = t[finite]
    if t.numel() == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = float(t.min().item()), float(t.max().item())
    if lo == hi:  # np.histogram's rule for a single value
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(
        t.float() if t.dtype in (torch.float16, torch.bfloat16) else t, bins=num_bins, min=lo, max=hi
    )
    step = (hi - lo) / num_bins
    bins = [lo + i * step for i in range(num_bins)] + [hi]
    values = [float(c) for c in counts.cpu().tolist()]
    return [int(v) if math.isfinite(v) and v == int(v) else v for v in values], bins
