"""`trackwell login` and `trackwell sync` against the real server."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

import trackwell
from trackwell._pipeline.marker import read_marker
from trackwell.cli import _register_all, cli
from trackwell.settings import Settings, read_settings_file, user_config_dir

if TYPE_CHECKING:
    from conftest import Account, FaultProxy, LocalServer


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    _register_all()
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.output


def login_saved(url: str, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Log in to ``url`` as if by `trackwell login`: the settings file, not the environment."""
    monkeypatch.delenv("TRACKWELL_BASE_URL")
    monkeypatch.delenv("TRACKWELL_API_KEY")
    code, out = invoke("login", "--host", url, key)
    assert code == 0, out


@pytest.fixture
def server_env(online: Account, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> Account:
    """The real server, through a watching ``proxy``, saved as if by `trackwell login`."""
    login_saved(proxy.url, online.key, monkeypatch)
    return online


@pytest.fixture
def own_server_env(
    own_online: tuple[LocalServer, Account], monkeypatch: pytest.MonkeyPatch
) -> tuple[LocalServer, Account]:
    """A real server of this test's own (to stop and start) saved as if by `trackwell login`."""
    login_saved(own_online[0].url, own_online[1].key, monkeypatch)
    return own_online


def offline_run(steps: int, run_id: str | None = None) -> trackwell.Run:
    run = trackwell.init(project="p", mode="offline", id=run_id, config={"lr": 1})
    for i in range(steps):
        run.log({"i": i})
    run.finish()
    return run


# -- login ---------------------------------------------------------------------------------


def test_login_verifies_the_key_and_saves_url_key_and_entity_privately(user: Account) -> None:
    code, out = invoke("login", "--host", user.url + "/", user.key)
    assert code == 0, out
    assert f"as {user.name}" in out
    path = user_config_dir() / "settings"
    assert read_settings_file(path) == {
        "base_url": user.url,
        "api_key": user.key,
        "entity": user.name,
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s = Settings.resolve()
    assert (s.mode, s.base_url, s.entity) == ("online", user.url, user.name)


def test_login_prompts_for_the_key_when_none_is_given(user: Account) -> None:
    code, out = invoke("login", "--host", user.url, input=user.key + "\n")
    assert code == 0, out
    assert "API key" in out
    assert user.key not in out  # typed hidden
    assert read_settings_file(user_config_dir() / "settings")["api_key"] == user.key


def test_login_with_a_wrong_key_saves_nothing(user: Account) -> None:
    code, out = invoke("login", "--host", user.url, "tw_wrong")
    assert code == 1
    assert "rejected this API key" in out
    assert not (user_config_dir() / "settings").exists()


def test_login_to_nothing_listening_says_so(trackwell_dir: Path) -> None:
    code, out = invoke("login", "--host", "http://127.0.0.1:9", "k")
    assert code == 1
    assert "cannot reach the trackwell server at http://127.0.0.1:9" in out


def test_login_needs_a_host_the_first_time(trackwell_dir: Path) -> None:
    code, out = invoke("login", "k")
    assert code == 1
    assert "--host" in out


def test_the_environment_overrides_the_saved_login(
    server_env: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("WANDB_API_KEY", "from-wandb")
    s = Settings.resolve()
    assert (s.base_url, s.api_key) == ("http://127.0.0.1:1", "from-wandb")


# -- sync ------------------------------------------------------------------------------------


def test_sync_uploads_an_offline_run_exactly_once(server_env: Account, proxy: FaultProxy) -> None:
    run = offline_run(300)
    code, out = invoke("sync", str(run._run_dir))
    assert code == 0, out
    assert "new record(s)" in out
    info = server_env.run(run.id)
    assert server_env.steps(run.id) == list(range(300))
    assert info["state"] == "finished"
    assert info["config"] == {"lr": 1}
    assert "summary.json" in server_env.files(run.id)
    held = server_env.records_held(run.id)
    uploads = len(proxy.log)
    code, out = invoke("sync", str(run._run_dir))
    assert code == 0
    assert "Nothing to sync" in out
    assert len(proxy.log) == uploads  # the marker answered: not even a request
    code, out = invoke("sync", "--include-synced", str(run._run_dir))
    assert code == 0
    assert "no new records" in out
    assert server_env.steps(run.id) == list(range(300))
    assert server_env.records_held(run.id) == held


def test_sync_without_dirs_takes_unfinished_online_runs_and_offline_ones_only_when_asked(
    server_env: Account,
) -> None:
    off = offline_run(5)
    code, out = invoke("sync")
    assert code == 0
    assert "Nothing to sync" in out
    assert "1 offline run(s)" in out and "trackwell sync --include-offline" in out
    code, out = invoke("sync", "--dry-run", "--include-offline")
    assert code == 0
    assert str(off._run_dir) in out
    assert not server_env.has_run(off.id)
    code, out = invoke("sync", "--sync-all")
    assert code == 0, out
    assert server_env.steps(off.id) == list(range(5))


def test_sync_finishes_an_online_run_whose_upload_was_cut_short(
    own_server_env: tuple[LocalServer, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, account = own_server_env
    server.stop()
    monkeypatch.setenv("TRACKWELL_UPLOAD_TIMEOUT", "0.2")
    run = trackwell.init(project="p")
    for i in range(50):
        run.log({"i": i})
    run.finish()
    assert read_marker(run._run_dir).get("complete") is not True
    server.start()  # the same port, the same data
    code, out = invoke("sync")
    assert code == 0, out
    assert account.steps(run.id) == list(range(50))
    assert account.run(run.id)["state"] == "finished"
    assert json.loads((run._run_dir / "sync.json").read_text())["complete"] is True


def test_sync_into_another_entity_and_project(server_env: Account, trackwell_server: Any) -> None:
    team = f"{server_env.name}-team"
    trackwell_server.create_team(team, [server_env.name])
    run = offline_run(3)
    code, out = invoke("sync", "--project", "elsewhere", "--entity", team, str(run._run_dir))
    assert code == 0, out
    assert server_env.steps(run.id, project="elsewhere", entity=team) == [0, 1, 2]
    assert not server_env.has_run(run.id)


def test_sync_of_a_grown_log_sends_only_the_new_records(server_env: Account) -> None:
    run = offline_run(10, run_id="grows")
    assert invoke("sync", str(run._run_dir))[0] == 0
    again = trackwell.init(project="p", mode="offline", id="grows", resume="must")
    again.log({"i": 10})
    again.finish()
    code, out = invoke("sync", str(run._run_dir))
    assert code == 0, out
    assert server_env.steps("grows") == list(range(11))


def test_sync_clean_deletes_only_fully_uploaded_runs(server_env: Account) -> None:
    done = offline_run(2)
    left = offline_run(2)
    assert invoke("sync", str(done._run_dir))[0] == 0
    code, out = invoke("sync", "--clean", input="n\n")
    assert "Nothing deleted" in out
    assert done._run_dir.exists()
    code, out = invoke("sync", "--clean", "-y")
    assert code == 0
    assert not done._run_dir.exists()
    assert left._run_dir.exists()


def test_sync_reports_a_server_that_stays_away(
    own_server_env: tuple[LocalServer, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trackwell._pipeline import sync

    server, account = own_server_env
    monkeypatch.setattr(sync, "MAX_FAILURES", 2)
    run = offline_run(2)
    server.stop()
    code, out = invoke("sync", str(run._run_dir))
    assert code == 1
    assert "not fully uploaded" in out
    server.start()
    assert not account.has_run(run.id)


def test_sync_without_a_server_says_how_to_configure_one(trackwell_dir: Path) -> None:
    code, out = invoke("sync")
    assert code == 1
    assert "trackwell login --host URL" in out


def test_sync_to_another_project_uploads_the_files_again(server_env: Account) -> None:
    run = offline_run(1)
    assert invoke("sync", str(run._run_dir))[0] == 0
    code, out = invoke("sync", "--include-synced", "--project", "copy", str(run._run_dir))
    assert code == 0, out
    assert {"config.yaml", "summary.json"} <= server_env.files(run.id, project="copy")
    assert server_env.steps(run.id, project="copy") == [0]
    code, out = invoke("sync", "--include-synced", "--project", "copy", str(run._run_dir))
    assert "0 file(s)" in out  # the same target again: nothing to send


def test_trackwell_online_says_when_no_server_is_configured(trackwell_dir: Path) -> None:
    code, out = invoke("online")
    assert code == 0
    assert "no server is configured yet; run `trackwell login --host URL`" in out


def test_trackwell_enabled_goes_back_to_online_when_a_server_is_configured(server_env: Account) -> None:
    assert invoke("disabled")[0] == 0
    assert Settings.resolve().mode == "disabled"
    code, out = invoke("enabled")
    assert code == 0
    assert "now online" in out
    assert Settings.resolve().mode == "online"
