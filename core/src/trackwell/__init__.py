"""trackwell: experiment tracking that speaks the W&B Python API.

    import trackwell as wandb

    run = wandb.init(project="demo", config={"lr": 1e-3})
    for step in range(100):
        run.log({"loss": 1 / (step + 1)})
    run.finish()

``trackwell.run``, ``trackwell.config``, ``trackwell.summary`` and ``trackwell.log``
follow the current run, as in W&B. Importing this package is cheap: no numpy, pandas,
torch, requests or plugin discovery happens until a call needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackwell import _post_import, active, errors
from trackwell._version import __version__
from trackwell.alerts import AlertLevel
from trackwell.errors import CommError, TrackwellError, UsageError
from trackwell.run import Run
from trackwell.session import PreInit as _PreInit
from trackwell.session import finish, init, require, setup, teardown
from trackwell.session import preinit_callable as _preinit_callable
from trackwell.settings import Settings

if TYPE_CHECKING:  # what __getattr__ loads on first use, spelled out for type checkers
    from trackwell import plot, util
    from trackwell.account import login
    from trackwell.api import Api
    from trackwell.artifacts import Artifact
    from trackwell.artifacts import ArtifactManifestEntry as ArtifactManifestEntry
    from trackwell.media.audio import Audio
    from trackwell.media.base import Media
    from trackwell.media.base import Media as WBValue
    from trackwell.media.histogram import Histogram
    from trackwell.media.html import Html
    from trackwell.media.image import Image
    from trackwell.media.molecule import Molecule
    from trackwell.media.object3d import Object3D
    from trackwell.media.plotly import Plotly
    from trackwell.media.video import Video
    from trackwell.plot import plot_table
    from trackwell.plugins import hookimpl
    from trackwell.sweeps import agent, controller, sweep
    from trackwell.table import JoinedTable, Table

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "CommError",
    "Histogram",
    "Html",
    "Image",
    "JoinedTable",
    "Media",
    "Molecule",
    "Object3D",
    "Plotly",
    "Run",
    "Settings",
    "Table",
    "TrackwellError",
    "UsageError",
    "Video",
    "WBValue",
    "__version__",
    "agent",
    "alert",
    "config",
    "controller",
    "define_metric",
    "errors",
    "finish",
    "hookimpl",
    "init",
    "link_artifact",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "plot",
    "plot_table",
    "require",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "unwatch",
    "use_artifact",
    "use_model",
    "util",
    "watch",
]

#: The current run (``None`` before ``init()`` and after ``finish()``).
run: Run | None = None
config: Any = _PreInit("config")
summary: Any = _PreInit("summary")
log: Any = _preinit_callable("log")
define_metric: Any = _preinit_callable("define_metric")
alert: Any = _preinit_callable("alert")
save: Any = _preinit_callable("save")
log_artifact: Any = _preinit_callable("log_artifact")
use_artifact: Any = _preinit_callable("use_artifact")
link_artifact: Any = _preinit_callable("link_artifact")
log_model: Any = _preinit_callable("log_model")
use_model: Any = _preinit_callable("use_model")
link_model: Any = _preinit_callable("link_model")
watch: Any = _preinit_callable("watch")
unwatch: Any = _preinit_callable("unwatch")


_MEDIA = frozenset(("Audio", "Histogram", "Html", "Image", "Molecule", "Object3D", "Plotly", "Video"))


def __getattr__(name: str) -> Any:
    # Loaded on first use: the Public API pulls in readers, hookimpl pulls in pluggy.
    if name == "Api":
        from trackwell.api import Api

        return Api
    if name == "login":  # wandb.login(): the transport loads only when it is called
        from trackwell.account import login

        return login
    if name in ("Artifact", "ArtifactManifestEntry"):
        import trackwell.artifacts

        return getattr(trackwell.artifacts, name)
    if name in ("Table", "JoinedTable"):
        import trackwell.table

        return getattr(trackwell.table, name)
    if name in ("plot", "plot_table"):  # wandb.plot.line(...), wandb.plot_table(...)
        import trackwell.plot

        return trackwell.plot if name == "plot" else trackwell.plot.plot_table
    if name == "hookimpl":
        from trackwell.plugins import hookimpl

        return hookimpl
    if name in _MEDIA:  # trackwell.Image etc.: numpy/PIL load only when one is built
        import trackwell.media

        return getattr(trackwell.media, name)
    if name in ("Media", "WBValue"):  # W&B's bases of what log() stores; Media is the root here
        from trackwell.media.base import Media

        return Media
    if name == "util":  # wandb.util.generate_id()
        import trackwell.util

        return trackwell.util
    if name in ("sweep", "agent", "controller"):  # wandb.sweep / wandb.agent / wandb.controller
        import trackwell.sweeps

        return getattr(trackwell.sweeps, name)
    if name == "integration":  # wandb.integration.keras under `import trackwell as wandb`
        import trackwell.integration

        return trackwell.integration
    if name == "apis":  # wandb.apis.importers.mlflow.MlflowImporter: trackwell-mlflow
        import trackwell.apis.importers

        return trackwell.apis
    if name in ("sklearn", "xgboost"):  # wandb.sklearn.plot_roc(...): W&B's top-level shortcuts
        return _integration(name)
    raise AttributeError(f"module 'trackwell' has no attribute {name!r}")


def _integration(name: str) -> Any:
    """``trackwell.integration.<name>``, or an AttributeError saying what to install
    (an attribute lookup must not raise ImportError: ``hasattr`` would propagate it)."""
    import importlib

    try:
        return importlib.import_module(f"trackwell.integration.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"trackwell.integration.{name}":
            raise
        raise AttributeError(str(exc)) from None


def __dir__() -> list[str]:
    lazy = {"Api", "Artifact", "JoinedTable", "Table", "hookimpl", "login", "plot", "plot_table"}
    lazy |= {"sweep", "agent", "controller", "Media", "WBValue", "util"}
    return sorted(set(globals()) | lazy | _MEDIA)


def _server_api(base_url: str, api_key: str | None) -> Any:
    """The Public API on a server, for an artifact's lineage (loaded only when asked)."""
    from trackwell.api.remote import ServerApi

    return ServerApi(overrides={"base_url": base_url}, api_key=api_key)


# Code below the session (an artifact saved with no run, or asked who logged it) reaches
# init() and the Public API through these, without importing them into its package.
active.set_init(init)
active.set_api(_server_api)

# Integrations that must hook into their framework at import time (Hugging Face's
# report_to table) get the chance here; costs one finder on sys.meta_path.
_post_import.install()
