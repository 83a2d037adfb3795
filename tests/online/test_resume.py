"""resume=, fork_from= and resume_from= answered by the real server when the run is not local."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import trackwell
from trackwell.errors import CommError, UsageError

if TYPE_CHECKING:
    from conftest import Account, FaultProxy, LocalServer


def first_run(steps: int, run_id: str = "orig") -> trackwell.Run:
    run = trackwell.init(project="p", id=run_id, config={"lr": 0.1, "layers": 2})
    for i in range(steps):
        run.log({"loss": float(steps - i)})
    run.finish()
    return run


def elsewhere(tmp: Path) -> str:
    """Another directory: the resumed process does not have the first one's run directory."""
    other = tmp / "other-machine"
    other.mkdir(exist_ok=True)
    return str(other)


def upserts(proxy: FaultProxy, account: Account, run_id: str) -> list[dict[str, object]]:
    """The run upserts the server answered (through the proxy), in order."""
    path = f"/runs/{account.name}/p/{run_id}"
    return [e.body for e in proxy.requests("PUT") if e.path == path and e.status in (200, 201)]


@pytest.fixture
def server_away(own_online: tuple[LocalServer, Account]) -> tuple[LocalServer, Account]:
    """A server of this test's own, stopped: its URL refuses connections until ``start()``."""
    own_online[0].stop()
    return own_online


@pytest.mark.parametrize("mode", ["must", "allow", "auto"])
def test_resume_elsewhere_continues_the_servers_steps_config_and_summary(
    online: Account, proxy: FaultProxy, tmp_path: Path, mode: str
) -> None:
    first_run(5)
    run = trackwell.init(project="p", id="orig", resume=mode, dir=elsewhere(tmp_path))
    assert run.resumed
    assert run.step == 5
    assert dict(run.config) == {"lr": 0.1, "layers": 2}
    assert run.summary["loss"] == 1.0
    assert run._run_dir.name.startswith("run-")
    run.log({"loss": 0.5})
    run.finish()
    assert online.steps("orig") == [0, 1, 2, 3, 4, 5]
    assert len(online.run("orig")["streams"]) == 2  # one per run log
    assert upserts(proxy, online, "orig")[1]["resume"] == mode


def test_resume_must_of_a_run_the_server_lacks_is_a_clear_error(online: Account) -> None:
    with pytest.raises(UsageError, match=f"resume='must' but run {online.name}/p/ghost does not exist"):
        trackwell.init(project="p", id="ghost", resume="must")
    assert not online.has_run("ghost")


def test_resume_never_of_a_run_on_the_server_is_a_clear_error(online: Account, tmp_path: Path) -> None:
    first_run(1)
    with pytest.raises(UsageError, match=f"resume='never' but run {online.name}/p/orig already exists"):
        trackwell.init(project="p", id="orig", resume="never", dir=elsewhere(tmp_path))


def test_resume_allow_of_a_new_id_creates_it_at_step_0(online: Account) -> None:
    run = trackwell.init(project="p", id="fresh", resume="allow")
    assert not run.resumed
    assert run.step == 0
    run.log({"a": 1})
    run.finish()
    assert online.steps("fresh") == [0]


@pytest.mark.parametrize("mode", ["must", "never"])
def test_resume_must_or_never_with_the_server_away_is_a_clear_error(
    server_away: tuple[LocalServer, Account], mode: str
) -> None:
    with pytest.raises(CommError, match="needs the trackwell server, which could not be reached"):
        trackwell.init(project="p", id="x", resume=mode)


def test_resume_allow_with_the_server_away_warns_and_starts_here(
    server_away: tuple[LocalServer, Account],
) -> None:
    server, account = server_away
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = trackwell.init(project="p", id="later", resume="allow")
    assert any("could not ask" in str(w.message) for w in caught)
    run.log({"a": 1})
    server.start()  # back, on the same port with the same data
    run.finish()
    assert account.steps("later") == [0]
    assert account.run("later")["state"] == "finished"


def test_a_local_run_directory_resumes_locally_without_asking_the_server(
    online: Account, proxy: FaultProxy
) -> None:
    first = first_run(3, run_id="local")
    puts = len(upserts(proxy, online, "local"))
    run = trackwell.init(project="p", id="local", resume="must")
    assert run._run_dir == first._run_dir
    assert run.step == 3
    run.log({"loss": 0.0})
    run.finish()
    assert online.steps("local") == [0, 1, 2, 3]
    assert all("resume" not in u for u in upserts(proxy, online, "local")[puts:])
    assert len(online.run("local")["streams"]) == 1  # the same log, the same stream


def test_fork_from_starts_a_new_run_with_the_parents_history_up_to_the_step(online: Account) -> None:
    first_run(10)
    fork = trackwell.init(project="p", fork_from="orig?_step=4")
    assert fork.id != "orig"
    assert not fork.resumed
    assert fork.step == 5
    assert dict(fork.config) == {"lr": 0.1, "layers": 2}
    fork.log({"loss": -1.0})
    fork.finish()
    assert online.steps(fork.id) == [0, 1, 2, 3, 4, 5]
    assert [r["loss"] for r in online.history(fork.id)] == [10.0, 9.0, 8.0, 7.0, 6.0, -1.0]
    assert online.run(fork.id)["fork_of"] == {"run_id": "orig", "step": 4}
    assert online.run(fork.id)["config"] == {"lr": 0.1, "layers": 2}
    assert online.steps("orig") == list(range(10))


def test_fork_from_a_missing_run_is_a_clear_error(online: Account) -> None:
    with pytest.raises(UsageError, match="fork_from=ghost"):
        trackwell.init(project="p", fork_from="ghost?_step=1")


def test_resume_from_rewinds_the_run_and_continues_after_the_step(online: Account) -> None:
    first_run(10)
    run = trackwell.init(project="p", resume_from="orig?_step=3")
    assert run.id == "orig"
    assert run.resumed
    assert run.step == 4
    assert run.summary["loss"] == 7.0
    run.log({"loss": 100.0})
    run.finish()
    assert online.steps("orig") == [0, 1, 2, 3, 4]
    assert online.history("orig")[-1]["loss"] == 100.0
    assert online.run("orig")["summary"]["loss"] == 100.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fork_from": "orig"}, "must look like '<run_id>\\?_step=<step>'"),
        ({"fork_from": "orig?_step=-1"}, "step >= 0"),
        ({"resume_from": "orig?_step=x"}, "must look like"),
        ({"resume_from": "orig?_step=1", "id": "other"}, "resume_from names run 'orig' but id='other'"),
    ],
)
def test_bad_fork_and_rewind_specs_are_refused(online: Account, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        trackwell.init(project="p", **kwargs)  # type: ignore[arg-type]


def test_fork_with_the_server_away_is_a_clear_error(server_away: tuple[LocalServer, Account]) -> None:
    with pytest.raises(CommError, match="fork_from=orig\\?_step=1 needs the trackwell server"):
        trackwell.init(project="p", fork_from="orig?_step=1")


def test_non_finite_values_come_back_as_floats_on_resume(online: Account, tmp_path: Path) -> None:
    run = trackwell.init(project="p", id="nan", config={"eps": float("inf")})
    run.log({"loss": float("nan"), "best": float("-inf")})
    run.finish()
    again = trackwell.init(project="p", id="nan", resume="must", dir=elsewhere(tmp_path))
    assert math.isnan(again.summary["loss"])
    assert again.summary["best"] == -math.inf
    assert again.config["eps"] == math.inf
    again.finish()
