"""``trackwell.integration.<name>``: the installed integration packages, by W&B's names.

``from trackwell.integration.keras import WandbMetricsLogger`` (and, with
``import trackwell as wandb``, ``wandb.integration.keras.WandbMetricsLogger``) gives the
objects of the separately installed distribution ``trackwell-keras``. There are no
module files for these names: a finder at the end of ``sys.meta_path`` (added when this
package is first imported) answers ``trackwell.integration.<name>`` with :func:`load`,
putting the integration's module itself in ``sys.modules``, so both names are one
module object.

One mechanism names integrations: a plugin's ``register_integrations`` hook says which
module implements a name (every first-party integration registers its own, and
``trackwell.apis.importers.<name>`` resolves through it too); a name nobody registered
is the package ``trackwell_<name>``, so a third-party package following that naming
plugs in without a hook. A missing one is an ``ImportError`` that says how to install
it (the first-party integrations are installed from the trackwell repository).

Nothing here is imported by ``import trackwell``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.abc import Loader
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

#: First-party integrations by W&B name -> their folder under ``integrations/`` in the
#: trackwell repository, for the install hint only (they are not on PyPI): when one is
#: installed, its own plugin registers the name.
FIRST_PARTY: dict[str, str] = {
    "huggingface": "transformers",
    "keras": "keras",
    "lightning": "lightning",
    "mlflow": "mlflow",
    "sklearn": "sklearn",
    "torch": "torch",
    "transformers": "transformers",
    "xgboost": "xgboost",
}


def registered() -> dict[str, str]:
    """``name -> module`` from the installed plugins' ``register_integrations`` hooks."""
    from trackwell.plugins import get_plugin_manager
    from trackwell.plugins.registrar import INTEGRATIONS, collect

    return collect(get_plugin_manager(), INTEGRATIONS)


def install_hint(name: str) -> str:
    """How to get the integration ``name`` (a sentence for an ``ImportError``)."""
    folder = FIRST_PARTY.get(name)
    if folder is None:
        return f"no installed plugin registers it and there is no trackwell_{name} package"
    return (
        f"it needs the trackwell-{folder} package, installed from the trackwell repository: "
        f"pip install -e integrations/{folder}"
    )


def load(name: str) -> ModuleType:
    """Import the integration package behind ``trackwell.integration.<name>``.

    The module a plugin registered for ``name`` (``register_integrations``), else
    ``trackwell_<name>``. Raises ``ModuleNotFoundError`` saying how to install it
    when it is missing.
    """
    module_name = registered().get(name, f"trackwell_{name}")
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the integration is installed; something it needs is not
        raise ModuleNotFoundError(
            f"trackwell.integration.{name} is not installed: {install_hint(name)}",
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
