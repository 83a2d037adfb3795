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
    code, out = invoke("admin", "add-member", team, bob)
    assert code == 0, out
    monkeypatch.setenv("TRACKWELL_API_KEY", keys[bob])
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
