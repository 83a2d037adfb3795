"""Run methods as W&B user code calls them (``import trackwell as wandb``): ``log_code``,
``mark_preempting``, ``log({"chart": plt})`` and a run handed to a child process, read
back through the Public API (the local one offline, the server's online)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import trackwell as wandb
from trackwell.api.local import LocalApi
from trackwell.child import RunInChildError


def local_run(root: Path, run: Any) -> Any:
    return LocalApi(root).run(f"{run.project_name()}/{run.id}")


def make_project(root: Path) -> None:
    """Code, a note, a run folder and a virtual environment: only the code is source."""
    (root / "train.py").write_text("print('train')\n")
    (root / "models").mkdir()
    (root / "models" / "net.py").write_text("NET = 1\n")
    (root / "notes.txt").write_text("not code\n")
    (root / "wandb").mkdir()
    (root / "wandb" / "old.py").write_text("# a W&B run folder\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / ".venv" / "lib" / "site.py").write_text("# installed\n")


# -- log_code ---------------------------------------------------------------------------------


def test_log_code_makes_a_code_artifact_of_the_python_files(trackwell_dir: Path) -> None:
    make_project(trackwell_dir)
    run = wandb.init(project="compat-code", mode="offline")
    run.log({"x": 1})  # the run folder ./trackwell/ exists and holds files: never code
    art = run.log_code(".")
    run.finish()
    assert art.type == "code"
    assert art.name.startswith("source-compat-code-")
    assert sorted(art.manifest.entries) == ["models/net.py", "train.py"]


def test_log_code_include_and_exclude_fns_take_path_or_path_and_root(trackwell_dir: Path) -> None:
    make_project(trackwell_dir)
    run = wandb.init(project="compat-code", mode="offline")
    art = run.log_code(
        ".",
        name="my-code",
        include_fn=lambda path: path.endswith((".py", ".txt")),
        exclude_fn=lambda path, root: os.path.relpath(path, root).startswith("models"),
    )
    assert art.name.startswith("my-code")
    # an exclude_fn of one's own replaces the default one, as in W&B: wandb/ is code now
    assert sorted(art.manifest.entries) == ["notes.txt", "train.py", "wandb/old.py"]
    with pytest.warns(UserWarning, match="no files"):  # as W&B: a warning and None
        assert run.log_code(".", include_fn=lambda path: path.endswith(".ipynb")) is None
    run.finish()


def test_log_code_online_reads_back_through_the_public_api(trackwell_online_dir: Path) -> None:
    make_project(trackwell_online_dir)
    run = wandb.init(project="compat-code")
    art = run.log_code(".", name="source-compat")
    art.wait()
    run.finish()
    api = wandb.Api()
    back = api.artifact(f"{run.entity}/compat-code/source-compat:latest")
    assert back.type == "code"
    folder = Path(back.download())
    assert (folder / "train.py").read_text() == "print('train')\n"
    assert (folder / "models" / "net.py").read_text() == "NET = 1\n"
    assert not (folder / "notes.txt").exists()
    logged = api.run(f"{run.entity}/compat-code/{run.id}").logged_artifacts()
    assert [a.type for a in logged] == ["code"]


# -- mark_preempting ----------------------------------------------------------------------------


def test_mark_preempting_shows_preempting_then_preempted(trackwell_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import os, signal
        import trackwell as wandb

        run = wandb.init(project="compat-preempt", mode="offline")
        run.log({"loss": 0.5})
        run.mark_preempting()
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the machine goes away
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=trackwell_dir, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    back = LocalApi(trackwell_dir).run(f"compat-preempt/{proc.stdout.strip()}")
    assert back.state == "preempted"
    assert [row["loss"] for row in back.scan_history()] == [0.5]


def test_mark_preempting_while_running_then_finished(trackwell_dir: Path) -> None:
    run = wandb.init(project="compat-preempt", mode="offline")
    run.mark_preempting()
    assert local_run(trackwell_dir, run).state == "preempting"
    run.finish()
    assert local_run(trackwell_dir, run).state == "finished"


# -- log({"chart": plt}) -------------------------------------------------------------------------


def test_log_pyplot_module_logs_the_current_figure_as_an_image(trackwell_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = wandb.init(project="compat-plt", mode="offline")
    plt.figure(figsize=(4, 3), dpi=50)
    plt.plot([1, 2, 3, 4])
    plt.ylabel("some interesting numbers")
    wandb.log({"chart": plt})
    run.finish()
    plt.close("all")
    [row] = list(local_run(trackwell_dir, run).scan_history())
    chart = row["chart"]
    assert chart["_type"] == "image-file"
    assert (chart["width"], chart["height"]) == (200, 150)
    assert (run._run_dir / "files" / chart["path"]).stat().st_size == chart["size"]


# -- a run handed to a child process ------------------------------------------------------------


def child_logs(run: Any) -> None:
    run.log({"child": 1})


def child_catches(run: Any, answers: Any) -> None:
    try:
        run.log({"child": 1})
    except RunInChildError as exc:
        answers.put(str(exc))


def test_spawned_child_refuses_the_run_at_start(trackwell_dir: Path) -> None:
    run = wandb.init(project="compat-mp", mode="offline")
    run.log({"parent": 1})
    proc = multiprocessing.get_context("spawn").Process(target=child_logs, args=(run,))
    with pytest.raises(RunInChildError, match="cannot be sent to another process"):
        proc.start()
    run.log({"parent": 2})
    run.finish()
    assert [row["parent"] for row in local_run(trackwell_dir, run).scan_history()] == [1, 2]


@pytest.mark.skipif(sys.platform != "linux", reason="the fork start method")
def test_forked_child_logging_raises_and_the_parent_run_is_intact(trackwell_dir: Path) -> None:
    run = wandb.init(project="compat-mp", mode="offline")
    run.log({"parent": 1})
    ctx = multiprocessing.get_context("fork")
    answers = ctx.Queue()
    proc = ctx.Process(target=child_catches, args=(run, answers))
    proc.start()
    message = answers.get(timeout=60)
    proc.join(timeout=60)
    assert proc.exitcode == 0
    assert "forked child" in message and "would be lost" in message
    failing = ctx.Process(target=child_logs, args=(run,))  # uncaught: the child fails, loudly
    failing.start()
    failing.join(timeout=60)
    assert failing.exitcode == 1
    run.log({"parent": 2})
    run.finish()
    rows = list(local_run(trackwell_dir, run).scan_history())
    assert [row["parent"] for row in rows] == [1, 2]
    assert local_run(trackwell_dir, run).state == "finished"
