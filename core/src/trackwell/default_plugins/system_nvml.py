"""NVIDIA GPU metrics through NVML (``pip install nvidia-ml-py``: the gpu extra); skipped without a GPU.

Keys per GPU ``i``, as W&B names them (shown there under ``system/``): ``gpu.<i>.gpu``
(utilization %), ``gpu.<i>.memory`` (memory-controller utilization %),
``gpu.<i>.memoryAllocated`` (% of memory in use), ``gpu.<i>.memoryAllocatedBytes``,
``gpu.<i>.temp`` (°C), ``gpu.<i>.powerWatts`` and ``gpu.<i>.powerPercent`` (of the
enforced power limit). A field the GPU does not support is left out, not the GPU.

pynvml is imported in ``setup()``, on the sampling thread, never at import time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trackwell.plugins import hookimpl

if TYPE_CHECKING:
    from trackwell.sysmetrics import MetricsSource

logger = logging.getLogger(__name__)


class NvmlSource:
    """Every NVIDIA GPU NVML can see."""

    name = "nvml"

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] = []

    def setup(self) -> bool:
        try:
            import pynvml
        except ImportError:
            logger.debug("pynvml is not installed; no GPU metrics (pip install nvidia-ml-py)")
            return False
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:  # no driver, no device, or no permission
            logger.debug("NVML is not available: %s", exc)
            return False
        self._nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except pynvml.NVMLError as exc:
            logger.debug("NVML could not list GPUs: %s", exc)
            self._handles = []
        if not self._handles:
            self.close()
            return False
        return True

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, handle in enumerate(self._handles):
            for key, value in self._fields(handle):
                out[f"gpu.{i}.{key}"] = value
        return out

    def close(self) -> None:
        nvml, self._nvml, self._handles = self._nvml, None, []
        if nvml is not None:
            with contextlib.suppress(nvml.NVMLError):
                nvml.nvmlShutdown()

    def _fields(self, handle: Any) -> list[tuple[str, float]]:
        nvml = self._nvml
        out: list[tuple[str, float]] = []
        rates = self._get(nvml.nvmlDeviceGetUtilizationRates, handle)
        if rates is not None:
            out += [("gpu", rates.gpu), ("memory", rates.memory)]
        mem = self._get(nvml.nvmlDeviceGetMemoryInfo, handle)
        if mem is not None and mem.total:
            out.append(("memoryAllocated", 100.0 * mem.used / mem.total))
            out.append(("memoryAllocatedBytes", mem.used))
        temp = self._get(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        if temp is not None:
            out.append(("temp", temp))
        milliwatts = self._get(nvml.nvmlDeviceGetPowerUsage, handle)
        if milliwatts is not None:
            out.append(("powerWatts", milliwatts / 1000.0))
            limit = self._get(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
            if limit:
                out.append(("powerPercent", 100.0 * milliwatts / limit))
        return out

    def _get(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One NVML query; None when this GPU does not support it (or it fails)."""
        try:
            return fn(*args)
        except self._nvml.NVMLError:
            return None


@hookimpl
def register_system_metrics(register: Callable[[MetricsSource], None]) -> None:
    register(NvmlSource())
