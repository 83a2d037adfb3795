"""The extension API: what plugins, integrations and the server may use beyond ``trackwell``.

Everything else in the core is internal and may change without notice (the write
pipeline is private by name, ``trackwell._pipeline``). A distribution built on the SDK
imports from here, from ``trackwell`` and from the other public modules (``plugins``,
``errors``, ``limits``, ``records``, ``testing``, ...); a test (``tests/arch``) holds every
first-party one to that. Each name says why a plugin needs it:

Runs
    ``Run``              the run type, to annotate hooks and callbacks that receive one
    ``Settings``         a run's settings, for a plugin that reads or builds them (DDP ranks)
    ``read_settings_file``, ``write_settings_file``, ``user_config_dir``
                         the SDK's settings files: the server's first start offers its login there
    ``run_directory``    the run's own folder, where a plugin stages files beside its log
    ``on_finish``        call a function after a run finished (drop framework hooks first)
    ``MetricsSource``    the protocol of a ``register_system_metrics`` source
    ``Alert``            what an alert sink receives
    ``lazy_exports``     PEP 562 lazy names, so importing a plugin imports no framework
    ``support``          what the framework integrations share (model artifacts, config)
    ``warn_once``        a warning said once per process

Run logs (an importer writes them, the mirror and the server read them)
    ``runlog``           the run log format: framing, encoder, reader, ``LogTail``
    ``Transport``        the SDK's HTTP client to a trackwell server
    ``run_path``         the REST path of a run (``/api/v1/runs/<e>/<p>/<id>/...``)
    ``Uploader``         uploads one run directory to a server, exactly once
    ``LocalRun``         a run directory as ``trackwell sync`` sees it
    ``mark_crashed``     record that an uploaded run whose process died has crashed
    ``rundir``           run directory names and layout (``find_log``, ``iter_run_dirs``)
    ``new_run_id``       a fresh run id, as ``init()`` makes them
    ``default_root``     the folder local runs go to (``./trackwell``)

Values, metrics and limits (the server stores what the writer wrote, the same way)
    ``storable``         a logged value made storable exactly as the writer does
    ``flatten``          nested values as dotted keys, as history shows them
    ``MetricRule``       a ``define_metric`` rule
    ``SummaryState``     the summary state machine ``define_metric`` rules drive
    ``run_filters``      the Public API's run filters (MongoDB-style) and ordering

Artifacts (an importer uploads them as the SDK does)
    ``hash_file``        a file's sha256, as the artifact cache keys it
    ``ArtifactClient``   the artifact REST client (manifests, blobs, commits)
    ``artifact_path``    the REST path of an artifact collection or version
    ``env_workers``      how many transfer threads the environment asks for
    ``manifest_digest``  the digest of a manifest, as the server computes it
    ``ServerApi``        the Public API on a server, to read back what was written

Sweeps (a sweep method plugin, and the server's controller)
    ``SearchMethod``     the protocol of a ``register_sweep_methods`` search method
    ``Trial``            one run of a sweep, as a search method sees it
    ``Param``            one parameter of a sweep config
    ``SweepConfig``      a parsed sweep config
    ``SweepConfigError`` a sweep config that does not parse
    ``parse_sweep_config`` parse a sweep config (YAML/JSON/dict)
    ``sweep_engine``     the controller's engine: validation, next params, early stopping

Names resolve on first use (PEP 562), so ``import trackwell.extend`` imports nothing
beyond what ``import trackwell`` already did.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackwell import rundir
    from trackwell._pipeline import runlog
    from trackwell._pipeline.sync import LocalRun, mark_crashed
    from trackwell._pipeline.transport import Transport, run_path
    from trackwell._pipeline.uploader import Uploader
    from trackwell.alerts import Alert
    from trackwell.api import filters as run_filters
    from trackwell.api.local import default_root
    from trackwell.api.remote import ServerApi
    from trackwell.artifacts.cache import hash_file
    from trackwell.artifacts.client import ArtifactClient, artifact_path, env_workers
    from trackwell.artifacts.manifest import manifest_digest
    from trackwell.flatten import flatten
    from trackwell.integration import support
    from trackwell.integration.support import warn_once
    from trackwell.lazy import lazy_exports
    from trackwell.metrics import MetricRule, SummaryState
    from trackwell.normalize import storable
    from trackwell.run import Run
    from trackwell.rundir import new_run_id
    from trackwell.settings import Settings, read_settings_file, user_config_dir, write_settings_file
    from trackwell.sweeps import engine as sweep_engine
    from trackwell.sweeps.config import Param, SweepConfig, SweepConfigError
    from trackwell.sweeps.config import parse as parse_sweep_config
    from trackwell.sweeps.engine import SearchMethod, Trial
    from trackwell.sysmetrics import MetricsSource

__all__ = [
    "Alert",
    "ArtifactClient",
    "LocalRun",
    "MetricRule",
    "MetricsSource",
    "Param",
    "Run",
    "SearchMethod",
    "ServerApi",
    "Settings",
    "SummaryState",
    "SweepConfig",
    "SweepConfigError",
    "Transport",
    "Trial",
    "Uploader",
    "artifact_path",
    "default_root",
    "env_workers",
    "flatten",
    "hash_file",
    "lazy_exports",
    "manifest_digest",
    "mark_crashed",
    "new_run_id",
    "on_finish",
    "parse_sweep_config",
    "read_settings_file",
    "run_directory",
    "run_filters",
    "run_path",
    "rundir",
    "runlog",
    "storable",
    "support",
    "sweep_engine",
    "user_config_dir",
    "warn_once",
    "write_settings_file",
]

# name -> (module, attribute); attribute None: the module itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "Alert": ("trackwell.alerts", "Alert"),
    "ArtifactClient": ("trackwell.artifacts.client", "ArtifactClient"),
    "LocalRun": ("trackwell._pipeline.sync", "LocalRun"),
    "MetricRule": ("trackwell.metrics", "MetricRule"),
    "MetricsSource": ("trackwell.sysmetrics", "MetricsSource"),
    "Param": ("trackwell.sweeps.config", "Param"),
    "Run": ("trackwell.run", "Run"),
    "SearchMethod": ("trackwell.sweeps.engine", "SearchMethod"),
    "ServerApi": ("trackwell.api.remote", "ServerApi"),
    "Settings": ("trackwell.settings", "Settings"),
    "SummaryState": ("trackwell.metrics", "SummaryState"),
    "SweepConfig": ("trackwell.sweeps.config", "SweepConfig"),
    "SweepConfigError": ("trackwell.sweeps.config", "SweepConfigError"),
    "Transport": ("trackwell._pipeline.transport", "Transport"),
    "Trial": ("trackwell.sweeps.engine", "Trial"),
    "Uploader": ("trackwell._pipeline.uploader", "Uploader"),
    "artifact_path": ("trackwell.artifacts.client", "artifact_path"),
    "default_root": ("trackwell.api.local", "default_root"),
    "env_workers": ("trackwell.artifacts.client", "env_workers"),
    "flatten": ("trackwell.flatten", "flatten"),
    "hash_file": ("trackwell.artifacts.cache", "hash_file"),
    "lazy_exports": ("trackwell.lazy", "lazy_exports"),
    "manifest_digest": ("trackwell.artifacts.manifest", "manifest_digest"),
    "mark_crashed": ("trackwell._pipeline.sync", "mark_crashed"),
    "new_run_id": ("trackwell.rundir", "new_run_id"),
    "parse_sweep_config": ("trackwell.sweeps.config", "parse"),
    "read_settings_file": ("trackwell.settings", "read_settings_file"),
    "run_filters": ("trackwell.api.filters", None),
    "run_path": ("trackwell._pipeline.transport", "run_path"),
    "rundir": ("trackwell.rundir", None),
    "runlog": ("trackwell._pipeline.runlog", None),
    "storable": ("trackwell.normalize", "storable"),
    "support": ("trackwell.integration.support", None),
    "sweep_engine": ("trackwell.sweeps.engine", None),
    "user_config_dir": ("trackwell.settings", "user_config_dir"),
    "warn_once": ("trackwell.integration.support", "warn_once"),
    "write_settings_file": ("trackwell.settings", "write_settings_file"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'trackwell.extend' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def run_directory(run: Run) -> Path:
    """The run's own folder (its log, markers and ``files/``): where a plugin stages files
    that are not the run's uploaded files (those go to ``run.dir``, W&B's ``files/``)."""
    return Path(run.dir).parent


def on_finish(run: Run, callback: Callable[[Run], None]) -> None:
    """Call ``callback(run)`` once ``run`` has finished (its log closed, its summary
    printed), as the last step of ``run.finish()``: an integration removes the hooks it
    put on a framework there, so that they never log into a finished run."""
    run._call_at_finish(callback)
