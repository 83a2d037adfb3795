"""A run's life: init and finish, module-level shortcuts, reinit, modes, settings, run directories, save, alerts, resume and the terminal summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell._pipeline.runlog import Record, read_log
from trackwell.alerts import Alert, AlertLevel
from trackwell.errors import ConfigError, RunDirError, RunFinishedError, UsageError
from trackwell.plugins import get_plugin_manager, hookimpl
from trackwell.run import Run

SPARK_CHARS = set("▁▂▃▄▅▆▇█")


def log_records(run_dir: str | os.PathLike[str]) -> list[Record]:
    (log,) = Path(run_dir).glob("run-*.twlog")
    result = read_log(log)
    assert result.torn_bytes == 0
    return result.records


def kinds(run_dir: str | os.PathLike[str], kind: str) -> list[Any]:
    return [r.body for r in log_records(run_dir) if r.kind == kind]


def steps(run_dir: str | os.PathLike[str]) -> list[int]:
    return [body["_step"] for body in kinds(run_dir, "history")]


@pytest.fixture
def clean(trackwell_dir: Path) -> Iterator[Path]:
    """An isolated working dir; any run a test leaves live is finished afterwards."""
    yield trackwell_dir
    while trackwell.run is not None:
        trackwell.finish()


# -- init and finish --------------------------------------------------------------------


def test_init_returns_a_live_run_with_its_identity(clean: Path) -> None:
    run = trackwell.init(
        project="proj", entity="team", name="first", group="g", job_type="train",
        tags=["a", "b"], notes="hello",
    )  # fmt: skip
    assert isinstance(run, trackwell.Run)
    assert run.state == "running"
    assert (run.project, run.entity, run.name, run.group, run.job_type) == (
        "proj",
        "team",
        "first",
        "g",
        "train",
    )
    assert run.tags == ("a", "b")
    assert run.notes == "hello"
    assert re.fullmatch(r"[a-z0-9]{8}", run.id)
    assert run.path == f"team/proj/{run.id}"
    assert run.offline

    run.finish()
    (info, *_) = kinds(run._run_dir, "run")
    assert info["id"] == run.id
    assert info["name"] == "first"
    assert info["project"] == "proj"
    assert info["tags"] == ["a", "b"]
    assert info["notes"] == "hello"
    assert info["group"] == "g"
    assert info["job_type"] == "train"
    assert info["pid"] == os.getpid()


def test_generated_names_and_default_project(clean: Path) -> None:
    first = trackwell.init()
    first.finish()
    second = trackwell.init(id="given1")
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", first.name)
    assert second.name.endswith("-2")
    assert first.project == "uncategorized"
    assert second.id == "given1"


def test_finish_writes_the_exit_record_and_side_files(clean: Path) -> None:
    run = trackwell.init()
    run.log({"a": 1})
    run.finish()

    assert run.state == "finished"
    records = log_records(run._run_dir)
    assert records[0].kind == "run"
    assert records[-1].kind == "exit"
    assert records[-1].body["state"] == "finished"
    assert records[-1].body["exit_code"] == 0
    assert records[-1].body["runtime"] >= 0
    assert [r.seq for r in records] == list(range(len(records)))
    files = Path(run._run_dir) / "files"
    assert {"config.yaml", "summary.json"} <= {p.name for p in files.iterdir()}


def test_a_short_run_still_records_its_metadata(clean: Path) -> None:
    # The log is the source of truth: readers take run.metadata from its META record,
    # so finish() must not close the log before the metadata is in.
    run = trackwell.init(project="meta")
    run.log({"a": 1})
    run.finish()

    on_disk = json.loads((Path(run._run_dir) / "files" / "metadata.json").read_text())
    assert on_disk["python"] == ".".join(map(str, sys.version_info[:3]))
    (meta,) = kinds(run._run_dir, "meta")
    assert meta["python"] == ".".join(map(str, sys.version_info[:3]))
    assert meta["pid"] == os.getpid()
    assert trackwell.Api(root=clean).run(f"meta/{run.id}").metadata["python"] == meta["python"]


def test_finish_is_idempotent(clean: Path) -> None:
    run = trackwell.init()
    run.log({"a": 1})
    run.finish()
    run.finish()
    run.finish(exit_code=3)
    trackwell.finish()  # no current run: nothing to do

    assert run.state == "finished"
    assert len(kinds(run._run_dir, "exit")) == 1
    assert len(kinds(run._run_dir, "final_summary")) == 1


def test_finish_with_exit_code_marks_the_run_failed(clean: Path) -> None:
    run = trackwell.init()
    trackwell.finish(exit_code=3)
    assert run.state == "failed"
    (exit_body,) = kinds(run._run_dir, "exit")
    assert (exit_body["state"], exit_body["exit_code"]) == ("failed", 3)


def test_context_manager_finishes_the_run(clean: Path) -> None:
    with trackwell.init() as run:
        run.log({"a": 1})
        assert trackwell.run is run
    assert run.state == "finished"
    assert trackwell.run is None
    (exit_body,) = kinds(run._run_dir, "exit")
    assert (exit_body["state"], exit_body["exit_code"]) == ("finished", 0)


def test_context_manager_marks_a_failed_run_and_reraises(clean: Path) -> None:
    with pytest.raises(ValueError, match="boom"), trackwell.init() as run:
        run.log({"a": 1})
        raise ValueError("boom")

    assert run.state == "failed"
    (exit_body,) = kinds(run._run_dir, "exit")
    assert (exit_body["state"], exit_body["exit_code"]) == ("failed", 1)
    assert steps(run._run_dir) == [0]  # what was logged before the error is kept
    assert trackwell.run is None


def test_context_manager_marks_an_interrupted_run_killed(clean: Path) -> None:
    with pytest.raises(KeyboardInterrupt), trackwell.init() as run:
        raise KeyboardInterrupt

    assert run.state == "killed"
    (exit_body,) = kinds(run._run_dir, "exit")
    assert exit_body["state"] == "killed"
    assert exit_body["exit_code"] != 0


# -- module-level shortcuts ------------------------------------------------------------


def test_module_level_names_follow_the_current_run(clean: Path) -> None:
    assert trackwell.run is None
    run = trackwell.init()

    assert trackwell.run is run
    assert trackwell.config is run.config
    assert trackwell.summary is run.summary
    trackwell.config.lr = 0.1
    trackwell.define_metric("loss", summary="min")
    trackwell.log({"loss": 0.5})
    trackwell.log({"loss": 0.7})
    trackwell.summary["extra"] = 1
    trackwell.alert("t", "x")
    assert run.config.lr == 0.1
    assert run.summary["loss"] == {"min": 0.5}
    assert run.summary["extra"] == 1
    trackwell.finish()

    assert run.state == "finished"
    assert len(kinds(run._run_dir, "alert")) == 1


def test_module_level_names_reset_after_finish(clean: Path) -> None:
    run = trackwell.init()
    run.finish()

    assert trackwell.run is None
    for call in (
        lambda: trackwell.log({"a": 1}),
        lambda: trackwell.define_metric("a"),
        lambda: trackwell.alert("t", "x"),
        lambda: trackwell.save("*.txt"),
        lambda: trackwell.config["a"],
        lambda: trackwell.config.update({"a": 1}),
        lambda: trackwell.summary["a"],
    ):
        with pytest.raises(UsageError, match="init"):
            call()
    with pytest.raises(RunFinishedError):
        run.log({"a": 1})


# -- reinit ---------------------------------------------------------------------------------


def test_init_while_a_run_is_active_returns_it_with_a_warning(clean: Path) -> None:
    first = trackwell.init()
    with pytest.warns(UserWarning, match=first.id):
        second = trackwell.init(project="other")
    assert second is first
    assert first.state == "running"
    assert len(list((clean / "trackwell").glob("offline-run-*"))) == 1


def test_reinit_false_returns_the_active_run_quietly(clean: Path, recwarn: pytest.WarningsRecorder) -> None:
    first = trackwell.init()
    assert trackwell.init(reinit=False) is first
    assert trackwell.init(reinit="return_previous") is first
    assert [w for w in recwarn.list if "active" in str(w.message)] == []


@pytest.mark.parametrize("reinit", ["finish_previous", True])
def test_reinit_finish_previous(clean: Path, reinit: Any) -> None:
    first = trackwell.init()
    first.log({"a": 1})
    second = trackwell.init(reinit=reinit)

    assert second is not first
    assert first.state == "finished"
    assert kinds(first._run_dir, "exit")[0]["state"] == "finished"
    assert trackwell.run is second
    assert second._run_dir != first._run_dir


def test_reinit_create_new_gives_two_live_runs(clean: Path) -> None:
    first = trackwell.init()
    second = trackwell.init(reinit="create_new")

    assert second is not first
    assert first.id != second.id
    assert first.state == second.state == "running"
    first.log({"who": 1})
    second.log({"who": 2})
    second.log({"who": 2})
    assert trackwell.run is first  # create_new leaves the global run alone

    first.finish()
    assert second.state == "running"
    second.finish()
    assert trackwell.run is None
    assert [r["who"] for r in kinds(first._run_dir, "history")] == [1]
    assert [r["who"] for r in kinds(second._run_dir, "history")] == [2, 2]


def test_bad_reinit_value(clean: Path) -> None:
    with pytest.raises(UsageError, match="reinit"):
        trackwell.init(reinit="sometimes")
    assert trackwell.run is None


# -- modes ----------------------------------------------------------------------------------


def test_disabled_mode_is_a_no_op_and_writes_nothing(clean: Path) -> None:
    before = set(clean.iterdir())
    threads_before = {t.name for t in threading.enumerate()}
    stdout_before = sys.stdout

    run = trackwell.init(mode="disabled", project="p", config={"lr": 0.1})
    assert run.disabled
    assert sys.stdout is stdout_before  # no console capture
    run.log({"a": 1})
    run.log({"a": 2}, step=10, commit=False)
    trackwell.log({"b": 1})
    run.config.update({"bs": 2})
    run.define_metric("a", summary="min")
    run.summary["x"] = 1
    run.alert("title", "text")
    assert run.save("*.py") is True
    assert run.flush() is True
    run.finish()
    run.finish()

    assert run.config.lr == 0.1
    assert set(clean.iterdir()) == before
    assert not (clean / "trackwell").exists()
    assert {t.name for t in threading.enumerate()} <= threads_before
    assert trackwell.run is None


def test_disabled_mode_from_the_environment(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with trackwell.init() as run:
        run.log({"a": 1})
    assert run.disabled
    assert not (clean / "trackwell").exists()


def test_bad_mode(clean: Path) -> None:
    with pytest.raises(UsageError, match="mode"):
        trackwell.init(mode="sideways")


def test_dryrun_mode_is_offline(clean: Path) -> None:
    run = trackwell.init(mode="dryrun")
    assert run.settings.mode == "offline"
    assert Path(run._run_dir).name.startswith("offline-run-")


def test_online_mode_falls_back_to_offline_with_one_warning(tmp_path: Path) -> None:
    # The warning is once per process, so a fresh interpreter is the honest test.
    script = textwrap.dedent(
        """
        import warnings, trackwell
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs = []
            for _ in range(3):
                run = trackwell.init(mode="online", project="p")
                run.log({"a": 1})
                run.finish()
                runs.append(run)
        online = [w for w in caught if "online" in str(w.message)]
        print(len(online))
        print(online[0].filename)
        print(all(r.settings.mode == "offline" for r in runs))
        print(all(r._run_dir.name.startswith("offline-run-") and r._run_dir.is_dir() for r in runs))
        """
    )
    (tmp_path / "script.py").write_text(script)
    proc = run_child(tmp_path, "script.py")
    count, filename, offline, dirs = proc.stdout.split()
    assert count == "1"
    assert filename.endswith("script.py")  # blamed on the user's init() call
    assert offline == "True"
    assert dirs == "True"


def run_child(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))
    } | {"TRACKWELL_SILENT": "true", "TRACKWELL_X_DISABLE_STATS": "true",
         "TRACKWELL_CONFIG_DIR": str(cwd / ".config")} | (env or {})  # fmt: skip
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


# -- settings precedence -------------------------------------------------------------------------

LAYERS = ("default", "user-file", "workspace-file", "wandb-env", "trackwell-env", "argument")


@pytest.mark.parametrize("top", range(len(LAYERS)), ids=LAYERS)
def test_settings_precedence(clean: Path, monkeypatch: pytest.MonkeyPatch, top: int) -> None:
    """Each layer, with every lower layer also set, decides the project."""
    layers = LAYERS[1 : top + 1]
    if "user-file" in layers:
        write_settings(Path(os.environ["TRACKWELL_CONFIG_DIR"]) / "settings", project="user-file")
    if "workspace-file" in layers:
        write_settings(clean / "trackwell" / "settings", project="workspace-file")
    if "wandb-env" in layers:
        monkeypatch.setenv("WANDB_PROJECT", "wandb-env")
    if "trackwell-env" in layers:
        monkeypatch.setenv("TRACKWELL_PROJECT", "trackwell-env")
    kwargs = {"project": "argument"} if "argument" in layers else {}

    run = trackwell.init(**kwargs)
    assert run.project == ("uncategorized" if top == 0 else LAYERS[top])


def write_settings(path: Path, **values: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k} = {v}\n" for k, v in values.items())
    path.write_text(f"[default]\n{body}", encoding="utf-8")


def test_settings_argument_beats_environment(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_PROJECT", "env")
    assert trackwell.init(settings={"project": "settings-dict"}).project == "settings-dict"
    trackwell.finish()
    assert trackwell.init(settings=trackwell.Settings(project="settings-obj")).project == "settings-obj"
    trackwell.finish()
    # an init() argument beats settings=
    assert trackwell.init(project="arg", settings={"project": "settings-dict"}).project == "arg"


def test_list_settings_from_the_environment(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_TAGS", "from,wandb")
    assert trackwell.init().tags == ("from", "wandb")
    trackwell.finish()
    monkeypatch.setenv("TRACKWELL_TAGS", "a, b ,c")
    run = trackwell.init()
    assert run.tags == ("a", "b", "c")
    run.finish()
    assert kinds(run._run_dir, "run")[0]["tags"] == ["a", "b", "c"]


def test_trackwell_env_beats_wandb_env_for_mode(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("TRACKWELL_MODE", "offline")
    run = trackwell.init()
    assert not run.disabled
    assert Path(run._run_dir).is_dir()


def test_workspace_file_beats_user_file_for_mode(clean: Path) -> None:
    write_settings(Path(os.environ["TRACKWELL_CONFIG_DIR"]) / "settings", mode="offline")
    write_settings(clean / "trackwell" / "settings", mode="disabled")
    assert trackwell.init().disabled
    trackwell.finish()
    assert not trackwell.init(mode="offline").disabled  # and an argument beats both


def test_wandb_dir_and_trackwell_dir_pick_the_root(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb_root = clean / "wandb-root"
    tw_root = clean / "tw-root"
    monkeypatch.setenv("WANDB_DIR", str(wandb_root))
    run = trackwell.init()
    assert Path(run._run_dir).parent == wandb_root / "trackwell"
    run.finish()

    monkeypatch.setenv("TRACKWELL_DIR", str(tw_root))
    write_settings(tw_root / "trackwell" / "settings", project="from-root-workspace")
    run = trackwell.init()
    assert Path(run._run_dir).parent == tw_root / "trackwell"
    assert run.project == "from-root-workspace"  # the workspace file lives under the root
    run.finish()

    run = trackwell.init(dir=clean / "arg-root")
    assert Path(run._run_dir).parent == clean / "arg-root" / "trackwell"


def test_bad_setting_values_fail_at_init(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_FLUSH_INTERVAL", "soon")
    with pytest.raises(UsageError, match="flush_interval"):
        trackwell.init()
    monkeypatch.delenv("TRACKWELL_FLUSH_INTERVAL")
    with pytest.raises(UsageError, match="unknown setting"):
        trackwell.init(settings={"no_such_setting": 1})
    assert trackwell.run is None


# -- run directories -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["has space", "../escape", "a/b", "x" * 65, "dot.dot", "ünïcode"])
def test_invalid_run_id_fails_at_init(clean: Path, bad_id: str) -> None:
    with pytest.raises(RunDirError, match="invalid run id"):
        trackwell.init(id=bad_id)
    assert trackwell.run is None
    assert not list(clean.glob("**/*.twlog"))


def test_dir_under_a_regular_file_fails_at_init(clean: Path) -> None:
    blocker = clean / "not-a-dir"
    blocker.write_text("I am a file")
    for target in (blocker, blocker / "sub"):
        with pytest.raises(RunDirError, match="cannot write the run directory"):
            trackwell.init(dir=target)
        assert trackwell.run is None
    assert blocker.read_text() == "I am a file"


def test_dir_under_a_regular_file_from_the_environment(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = clean / "file"
    blocker.write_text("x")
    monkeypatch.setenv("TRACKWELL_DIR", str(blocker / "deeper"))
    with pytest.raises(RunDirError):
        trackwell.init()


def test_not_enough_free_disk_fails_at_init(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_MIN_FREE_DISK_MB", str(10**15))
    with pytest.raises(RunDirError, match="MB free"):
        trackwell.init()
    assert trackwell.run is None
    monkeypatch.setenv("TRACKWELL_MIN_FREE_DISK_MB", "1")
    trackwell.init().finish()


def test_run_dir_is_named_for_offline_sync(clean: Path) -> None:
    before = time.time()
    run = trackwell.init(id="abc123")
    after = time.time()

    path = Path(run._run_dir)
    assert path.parent == clean / "trackwell"
    m = re.fullmatch(r"offline-run-(\d{8}_\d{6})-abc123", path.name)
    assert m, path.name
    stamp = time.mktime(time.strptime(m.group(1), "%Y%m%d_%H%M%S"))
    assert int(before) - 1 <= stamp <= after + 1
    assert (path / "run-abc123.twlog").is_file()
    assert (path / "files").is_dir()


def test_latest_run_points_to_the_newest_run(clean: Path) -> None:
    latest = clean / "trackwell" / "latest-run"
    first = trackwell.init()
    assert latest.is_symlink()
    assert latest.resolve() == Path(first._run_dir).resolve()
    first.finish()

    second = trackwell.init()
    assert latest.resolve() == Path(second._run_dir).resolve()
    assert not os.path.isabs(os.readlink(latest))  # relative: the folder can be moved
    second.finish()
    assert latest.resolve() == Path(second._run_dir).resolve()


# -- run.save -----------------------------------------------------------------------------------------


def saved(run: Run) -> Path:
    return Path(run._run_dir) / "files"


def test_save_now_copies_once(offline_run: Run, trackwell_dir: Path) -> None:
    src = trackwell_dir / "model.ckpt"
    src.write_text("v1")
    assert offline_run.save("model.ckpt", policy="now") is True
    assert offline_run.flush()
    assert (saved(offline_run) / "model.ckpt").read_text() == "v1"

    src.write_text("v2")
    bump_mtime(src)
    offline_run.finish()
    assert (saved(offline_run) / "model.ckpt").read_text() == "v1"
    assert {"paths": ["model.ckpt"], "policy": "now"} in kinds(offline_run._run_dir, "files")


def bump_mtime(path: Path) -> None:
    """Make a change visible even on file systems with coarse timestamps."""
    st = path.stat()
    os.utime(path, (st.st_atime + 10, st.st_mtime + 10))


def test_save_live_recopies_a_changed_file_on_flush(offline_run: Run, trackwell_dir: Path) -> None:
    src = trackwell_dir / "notes.txt"
    src.write_text("first")
    offline_run.save("notes.txt", policy="live")
    assert offline_run.flush()
    dest = saved(offline_run) / "notes.txt"
    assert dest.read_text() == "first"

    src.write_text("second")
    bump_mtime(src)
    assert offline_run.flush()
    assert dest.read_text() == "second"

    src.write_text("third")
    bump_mtime(src)
    offline_run.finish()
    assert dest.read_text() == "third"


def test_save_end_copies_at_finish(offline_run: Run, trackwell_dir: Path) -> None:
    src = trackwell_dir / "final.txt"
    src.write_text("draft")
    offline_run.save("final.txt", policy="end")
    assert offline_run.flush()
    assert not (saved(offline_run) / "final.txt").exists()

    src.write_text("final")
    offline_run.finish()
    assert (saved(offline_run) / "final.txt").read_text() == "final"
    assert {"paths": ["final.txt"], "policy": "end"} in kinds(offline_run._run_dir, "files")


def test_save_glob_keeps_relative_layout(offline_run: Run, trackwell_dir: Path) -> None:
    (trackwell_dir / "ckpt" / "sub").mkdir(parents=True)
    for name in ("ckpt/a.pt", "ckpt/b.pt", "ckpt/sub/c.pt", "ckpt/skip.txt"):
        (trackwell_dir / name).write_text(name)
    offline_run.save("ckpt/**/*.pt", policy="now")
    offline_run.finish()

    got = sorted(p.relative_to(saved(offline_run)).as_posix() for p in saved(offline_run).rglob("*.pt"))
    assert got == ["ckpt/a.pt", "ckpt/b.pt", "ckpt/sub/c.pt"]
    assert (saved(offline_run) / "ckpt/sub/c.pt").read_text() == "ckpt/sub/c.pt"


def test_save_base_path_strips_the_prefix(offline_run: Run, trackwell_dir: Path) -> None:
    (trackwell_dir / "out" / "weights").mkdir(parents=True)
    (trackwell_dir / "out" / "weights" / "w.bin").write_text("w")
    offline_run.save("out/weights/*.bin", base_path="out", policy="now")
    offline_run.finish()
    assert (saved(offline_run) / "weights" / "w.bin").read_text() == "w"


def test_save_cannot_escape_the_run_dir(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = clean / "work"
    work.mkdir()
    (clean / "secret.txt").write_text("outside")
    monkeypatch.chdir(work)
    run = trackwell.init()
    run_dir = Path(run._run_dir)
    before = {p for p in clean.rglob("*") if not p.is_relative_to(run_dir)}

    run.save("../secret.txt", policy="now")
    run.save(str(clean / "secret.txt"), policy="now")  # absolute paths too
    run.save("../*.txt", base_path="/nonexistent/base", policy="now")
    run.finish()

    after = {p for p in clean.rglob("*") if not p.is_relative_to(run_dir)}
    assert after == before  # nothing written outside the run directory
    inside = [p for p in run_dir.rglob("secret.txt")]
    assert inside and all(p.is_relative_to(run_dir / "files") for p in inside)


def test_save_bad_policy_or_pattern(offline_run: Run) -> None:
    with pytest.raises(UsageError, match="policy"):
        offline_run.save("x", policy="sometimes")
    with pytest.raises(UsageError):
        offline_run.save("")


def test_save_after_finish_raises(offline_run: Run) -> None:
    offline_run.finish()
    with pytest.raises(RunFinishedError):
        offline_run.save("*.txt")


# -- alerts -----------------------------------------------------------------------------------------


class SinkPlugin:
    """A third-party alert sink, as a plugin would register one."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Alert]] = []

    @hookimpl
    def register_alert_sinks(self, register: Any) -> None:
        register("test-sink", self.deliver)

    def deliver(self, run: Run, alert: Alert) -> None:
        self.delivered.append((run.id, alert))


