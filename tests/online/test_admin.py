"""`trackwell admin`: accounts on a real server, made with the saved admin login."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import trackwell
from trackwell.cli import _register_all, cli


def invoke(*args: str) -> tuple[int, str]:
    _register_all()
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_an_admin_makes_a_user_who_can_then_log_and_read_only_their_own(
    trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "u" + uuid.uuid4().hex[:8]
    code, out = invoke("admin", "create-user", name)
    assert code == 0, out
    key = out.splitlines()[1]
    assert key.startswith("tw_") and len(key) >= 40

    monkeypatch.setenv("TRACKWELL_API_KEY", key)
    with trackwell.init(project="mine", entity=name) as run:
        run.log({"x": 1.5})
    api = trackwell.Api()
    assert api.viewer.username == name
    assert api.run(f"{name}/mine/{run.id}").summary["x"] == 1.5
    code, out = invoke("admin", "create-user", "u" + uuid.uuid4().hex[:8])  # not an admin
    assert code == 1 and "not allowed: only an admin may create users" in out


def test_teams_share_projects_between_their_members(trackwell_online_dir: Path, trackwell_server: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    alice, bob, team = ("a" + uuid.uuid4().hex[:8], "b" + uuid.uuid4().hex[:8], "t" + uuid.uuid4().hex[:8])
    keys = {n: invoke("admin", "create-user", n)[1].splitlines()[1] for n in (alice, bob)}
    code, out = invoke("admin", "create-team", team, "--member", alice)
    assert code == 0 and alice in out, out

    monkeypatch.setenv("TRACKWELL_API_KEY", keys[alice])
    with trackwell.init(project="shared", entity=team) as run:
        run.log({"loss": 0.5})
    monkeypatch.setenv("TRACKWELL_API_KEY", keys[bob])
    with pytest.raises(ValueError, match="Could not find run"):  # not a member yet: invisible to bob
        trackwell.Api().run(f"{team}/shared/{run.id}")

    monkeypatch.setenv("TRACKWELL_API_KEY", keys[alice])
    code, out = invoke("admin", "add-member", team, bob)  # alice is no admin: bob is invited
    assert code == 0 and "Invited" in out, out
    monkeypatch.setenv("TRACKWELL_API_KEY", keys[bob])
    with pytest.raises(ValueError, match="Could not find run"):  # until bob accepts
        trackwell.Api().run(f"{team}/shared/{run.id}")
    code, out = invoke("admin", "join", team)
    assert code == 0 and bob in out, out
    assert trackwell.Api().run(f"{team}/shared/{run.id}").summary["loss"] == 0.5


def test_new_key_gives_a_second_working_key(
    trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = invoke("admin", "new-key")
    assert code == 0, out
    monkeypatch.setenv("TRACKWELL_API_KEY", out.strip())
    assert trackwell.Api().viewer.admin is True


def test_admin_without_a_server_says_to_log_in(trackwell_dir: Path) -> None:
    code, out = invoke("admin", "new-key")
    assert code == 1 and "trackwell login --host URL" in out


def test_a_revoked_key_stops_working_and_only_its_owner_or_an_admin_may_revoke_it(
    trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, other = "u" + uuid.uuid4().hex[:8], "o" + uuid.uuid4().hex[:8]
    key = invoke("admin", "create-user", name)[1].splitlines()[1]
    other_key = invoke("admin", "create-user", other)[1].splitlines()[1]
    key_id = key.split("_")[1]

    monkeypatch.setenv("TRACKWELL_API_KEY", other_key)
    code, out = invoke("admin", "revoke-key", key_id)  # not theirs: as if it did not exist
    assert code == 1 and f"no API key {key_id!r} of yours" in out

    monkeypatch.setenv("TRACKWELL_API_KEY", key)
    code, out = invoke("admin", "keys")
    assert code == 0 and key_id in out
    second = invoke("admin", "new-key")[1].strip()
    code, out = invoke("admin", "revoke-key", key_id)
    assert code == 0, out
    code, out = invoke("admin", "keys")  # the revoked key no longer works, at once
    assert code == 1 and "rejected the saved API key" in out
    monkeypatch.setenv("TRACKWELL_API_KEY", second)  # the user's other key still does
    code, out = invoke("admin", "keys")
    assert code == 0 and key_id not in out and second.split("_")[1] in out


def test_logout_forgets_the_saved_server_and_key(trackwell_dir: Path, trackwell_server: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from trackwell.settings import Settings

    monkeypatch.delenv("TRACKWELL_BASE_URL", raising=False)
    monkeypatch.delenv("TRACKWELL_API_KEY", raising=False)
    code, out = invoke("login", "--host", trackwell_server.url, trackwell_server.admin_key)
    assert code == 0, out
    assert Settings.resolve().mode == "online"
    code, out = invoke("logout")
    assert code == 0 and "Logged out" in out
    s = Settings.resolve()
    assert (s.base_url, s.api_key, s.mode) == (None, None, "offline")
    assert invoke("logout")[1].startswith("Not logged in")
