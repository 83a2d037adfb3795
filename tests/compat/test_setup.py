"""``wandb.setup()``, ``wandb.teardown()`` and ``wandb.require()`` as W&B's docs use them: the
multiprocessing pattern (setup in main, runs in workers), teardown finishing the active run,
known feature names accepted and an unknown one a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackwell as wandb
from trackwell import session
from trackwell.errors import UsageError

SPAWNED = """
import multiprocessing as mp

import trackwell as wandb


def do_work(n):
    run = wandb.init(project="setup-compat", config=dict(n=n))
    run.log(dict(this=n * n))
    run.finish()


def main():
    wandb.require("service")
    wandb.setup()
    with mp.get_context("spawn").Pool(processes=2) as pool:
        pool.map(do_work, range(2))


if __name__ == "__main__":
    main()
"""


def test_setup_in_main_and_runs_in_spawned_workers(trackwell_dir: Path) -> None:
    script = trackwell_dir / "spawned.py"
    script.write_text(SPAWNED, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=trackwell_dir, env=dict(os.environ), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    runs = wandb.Api().runs("setup-compat")
    assert sorted(run.config["n"] for run in runs) == [0, 1]
    assert sorted(run.summary["this"] for run in runs) == [0, 1]


def test_setup_settings_are_the_defaults_of_later_runs(trackwell_dir: Path) -> None:
    try:
        first = wandb.setup(settings=wandb.Settings(project="from-setup", run_tags=("s",)))
        assert wandb.setup() is first  # harmless again, the same object
        assert first.settings.project == "from-setup"
        run = wandb.init()
        assert (run.project, run.tags) == ("from-setup", ("s",))
        run.finish()
        run = wandb.init(settings={"project": "from-init"})  # init's settings win
        assert run.project == "from-init" and run.tags == ("s",)
        run.finish()
    finally:
        wandb.teardown()
    assert session._setup is None


def test_teardown_finishes_the_active_run_and_is_harmless_without_one(trackwell_dir: Path) -> None:
    wandb.teardown()  # nothing active
    run = wandb.init(project="teardown")
    run.log({"x": 1})
    wandb.teardown()
    assert run._finished and wandb.run is None
    read = wandb.Api().run(f"teardown/{run.id}")
    assert read.state == "finished" and read.summary["x"] == 1


@pytest.mark.parametrize(
    "feature",
    ["service", "core", "legacy-service", "nexus", "require", "wandb-service@beta", "report-editing:v0"],
)
def test_known_features_are_accepted(feature: str) -> None:
    wandb.require(feature)
    wandb.require([feature, "core"])
    wandb.require(experiment=feature)


def test_an_unknown_feature_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="unsupported requirement 'warp-drive'"):
        wandb.require("warp-drive")
    wandb.require()  # nothing asked, nothing to check
