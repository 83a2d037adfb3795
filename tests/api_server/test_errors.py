"""What the server-backed Public API says when a path, a key or the server is wrong."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import trackwell
from trackwell.api.remote import ServerApi
from trackwell.errors import AuthenticationError, CommError, NotFoundError, RunNotFoundError

pytestmark = pytest.mark.usefixtures("sweep")


def test_unknown_run_names_the_path(api: ServerApi) -> None:
    with pytest.raises(RunNotFoundError, match="analyst/sweep/nope") as caught:
        api.run("analyst/sweep/nope")
    assert isinstance(caught.value, ValueError)  # W&B raises ValueError("Could not find run ...")
    assert "Could not find run" in str(caught.value)
    with pytest.raises(RunNotFoundError, match="analyst/nowhere/s01"):
        api.run("analyst/nowhere/s01")


def test_unknown_project_lists_nothing_or_says_not_found(api: ServerApi) -> None:
    try:
        assert len(api.runs("analyst/nowhere")) == 0
    except NotFoundError as exc:
        assert "nowhere" in str(exc)


def test_bad_paths_are_usage_errors(api: ServerApi) -> None:
    with pytest.raises(trackwell.UsageError, match="entity"):
        api.run("a/b/c/d/e")
    with pytest.raises(trackwell.UsageError, match="project"):
        api.runs("a/b/c")
    with pytest.raises(trackwell.UsageError, match="filters"):
        api.runs("analyst/sweep", filters="state=finished")  # type: ignore[arg-type]
    with pytest.raises(trackwell.UsageError, match="project"):
        api.run("s01")  # no project given, none configured
    with pytest.raises(trackwell.UsageError, match="per_page"):
        api.runs("analyst/sweep", per_page=0)
    with pytest.raises(trackwell.UsageError, match="page_size"):
        api.run("analyst/sweep/s01").scan_history(page_size=0)


def test_wrong_key_says_to_log_in(server: Any, env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", "tw_nobody_" + "x" * 40)
    with pytest.raises(AuthenticationError, match="trackwell login") as caught:
        trackwell.Api().run("analyst/sweep/s01")
    assert isinstance(caught.value, CommError) and caught.value.status == 401


def test_no_key_says_to_log_in(server: Any, env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    with pytest.raises(AuthenticationError, match=r"no API key.*trackwell login"):
        list(trackwell.Api().runs("analyst/sweep"))


def test_other_entities_private_runs_are_not_found(
    server: Any, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", server.user("outsider"))
    outsider = trackwell.Api()
    assert outsider.default_entity == "outsider"
    with pytest.raises(RunNotFoundError, match="analyst/sweep/s01"):
        outsider.run("analyst/sweep/s01")
    try:
        assert list(outsider.runs("analyst/sweep")) == []
    except NotFoundError:
        pass  # 404 rather than an empty list: either way nothing of analyst's leaks
    assert "sweep" not in {p.name for p in outsider.projects(entity="analyst")}


def test_team_runs_are_read_by_members_only(
    server: Any, team_run: str, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKWELL_BASE_URL", server.url)
    monkeypatch.setenv("TRACKWELL_API_KEY", server.user("analyst"))
    member = trackwell.Api()
    assert member.run(team_run).entity == "apiteam" and "apiteam" in member.viewer.teams
    assert [r.id for r in member.runs("apiteam/shared")] == ["t1"]
    monkeypatch.setenv("TRACKWELL_API_KEY", server.user("outsider"))
    with pytest.raises(RunNotFoundError, match=team_run):
        trackwell.Api().run(team_run)


def test_server_unreachable_names_the_url(env: Any) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    api = trackwell.Api(overrides={"base_url": url}, api_key="k" * 40, timeout=2)
    with pytest.raises(CommError, match=f"127.0.0.1:{port}") as caught:
        api.run("analyst/sweep/s01")
    assert caught.value.status is None and caught.value.exc is not None


def test_bad_url_is_explained(env: Any) -> None:
    with pytest.raises(CommError, match="http"):
        trackwell.Api(overrides={"base_url": "localhost:8080"})
