"""A new user's first commands, as real subprocesses: an offline run says how to upload
it, `trackwell sync` says offline runs wait to be asked for, the demo prints each line
once, and Ctrl-C ends a command with one line and exit code 130 (no click "Aborted!")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import trackwell as wandb

TRACKWELL = str(Path(sys.executable).parent / "trackwell")

SCRIPT = """
import trackwell as wandb

run = wandb.init(project="first-run", mode="offline", config={"lr": 0.1})
for step in range(5):
    run.log({"loss": 1.0 / (step + 1)})
run.finish()
"""


def loud_env() -> dict[str, str]:
    """The test's environment as a user's shell has it: the run prints its lines."""
    env = {**os.environ}
    env.pop("TRACKWELL_SILENT", None)
    return env


def run_offline_script(cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=cwd, env=loud_env(), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_offline_run_prints_the_sync_command_and_it_uploads_the_run(trackwell_online_dir: Path) -> None:
    err = run_offline_script(trackwell_online_dir)
    [command] = [line.removeprefix("trackwell: ") for line in err.splitlines() if "trackwell sync " in line]
    run_dir = Path(command.split(" ", 2)[2])
    assert run_dir.is_dir() and run_dir.name.startswith("offline-run-")
    proc = subprocess.run(
        [TRACKWELL, "sync", str(run_dir)], env=loud_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    run_id = run_dir.name.rsplit("-", 1)[1]
    back = wandb.Api().run(f"first-run/{run_id}")
    assert back.config["lr"] == 0.1
    assert [row["loss"] for row in back.scan_history(keys=["loss"])] == [1.0, 0.5, 1 / 3, 0.25, 0.2]


def test_sync_with_only_offline_runs_says_how_many_and_how_to_upload(trackwell_online_dir: Path) -> None:
    run_offline_script(trackwell_online_dir)
    run_offline_script(trackwell_online_dir)
    proc = subprocess.run([TRACKWELL, "sync"], cwd=trackwell_online_dir, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 offline run(s)" in proc.stdout
    assert "trackwell sync --include-offline" in proc.stdout


def test_ctrl_c_ends_a_command_with_one_line_and_exit_code_130(trackwell_online_dir: Path) -> None:
    run_offline_script(trackwell_online_dir)
    uploaded = subprocess.run([TRACKWELL, "sync", "--include-offline"], cwd=trackwell_online_dir,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert uploaded.returncode == 0, uploaded.stderr
    # `sync --clean` asks before it deletes: a prompt waiting on the user, interrupted
    proc = subprocess.Popen([TRACKWELL, "sync", "--clean"], cwd=trackwell_online_dir, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = ""
    while "1 run(s) are fully uploaded" not in seen:
        assert time.monotonic() < deadline, seen
        seen += proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Aborted!" not in out + err
    assert err.strip() == "trackwell: interrupted"
    assert len(list((trackwell_online_dir / "trackwell").glob("offline-run-*"))) == 1


def test_demo_prints_each_line_once(trackwell_online_dir: Path) -> None:
    proc = subprocess.run([TRACKWELL, "demo", "--steps", "20", "--epochs", "2", "--no-serve"],
                          cwd=trackwell_online_dir, env=loud_env(), capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), lines
    [page] = [line for line in lines if "/runs/" in line]
    assert sum(line.count("/runs/") for line in lines) == 1, page
    assert len([line for line in lines if line.startswith("trackwell: Run data: ")]) == 1


def test_ctrl_c_during_the_demo_ends_its_run_killed_and_exits_130(trackwell_dir: Path) -> None:
    proc = subprocess.Popen([TRACKWELL, "demo", "--steps", "100000000", "--no-serve"], cwd=trackwell_dir,
                            env=loud_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = ""
    while "Tracking run" not in seen:
        assert time.monotonic() < deadline, seen
        seen += proc.stderr.readline()
    # Ctrl-C once the run's log holds it (the banner can come before the writer's first write)
    while not wandb.Api(root=trackwell_dir).runs("demo"):
        assert time.monotonic() < deadline, "the demo's run never reached its log"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Aborted!" not in out + err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "trackwell: interrupted"
    [run] = wandb.Api(root=trackwell_dir).runs("demo")
    assert run.state == "killed"