@pytest.fixture
def sink(clean: Path) -> Iterator[SinkPlugin]:
    plugin = SinkPlugin()
    pm = get_plugin_manager()
    pm.register(plugin, name="test-alert-sink")
    yield plugin
    while trackwell.run is not None:  # runs hold the manager: finish them first
        trackwell.finish()
    pm.unregister(plugin)


def test_alert_is_recorded_and_delivered(sink: SinkPlugin) -> None:
    run = trackwell.init()
    run.alert("Loss diverged", "loss is NaN at step 10", level=AlertLevel.ERROR)
    assert run.flush()

    assert len(sink.delivered) == 1
    run_id, alert = sink.delivered[0]
    assert run_id == run.id
    assert (alert.title, alert.text, alert.level) == (
        "Loss diverged",
        "loss is NaN at step 10",
        AlertLevel.ERROR,
    )

    run.finish()
    (body,) = kinds(run._run_dir, "alert")
    assert body["title"] == "Loss diverged"
    assert body["text"] == "loss is NaN at step 10"
    assert body["level"] == "ERROR"
    assert body["_timestamp"] >= run.start_time


def test_alert_levels_accept_strings(sink: SinkPlugin) -> None:
    run = trackwell.init()
    run.alert("a", "x", level="warn", wait_duration=0)
    run.alert("b", "x", wait_duration=0)
    run.finish()
    assert [a.level for _, a in sink.delivered] == [AlertLevel.WARN, AlertLevel.INFO]
    assert [b["level"] for b in kinds(run._run_dir, "alert")] == ["WARN", "INFO"]


