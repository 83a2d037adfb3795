"""`trackwell sweep` and `trackwell agent` as real subprocesses against the real server."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trackwell.sweeps.client import SweepClient

TRAIN = """
import trackwell as wandb
run = wandb.init()
run.log({"loss": (run.config.lr - 0.05) ** 2 + run.config.layers})
run.finish()
"""
CONFIG = """
program: train.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  lr: {values: [0.01, 0.05]}
  layers: {values: [1, 2]}
"""


@pytest.fixture
def workdir(trackwell_online_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACKWELL_SWEEP_HEARTBEAT", "0.2")
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(CONFIG)
    return tmp_path


def tw(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trackwell", *args], cwd=cwd, env=dict(os.environ),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def agent_command(stdout: str) -> list[str]:
    match = re.search(r"^\s+(trackwell agent \S+)\s*$", stdout, re.M)
    assert match, stdout
    return shlex.split(match.group(1))


def test_sweep_prints_the_agent_command_that_runs_it(workdir: Path) -> None:
    out = tw(workdir, "sweep", "sweep.yaml", "--project", "cli", "--name", "grid one")
    assert out.returncode == 0, out.stderr
    argv = agent_command(out.stdout)
    path = argv[-1]
    assert re.fullmatch(r"[^/]+/cli/[a-z0-9]{8}", path), path
    ran = tw(workdir, *argv[1:])  # exactly the printed command, as a subprocess
    assert ran.returncode == 0, ran.stderr
    info = SweepClient(path).info()
    assert info["name"] == "grid one" and info["state"] == "FINISHED"
    assert sorted((r["config"]["lr"], r["config"]["layers"]) for r in info["runs"]) == [
        (0.01, 1), (0.01, 2), (0.05, 1), (0.05, 2)
    ]  # fmt: skip
    assert all(r["state"] == "finished" for r in info["runs"])
    assert min(info["runs"], key=lambda r: r["metric"])["config"] == {"lr": 0.05, "layers": 1}


def test_agent_count_and_pause_resume_stop_cancel(workdir: Path) -> None:
    path = agent_command(tw(workdir, "sweep", "sweep.yaml", "-p", "states").stdout)[-1]
    sweep_id = path.rsplit("/", 1)[1]
    ran = tw(workdir, "agent", sweep_id, "--project", "states", "--count", "1")
    assert ran.returncode == 0, ran.stderr
    client = SweepClient(path)
    assert client.info()["run_count"] == 1
    for flag, state in [("--pause", "PAUSED"), ("--resume", "RUNNING"), ("--stop", "FINISHED")]:
        out = tw(workdir, "sweep", flag, path)
        assert out.returncode == 0, out.stderr
        assert f"is now {state}" in out.stdout and client.info()["state"] == state
    out = tw(workdir, "sweep", "--resume", path)  # a finished sweep cannot come back
    assert out.returncode == 1 and "FINISHED and cannot be running" in out.stderr
    other = agent_command(tw(workdir, "sweep", "sweep.yaml", "-p", "states").stdout)[-1]
    assert tw(workdir, "sweep", "--cancel", other).returncode == 0
    assert SweepClient(other).info()["state"] == "CANCELED"
    done = tw(workdir, "agent", other)
    assert done.returncode == 0 and "is done" in done.stderr and SweepClient(other).info()["run_count"] == 0


def test_local_controller_from_the_command_line(workdir: Path) -> None:
    ctl = subprocess.Popen(
        [sys.executable, "-m", "trackwell", "sweep", "--controller", "sweep.yaml", "-p", "local"],
        cwd=workdir, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert ctl.stdout is not None
    lines = []
    for line in ctl.stdout:  # the agent command comes first; the controller then runs
        lines.append(line)
        if "trackwell agent" in line:
            break
    argv = agent_command("".join(lines))
    agent = tw(workdir, *argv[1:])
    assert agent.returncode == 0, agent.stderr
    out, err = ctl.communicate(timeout=120)
    assert ctl.returncode == 0, err
    info = SweepClient(argv[-1]).info()
    assert info["controller"] == "local" and info["state"] == "FINISHED" and info["run_count"] == 4
    assert "is FINISHED" in out


def test_bad_yaml_names_the_offending_key(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text(
        textwrap.dedent(
            """
            method: random
            parameters:
              lr: {distribution: log_uniform_values, min: 0.1}
            """
        )
    )
    out = tw(workdir, "sweep", "bad.yaml")
    assert out.returncode == 1 and "parameters.lr" in out.stderr and "Traceback" not in out.stderr
    (workdir / "broken.yaml").write_text("method: [random\n")
    out = tw(workdir, "sweep", "broken.yaml")
    assert out.returncode == 1 and "not valid YAML" in out.stderr and "Traceback" not in out.stderr
    (workdir / "typo.yaml").write_text("method: random\nparamters: {}\n")
    out = tw(workdir, "sweep", "typo.yaml")
    assert out.returncode == 1 and "paramters" in out.stderr


def test_unknown_sweep_and_no_server(workdir: Path, tmp_path: Path) -> None:
    out = tw(workdir, "agent", "nosuch12", "-p", "cli")
    assert out.returncode == 1 and "nosuch12" in out.stderr and "not found" in out.stderr
    assert "Traceback" not in out.stderr
    out = tw(workdir, "sweep", "--pause", "cli/nosuch12")
    assert out.returncode == 1 and "not found" in out.stderr
    out = tw(workdir, "sweep", "nosuch.yaml")
    assert out.returncode == 1 and "cannot read the sweep configuration" in out.stderr
    with _free_port() as port:
        env = {**os.environ, "TRACKWELL_BASE_URL": f"http://127.0.0.1:{port}"}
        gone = subprocess.run(
            [sys.executable, "-m", "trackwell", "sweep", "sweep.yaml", "-e", "me", "-p", "x"],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert gone.returncode == 1 and "cannot reach the trackwell server" in gone.stderr, gone.stderr
    assert "Traceback" not in gone.stderr


class _free_port:
    """A loopback port held bound (not listening) so nothing answers on it."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
