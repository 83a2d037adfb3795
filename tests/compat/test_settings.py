"""``wandb.Settings(...)`` and ``init(settings=...)`` with every field name W&B's ``Settings`` has:
the ones that mean something here take effect, the rest are accepted with one warning, a typo
of a real setting is still an error that suggests the name."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import trackwell as wandb
from trackwell import settings as settings_module
from trackwell.errors import TrackwellWarning, UsageError
from trackwell.settings_wandb import IGNORED

#: W&B's public and x_ field names (wandb/sdk/wandb_settings.py) that scripts pass most
WANDB_FIELDS: dict[str, Any] = {
    "code_dir": ".", "x_stats_sampling_interval": 5.0, "_stats_disk_paths": ["/"], "x_disable_stats": True,
    "start_method": "thread", "init_timeout": 120.0, "silent": True, "console": "off", "mode": "offline",
    "project": "settings-compat", "run_name": "from-settings", "run_tags": ("a", "b"),
    "run_notes": "notes", "run_job_type": "train", "x_disable_meta": True, "_disable_machine_info": True,
    "x_save_requirements": False, "heartbeat_seconds": 30, "show_info": False, "ignore_globs": ("*.ckpt",),
    "_service_wait": 30.0, "x_file_stream_timeout_seconds": 10.0, "allow_val_change": True,
    "disable_job_creation": True, "program": "train.py", "notebook_name": "nb.ipynb",
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "_warned_ignored", set())


def ignored_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, TrackwellWarning) and "no effect" in str(w.message)
    ]


@pytest.mark.filterwarnings("ignore::trackwell.errors.TrackwellWarning")
def test_every_wandb_field_name_is_accepted(trackwell_dir: Path) -> None:
    for name in sorted(IGNORED):
        wandb.Settings(**{name: "x"})
    for name in ("_disable_stats", "_stats_sample_rate_seconds", "_require_core", "_save_requirements"):
        wandb.Settings(**{name: "1"})  # W&B's legacy underscore spellings


def test_honoured_fields_take_effect_and_the_rest_warn_once(trackwell_dir: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = wandb.init(settings=wandb.Settings(**WANDB_FIELDS))
        run.log({"loss": 0.5})
        run.finish()
        run2 = wandb.init(settings=dict(WANDB_FIELDS), reinit="finish_previous")
        run2.finish()
    [message] = ignored_warnings(caught)
    assert "start_method" in message and "_stats_disk_paths" in message  # as the script spelt it
    assert "run_name" not in message and "x_stats_sampling_interval" not in message
    s = run.settings
    assert (s.project, s.name, s.tags, s.notes, s.job_type) == (
        "settings-compat", "from-settings", ("a", "b"), "notes", "train",
    )  # fmt: skip
    assert (s.stats_sampling_interval, s.disable_stats, s.console, s.silent) == (5.0, True, "off", True)
    assert s.init_timeout == 120.0
    read = wandb.Api().run(f"settings-compat/{run.id}")
    assert read.name == "from-settings" and read.tags == ["a", "b"]
    assert [row["loss"] for row in read.history(pandas=False)] == [0.5]


def test_init_arguments_given_as_settings(trackwell_dir: Path) -> None:
    first = wandb.init(project="p", settings={"reinit": "create_new"})
    second = wandb.init(project="p", settings=wandb.Settings(reinit="create_new"))
    assert first is not second and not first._finished
    second.finish()
    first.finish()


def test_a_typo_is_an_error_that_names_the_setting(trackwell_dir: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'project'"):
        wandb.Settings(projcet="p")
    with pytest.raises(UsageError, match="unknown setting"):
        wandb.init(settings={"no_such_setting": 1})
