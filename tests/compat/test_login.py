"""``wandb.login()`` as W&B scripts call it, against a real server: a key from the environment,
from the argument with ``host=``, ``relogin``, ``verify=True`` with a bad key, no terminal (never a
prompt), and no server at all (False, one line, the script goes on offline); then a run streams to
the server the login saved, and its values are read back through the Public API."""

from __future__ import annotations

import configparser
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackwell as wandb
from trackwell import session
from trackwell.errors import AuthenticationError, UsageError


@pytest.fixture(autouse=True)
def forget_login() -> Iterator[None]:
    """login(host=...) points this process's later runs at the server: not the next test's."""
    yield
    wandb.teardown()


def new_user(server: Any) -> tuple[str, str]:
    name = f"login-{uuid.uuid4().hex[:8]}"
    return name, server.create_user(name)


def saved(trackwell_dir: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(Path(os.environ["TRACKWELL_CONFIG_DIR"]) / "settings")
    return parser


def run_script(cwd: Path, source: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A W&B user's script in a child process with no terminal (stdin is /dev/null)."""
    return subprocess.run(
        [sys.executable, "-c", source, *args], cwd=cwd, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


LOGIN_AND_TRAIN = """
import sys
import trackwell as wandb

assert wandb.login(key=sys.argv[1], host=sys.argv[2]) is True
run = wandb.init(project="login-compat", config={"lr": 0.01})
print(run.entity, run.id)
for step in range(3):
    run.log({"loss": 1.0 / (step + 1)})
run.finish()
"""


def test_login_with_key_and_host_saves_it_and_a_run_streams_there(
    trackwell_dir: Path, trackwell_server: Any
) -> None:
    name, key = new_user(trackwell_server)
    proc = run_script(trackwell_dir, LOGIN_AND_TRAIN, key, trackwell_server.url)
    assert proc.returncode == 0, proc.stderr
    entity, run_id = proc.stdout.split()
    assert entity == name  # run.entity is the server's default entity right after init()
    default = saved(trackwell_dir)["default"]
    assert (default["base_url"], default["api_key"], default["entity"]) == (trackwell_server.url, key, name)
    path = Path(os.environ["TRACKWELL_CONFIG_DIR"]) / "settings"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    run = wandb.Api().run(f"{name}/login-compat/{run_id}")  # the saved login, read back
    assert run.config["lr"] == 0.01
    assert [row["loss"] for row in run.history(pandas=False)] == [1.0, 0.5, 1 / 3]


def test_key_from_the_environment_is_used_and_not_saved(
    trackwell_dir: Path, trackwell_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = new_user(trackwell_server)
    monkeypatch.setenv("WANDB_BASE_URL", trackwell_server.url)
    monkeypatch.setenv("WANDB_API_KEY", key)
    assert wandb.login() is True
    assert wandb.login(verify=True) is True
    assert not saved(trackwell_dir).has_section("default")


ENV_KEY_SCRIPT = """
import trackwell as wandb

assert wandb.login() is True
run = wandb.init(project="env-login", config={"batch_size": 32})
print(run.entity, run.id)
run.log({"acc": 0.9})
run.finish()
"""


def test_env_key_login_then_a_run_knows_its_entity_at_init(
    trackwell_dir: Path, trackwell_server: Any
) -> None:
    name, key = new_user(trackwell_server)
    proc = run_script(trackwell_dir, ENV_KEY_SCRIPT, WANDB_API_KEY=key, WANDB_BASE_URL=trackwell_server.url)
    assert proc.returncode == 0, proc.stderr
    entity, run_id = proc.stdout.split()
    assert entity == name
    run = wandb.Api(overrides={"base_url": trackwell_server.url}, api_key=key).run(
        f"{name}/env-login/{run_id}"
    )
    assert run.config["batch_size"] == 32 and run.summary["acc"] == 0.9


HOST_ONLY = """
import sys
import trackwell as wandb

assert wandb.login(host=sys.argv[1]) is True  # the key comes from WANDB_API_KEY
run = wandb.init(project="host-login")
run.log({"step_value": 7})
run.finish()
print(run.entity, run.id)
"""


def test_login_with_host_points_the_runs_of_this_process_there(
    trackwell_dir: Path, trackwell_server: Any
) -> None:
    name, key = new_user(trackwell_server)
    proc = run_script(trackwell_dir, HOST_ONLY, trackwell_server.url, WANDB_API_KEY=key)
    assert proc.returncode == 0, proc.stderr
    entity, run_id = proc.stdout.split()
    assert entity == name
    run = wandb.Api(overrides={"base_url": trackwell_server.url}, api_key=key).run(
        f"{name}/host-login/{run_id}"
    )
    assert run.summary["step_value"] == 7
    assert not saved(trackwell_dir).has_section("default")  # an environment key is not saved


def test_relogin_replaces_the_saved_key_and_a_plain_login_keeps_it(
    trackwell_dir: Path, trackwell_server: Any
) -> None:
    _, first = new_user(trackwell_server)
    second_name, second = new_user(trackwell_server)
    assert wandb.login(key=first, host=trackwell_server.url)
    assert wandb.login(key=second, host=trackwell_server.url, relogin=True)
    assert session._setup is not None and session._setup.settings.base_url == trackwell_server.url
    assert saved(trackwell_dir)["default"]["api_key"] == second
    assert saved(trackwell_dir)["default"]["entity"] == second_name
    assert wandb.login() is True  # the saved key: no prompt, nothing changed
    assert wandb.login(verify=True) is True
    assert saved(trackwell_dir)["default"]["api_key"] == second


def test_a_bad_key_is_an_error_with_verify_and_false_without(
    trackwell_dir: Path, trackwell_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(AuthenticationError, match="rejected this API key"):
        wandb.login(key="not-a-key", host=trackwell_server.url, verify=True)
    assert wandb.login(key="not-a-key", host=trackwell_server.url) is False
    assert "rejected this API key" in capsys.readouterr().err
    assert not saved(trackwell_dir).has_section("default")  # a refused key is never saved


def test_no_terminal_never_prompts(trackwell_dir: Path, trackwell_server: Any) -> None:
    script = "import trackwell as wandb\nwandb.login()\n"
    proc = run_script(trackwell_dir, script, TRACKWELL_BASE_URL=trackwell_server.url)
    assert proc.returncode == 1
    assert "no terminal" in proc.stderr and "TRACKWELL_API_KEY" in proc.stderr
    assert "API key for http" not in proc.stdout + proc.stderr.replace("no API key for", "")  # no prompt


def test_relogin_without_a_terminal_is_an_error_not_a_prompt(
    trackwell_dir: Path, trackwell_server: Any
) -> None:
    _, key = new_user(trackwell_server)
    assert wandb.login(key=key, host=trackwell_server.url)
    with pytest.raises(UsageError, match="no terminal"):
        wandb.login(relogin=True)


NO_SERVER = """
import trackwell as wandb

print(wandb.login())
run = wandb.init(project="no-server", config={"epochs": 2})
for epoch in range(2):
    run.log({"acc": 0.5 + epoch / 10})
run.finish()
print(run.id)
"""


def test_no_server_returns_false_says_so_once_and_the_script_goes_on_offline(trackwell_dir: Path) -> None:
    proc = run_script(trackwell_dir, NO_SERVER, TRACKWELL_SILENT="false")
    assert proc.returncode == 0, proc.stderr
    logged_in, run_id = proc.stdout.split()
    assert logged_in == "False"
    about_server = [line for line in proc.stderr.splitlines() if "no trackwell server" in line]
    assert len(about_server) == 1
    run = wandb.Api().run(f"no-server/{run_id}")
    assert run.config["epochs"] == 2
    assert [row["acc"] for row in run.history(pandas=False)] == [0.5, 0.6]


def test_offline_run_entity_is_set_right_after_init(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_USERNAME", "alice")
    run = wandb.init(project="entity", mode="offline")
    assert run.entity == "alice"
    run.finish()
    run = wandb.init(project="entity", entity="team-a", mode="offline")
    assert run.entity == "team-a"
    run.finish()
    run = wandb.init(project="entity", mode="offline", settings=wandb.Settings(username="bob"))
    assert run.entity == "bob"  # W&B's username setting beats WANDB_USERNAME, as any setting does
    run.finish()
    monkeypatch.delenv("WANDB_USERNAME")
    run = wandb.init(project="entity", mode="offline")
    assert isinstance(run.entity, str) and run.entity
    run.finish()
