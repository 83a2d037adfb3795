"""``trackwell.integration.<name>``: the installed integration packages, by W&B's names.

``from trackwell.integration.keras import WandbMetricsLogger`` (and, with
``import trackwell as wandb``, ``wandb.integration.keras.WandbMetricsLogger``) gives the
objects of the separately installed distribution ``trackwell-keras``. There are no
module files for these names: a finder at the end of ``sys.meta_path`` (added when this
package is first imported) answers ``trackwell.integration.<name>`` by importing
``trackwell_<name>`` (or the package in ``KNOWN``) and putting that module itself in
``sys.modules``, so both names are one module object. Any installed package named
``trackwell_<name>`` resolves the same way, which is how a third-party integration
plugs in without touching the core (or through the ``register_integrations`` hook,
which the first-party integrations use), and a missing one is an ``ImportError`` that
names the distribution to install.

Nothing here is imported by ``import trackwell``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.abc import Loader
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

#: ``trackwell.integration.<name>`` -> (import name, distribution to install).
KNOWN: dict[str, tuple[str, str]] = {
    "huggingface": ("trackwell_transformers", "trackwell-transformers"),
    "keras": ("trackwell_keras", "trackwell-keras"),
    "lightning": ("trackwell_lightning", "trackwell-lightning"),
    "torch": ("trackwell_torch", "trackwell-torch"),
    "transformers": ("trackwell_transformers", "trackwell-transformers"),
}


def registered() -> dict[str, str]:
    """``name -> module`` from the installed plugins' ``register_integrations`` hooks."""
    from trackwell.plugins import get_plugin_manager
    from trackwell.plugins.registrar import INTEGRATIONS, collect

    return collect(get_plugin_manager(), INTEGRATIONS)


def load(name: str) -> ModuleType:
    """Import the integration package behind ``trackwell.integration.<name>``.

    The module a plugin registered for ``name`` (``register_integrations``), else
    ``trackwell_<name>``. Raises ``ImportError`` naming the distribution to install
    when it is missing.
    """
    module_name, dist = KNOWN.get(name, (f"trackwell_{name}", f"trackwell-{name}"))
    module_name = registered().get(name, module_name)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the integration is installed; something it needs is not
        raise ModuleNotFoundError(
            f"trackwell.integration.{name} needs the {dist} package: pip install {dist}",
            name=f"trackwell.integration.{name}",
        ) from None


class _AliasLoader(Loader):
    """Loads ``trackwell.integration.<name>`` by putting the integration package in its place."""

    def create_module(self, spec: Any) -> None:
        return None  # a placeholder module, replaced in sys.modules by exec_module

    def exec_module(self, module: ModuleType) -> None:
        # the import system returns whatever sys.modules holds under the name afterwards
        sys.modules[module.__name__] = load(module.__name__.rpartition(".")[2])


class _AliasFinder:
    """Last on ``sys.meta_path``: real submodules (``support``) are found before it."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        prefix, _, name = fullname.rpartition(".")
        if prefix != __name__ or not name.isidentifier() or name.startswith("_"):
            return None
        return ModuleSpec(fullname, _AliasLoader())


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.append(_AliasFinder())


def __getattr__(name: str) -> ModuleType:
    # attribute access: wandb.integration.keras under `import trackwell as wandb`
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