def test_alerts_with_the_same_title_are_throttled(sink: SinkPlugin) -> None:
    run = trackwell.init()
    run.alert("slow", "1")  # default wait_duration: 60 s
    run.alert("slow", "2")
    run.alert("other", "3")
    run.alert("slow", "4", wait_duration=timedelta(minutes=5))
    run.alert("fast", "5", wait_duration=0)
    run.alert("fast", "6", wait_duration=0)
    run.finish()

    assert [a.text for _, a in sink.delivered] == ["1", "3", "5", "6"]
    assert [b["text"] for b in kinds(run._run_dir, "alert")] == ["1", "3", "5", "6"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"level": "CRITICAL"},
        {"level": 3},
        {"wait_duration": -1},
        {"wait_duration": "soon"},
    ],
)
def test_bad_alert_arguments_raise(offline_run: Run, kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        offline_run.alert("t", "x", **kwargs)
    offline_run.finish()
    assert kinds(offline_run._run_dir, "alert") == []


def test_alert_needs_title_and_text(offline_run: Run) -> None:
    with pytest.raises(UsageError):
        offline_run.alert("", "x")
    with pytest.raises(UsageError):
        offline_run.alert("t", None)  # type: ignore[arg-type]


def test_alert_after_finish_raises(offline_run: Run) -> None:
    offline_run.finish()
    with pytest.raises(RunFinishedError):
        offline_run.alert("t", "x")


def test_a_failing_sink_does_not_stop_the_run(clean: Path) -> None:
    class Broken:
        @hookimpl
        def register_alert_sinks(self, register: Any) -> None:
            register("broken", self.deliver)

        def deliver(self, run: Run, alert: Alert) -> None:
            raise RuntimeError("sink down")

    pm = get_plugin_manager()
    broken = Broken()
    pm.register(broken, name="broken-sink")
    try:
        run = trackwell.init()
        run.alert("t", "x")
        run.log({"a": 1})
        run.finish()
    finally:
        pm.unregister(broken)
    assert run.state == "finished"
    assert len(kinds(run._run_dir, "alert")) == 1
    assert steps(run._run_dir) == [0]


# -- resume ---------------------------------------------------------------------------------------


def first_session(run_id: str = "resumeme") -> Run:
    run = trackwell.init(id=run_id, project="res", config={"lr": 0.1})
    run.define_metric("loss", summary="min")
    for loss in (0.9, 0.5, 0.7):
        run.log({"loss": loss})
    run.finish()
    return run


@pytest.mark.parametrize("resume", ["allow", "must", True])
def test_resume_continues_steps_config_and_log(clean: Path, resume: Any) -> None:
    first = first_session()
    second = trackwell.init(id="resumeme", resume=resume)

    assert second.resumed
    assert Path(second._run_dir) == Path(first._run_dir)
    assert second.step == 3
    assert second.config.lr == 0.1
    assert second.project == "res"
    assert second.name == first.name
    with pytest.raises(ConfigError):
        second.config.lr = 0.2  # the old config is still the config
    second.log({"loss": 0.8})
    second.log({"loss": 0.6})
    assert second.summary["loss"] == {"min": 0.5}  # aggregates carry over
    second.finish()

    assert len(list(Path(first._run_dir).glob("run-*.twlog"))) == 1
    assert steps(first._run_dir) == [0, 1, 2, 3, 4]
    assert len(kinds(first._run_dir, "run")) == 2
    assert [e["state"] for e in kinds(first._run_dir, "exit")] == ["finished", "finished"]
    api_run = trackwell.Api(root=clean).run(f"res/{first.id}")
    assert api_run.state == "finished"
    assert [r["loss"] for r in api_run.scan_history()] == [0.9, 0.5, 0.7, 0.8, 0.6]
    assert api_run.config == {"lr": 0.1}
    assert api_run.summary["loss"] == {"min": 0.5}


def test_resume_allow_with_a_new_id_starts_fresh(clean: Path) -> None:
    run = trackwell.init(id="brandnew", resume="allow")
    assert not run.resumed
    assert run.id == "brandnew"
    assert run.step == 0


def test_resume_must_without_a_run_fails(clean: Path) -> None:
    with pytest.raises(UsageError, match="nothere"):
        trackwell.init(id="nothere", resume="must")
    with pytest.raises(UsageError, match="id"):
        trackwell.init(resume="must")
    assert trackwell.run is None
    assert not list(clean.glob("trackwell/*-nothere"))


def test_resume_never_refuses_an_existing_id(clean: Path) -> None:
    first_session("taken")
    with pytest.raises(UsageError, match="taken"):
        trackwell.init(id="taken", resume="never")
    fresh = trackwell.init(id="freshid", resume="never")
    assert not fresh.resumed


def test_bad_resume_value(clean: Path) -> None:
    with pytest.raises(UsageError, match="resume"):
        trackwell.init(id="x", resume="maybe")


# -- the terminal summary -------------------------------------------------------------------------


def test_finish_prints_history_sparklines_and_summary(
    clean: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_SILENT", "false")
    run = trackwell.init(name="printed-run")
    for i in range(20):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 20})
    run.summary["best"] = 0.99
    run.finish()

    err = capfd.readouterr().err
    assert "Run history" in err
    assert "Run summary" in err
    assert SPARK_CHARS & set(err)
    history_block = err.split("Run history", 1)[1].split("Run summary", 1)[0]
    assert "loss" in history_block and "acc" in history_block
    summary_block = err.split("Run summary", 1)[1]
    assert "best" in summary_block and "0.99" in summary_block
    assert "printed-run" in err
    assert str(run._run_dir) in err


