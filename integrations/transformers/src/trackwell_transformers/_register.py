"""Adding ``"trackwell"`` to the ``report_to`` names transformers accepts.

transformers keeps a module-level dict ``INTEGRATION_TO_CALLBACK`` (name -> callback
class) in ``transformers.integrations.integration_utils``; ``Trainer`` refuses any
``report_to`` name missing from it, and ``report_to="all"`` asks
``get_available_reporting_integrations()`` for the installed ones. There is no public
registration API, so this adds an entry to that dict and wraps that function, after
checking that both still look the way they did in the versions we test. If a future
transformers release changes them, ``report_to="trackwell"`` stops being accepted,
one warning says so, and ``Trainer(callbacks=[TrackwellCallback()])`` keeps working.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from typing import Any

from trackwell.extend import warn_once

#: The transformers releases whose report_to table this code was written against.
SUPPORTED_TRANSFORMERS = ">=4.46,<6"
_LOW, _HIGH = (4, 46), (6, 0)

_FALLBACK = (
    "pass Trainer(callbacks=[trackwell_transformers.TrackwellCallback()]) and report_to='none' "
    "instead, and please report it to trackwell"
)


def _version_tuple(version: str) -> tuple[int, int]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    padded = [*parts, 0, 0]
    return padded[0], padded[1]


def _real_wandb_installed() -> bool:
    if "wandb" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("wandb") is not None
    except (ImportError, ValueError):
        return False


def register_with_transformers(integration_utils: Any = None) -> bool:
    """Make ``report_to="trackwell"`` (and ``"all"``) work; True when registered.

    Idempotent. ``integration_utils`` is transformers' module of that name (imported
    when not given). ``TRACKWELL_HF_REPORT_TO_WANDB=false`` keeps ``report_to="wandb"``
    for transformers' own W&B callback even when ``wandb`` is not installed.
    """
    import transformers

    from trackwell_transformers.callback import TrackwellCallback

    if integration_utils is None:
        integration_utils = importlib.import_module("transformers.integrations.integration_utils")

    version = str(getattr(transformers, "__version__", "0"))
    table = getattr(integration_utils, "INTEGRATION_TO_CALLBACK", None)
    available = getattr(integration_utils, "get_available_reporting_integrations", None)
    if not isinstance(table, dict) or not callable(available):
        warn_once(
            "transformers-register",
            f"trackwell: transformers {version} no longer has the report_to table trackwell-transformers "
            f"extends (supported: transformers{SUPPORTED_TRANSFORMERS}), so report_to='trackwell' is not "
            f"available; {_FALLBACK}",
        )
        return False
    if not (_LOW <= _version_tuple(version) < _HIGH):
        warn_once(
            "transformers-version",
            f"trackwell: transformers {version} is outside the versions trackwell-transformers supports "
            f"(transformers{SUPPORTED_TRANSFORMERS}); report_to='trackwell' is registered anyway. If it "
            f"fails, {_FALLBACK}",
        )
    table["trackwell"] = TrackwellCallback
    wandb_callback = table.get("wandb")
    if (
        os.environ.get("TRACKWELL_HF_REPORT_TO_WANDB", "true").lower() not in ("0", "false", "no", "off")
        and wandb_callback is not TrackwellCallback
        and getattr(wandb_callback, "__module__", "").startswith("transformers.")
        and not _real_wandb_installed()
    ):
        table["wandb"] = TrackwellCallback  # transformers' own would raise "requires wandb"
    if not getattr(available, "_trackwell", False):
        wrapped = _with_trackwell(available)
        integration_utils.get_available_reporting_integrations = wrapped
        package: Any = sys.modules.get("transformers.integrations")
        if package is not None:  # a lazy module: may have cached the original already
            package.get_available_reporting_integrations = wrapped
    return True


def _with_trackwell(original: Any) -> Any:
    @functools.wraps(original)
    def get_available_reporting_integrations() -> list[str]:
        names = list(original())
        if "trackwell" not in names:
            names.append("trackwell")
        return names

    get_available_reporting_integrations._trackwell = True  # type: ignore[attr-defined]
    return get_available_reporting_integrations
