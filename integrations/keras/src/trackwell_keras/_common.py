"""What the Keras callbacks share: the current run and the optimizer's learning rate."""

from __future__ import annotations

from typing import Any

import trackwell
from trackwell.errors import UsageError


def current_run(what: str) -> Any:
    """The current run, or ``UsageError`` telling the user to call ``trackwell.init()`` first."""
    if trackwell.run is None:
        raise UsageError(f"You must call trackwell.init() before {what}()")
    return trackwell.run


def learning_rate(model: Any) -> float | None:
    """The optimizer's current learning rate (a schedule evaluated at its step), or None."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        value = optimizer.learning_rate
    except Exception:
        return None
    try:
        return float(value)  # a Keras variable or a backend scalar: 3x cheaper than convert_to_numpy
    except Exception:
        pass
    try:
        import keras

        return float(keras.ops.convert_to_numpy(value))
    except Exception:
        return None


def scalars(logs: Any, prefix: str = "") -> dict[str, Any]:
    """Keras' ``logs`` as plain values under ``prefix``."""
    return {f"{prefix}{k}": v for k, v in (logs or {}).items()}