def test_silent_prints_nothing(
    clean: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_SILENT", "true")
    run = trackwell.init()
    for i in range(5):
        run.log({"loss": float(i)})
    run.finish()

    captured = capfd.readouterr()
    assert "Run history" not in captured.err + captured.out
    assert "Run summary" not in captured.err + captured.out
    assert "trackwell:" not in captured.err + captured.out


def test_quiet_finish_prints_only_the_outcome(
    clean: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACKWELL_SILENT", "false")
    run = trackwell.init()
    for i in range(5):
        run.log({"loss": float(i)})
    capfd.readouterr()
    run.finish(quiet=True)

    err = capfd.readouterr().err
    assert "Run history" not in err
    assert "Run summary" not in err
    assert run.id in err


def test_a_file_that_cannot_be_saved_costs_no_rows(clean: Path) -> None:
    run = trackwell.init()
    blocker = Path(run._run_dir) / "files" / "sub"
    blocker.write_text("a file where save() needs a folder")
    (clean / "sub").mkdir()
    (clean / "sub" / "model.txt").write_text("weights")
    run.log({"before": 1})
    run.save("sub/model.txt", policy="now")  # copying into files/sub/ fails: sub is a file
    run.log({"after": 2})
    run.finish()
    assert steps(run._run_dir) == [0, 1]
    assert run.state == "finished"


def test_reusing_an_id_without_resume_never_appends_to_the_other_runs_log(clean: Path) -> None:
    first = trackwell.init(id="same-id")
    first.log({"x": 1})
    first.finish()
    second = trackwell.init(id="same-id")
    second.log({"x": 2})
    second.finish()
    assert Path(first._run_dir) != Path(second._run_dir)
    assert steps(first._run_dir) == [0]
    assert steps(second._run_dir) == [0]
