"""The public names of ``trackwell``: ``__all__`` is the documented API, and each name resolves."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import trackwell
from trackwell import errors

#: The documented public API (issue 3, item 2; docs/design.md "public names"): the W&B
#: run API, the Public API, the plugin marker and the error and settings types.
DOCUMENTED = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",  # wandb.Audio: media, loaded on first use
    "CommError",  # W&B's wandb.CommError: what the Public API raises when a server request fails
    "Histogram",  # wandb.Histogram: media, loaded on first use
    "Html",  # wandb.Html: media, loaded on first use
    "Image",  # wandb.Image: media, loaded on first use
    "JoinedTable",  # wandb.JoinedTable: two tables joined on a key, in artifacts
    "Media",  # wandb.Media: the base of what log() stores (models-docs "Limits")
    "Molecule",  # wandb.Molecule: media, loaded on first use
    "Object3D",  # wandb.Object3D: media, loaded on first use
    "Plotly",  # wandb.Plotly: media, loaded on first use
    "Run",
    "Settings",
    "Table",  # wandb.Table
    "TrackwellError",
    "UsageError",
    "Video",  # wandb.Video: media, loaded on first use
    "WBValue",  # wandb.WBValue: W&B's name for the same base (models-docs "Track a model")
    "__version__",
    "agent",  # wandb.agent: runs sweep trials
    "alert",
    "config",
    "controller",  # wandb.controller: the local sweep controller
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
    "login",  # wandb.login: a key checked and saved for a server (loaded on first use)
    "plot",  # wandb.plot.line(...) etc.: charts, loaded on first use
    "plot_table",  # wandb.plot_table: custom charts
    "require",  # wandb.require: W&B's feature names accepted
    "run",
    "save",
    "setup",  # wandb.setup: the process's default settings
    "summary",
    "sweep",  # wandb.sweep
    "teardown",  # wandb.teardown: finishes the active runs
    "unwatch",
    "use_artifact",
    "use_model",
    "util",  # wandb.util.generate_id()
    "watch",  # wandb.watch: needs trackwell-torch
]

#: What ``import trackwell as wandb`` code touches in the everyday loop.
WANDB_LOOP = [
    "init",
    "config",
    "log",
    "summary",
    "finish",
    "define_metric",
    "alert",
    "AlertLevel",
    "save",
    "run",
    "Api",
]

#: Artefacts of how ``__init__`` is written, not API.
NOT_API = {"annotations", "TYPE_CHECKING", "Any"}


def test_all_matches_the_documented_names() -> None:
    assert trackwell.__all__ == DOCUMENTED


def test_all_is_sorted_without_duplicates() -> None:
    assert trackwell.__all__ == sorted(set(trackwell.__all__))


def test_wandb_loop_names_are_public() -> None:
    assert set(WANDB_LOOP) <= set(trackwell.__all__)


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_public_name_resolves(name: str) -> None:
    getattr(trackwell, name)  # Api and hookimpl load on first access; the rest are bound


def test_every_public_name_is_listed_by_dir() -> None:
    # lazily loaded names must still show up for dir() and tab completion (PEP 562)
    assert set(trackwell.__all__) <= set(dir(trackwell))


def test_no_undocumented_public_names() -> None:
    """Anything public in the namespace that is not a submodule is in ``__all__`` (httpx's rule)."""
    public = {
        name
        for name, value in vars(trackwell).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name not in NOT_API
    }
    media = {"Audio", "Histogram", "Html", "Image", "Object3D", "Plotly", "Video"}  # lazy: __getattr__
    # PEP 562 names load on first use; trackwell.plot is a subpackage once loaded
    lazy = {n for n in trackwell.__all__ if n not in vars(trackwell) or inspect.ismodule(vars(trackwell)[n])}
    assert public == set(trackwell.__all__) - {"__version__", "errors"} - lazy - media


def test_star_import_in_a_fresh_interpreter(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from trackwell import *\n"
        "import trackwell\n"
        "print(json.dumps(sorted(n for n in trackwell.__all__ if n in globals())))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == DOCUMENTED


def test_names_are_the_objects_they_claim_to_be() -> None:
    from trackwell.alerts import AlertLevel
    from trackwell.api import Api
    from trackwell.plugins import hookimpl
    from trackwell.session import finish, init
    from trackwell.settings import Settings

    assert trackwell.Api is Api
    assert trackwell.hookimpl is hookimpl
    assert trackwell.AlertLevel is AlertLevel
    assert trackwell.Settings is Settings
    assert trackwell.init is init
    assert trackwell.finish is finish
    assert trackwell.errors is errors
    assert trackwell.Run is sys.modules["trackwell.run"].Run
    assert isinstance(trackwell.__version__, str) and trackwell.__version__


def test_before_init_the_run_shortcuts_say_so(trackwell_dir: Path) -> None:
    assert trackwell.run is None
    for name in ("log", "define_metric", "alert", "save"):
        with pytest.raises(trackwell.UsageError, match="init"):
            getattr(trackwell, name)()
    for name in ("config", "summary"):
        with pytest.raises(trackwell.UsageError, match="init"):
            getattr(trackwell, name)["key"]
        assert "init" in repr(getattr(trackwell, name))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        trackwell.no_such_name  # noqa: B018


def test_error_hierarchy_is_as_documented() -> None:
    assert trackwell.TrackwellError is errors.TrackwellError
    assert trackwell.UsageError is errors.UsageError
    assert issubclass(errors.UsageError, errors.TrackwellError)
    assert issubclass(errors.RunFinishedError, errors.UsageError)
    assert issubclass(errors.ConfigError, errors.UsageError)
    assert issubclass(errors.RunDirError, errors.TrackwellError)
    assert issubclass(errors.CorruptRunLog, errors.TrackwellError)
    assert issubclass(errors.TrackwellWarning, UserWarning)
    assert issubclass(errors.DataDroppedWarning, errors.TrackwellWarning)
    for name in (
        "UsageError",
        "RunFinishedError",
        "ConfigError",
        "RunDirError",
        "CorruptRunLog",
        "DataDroppedWarning",
    ):
        assert name in (errors.__doc__ or "")


def test_alert_levels_match_wandb() -> None:
    assert [level.value for level in trackwell.AlertLevel] == ["INFO", "WARN", "ERROR"]
