"""trackwell-tensorboard: event files written by tensorboardX / torch.utils.tensorboard, read
without TensorFlow, imported into runs, and synced live with init(sync_tensorboard=True)."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import trackwell
from trackwell import rundir
from trackwell._pipeline.runlog import Kind, read_log
from trackwell.plugins import get_plugin_manager
from trackwell.run import Run

tbplugin = pytest.importorskip("trackwell_tensorboard", reason="pip install -e plugins/tensorboard")
from trackwell_tensorboard import events as ev  # noqa: E402
from trackwell_tensorboard.importer import import_logdir  # noqa: E402

np = pytest.importorskip("numpy")
tensorboardX = pytest.importorskip("tensorboardX")

HAS_TORCH_TB = all(importlib.util.find_spec(m) is not None for m in ("torch", "tensorboard"))


def _env(tmp_path: Path) -> dict[str, str]:
    """A child process's environment: offline, settings isolated from this machine's user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKWELL_", "WANDB_"))}
    env.update(
        TRACKWELL_CONFIG_DIR=str(tmp_path / ".config"),
        TRACKWELL_MODE="offline",
        TRACKWELL_SILENT="true",
        TRACKWELL_X_DISABLE_STATS="true",
    )
    return env


def _records(run_dir: Path | str, kind: str) -> list[Any]:
    log = rundir.find_log(Path(run_dir))
    assert log is not None
    return [r.body for r in read_log(log).records if r.kind == kind]


def _history(run: Run | Path | str) -> list[dict[str, Any]]:
    return _records(run._run_dir if isinstance(run, Run) else run, Kind.HISTORY)


def _png(width: int = 4, height: int = 3) -> Any:
    img = np.zeros((3, height, width), dtype=np.uint8)
    img[0] = 255
    return img


def write_tbx_logdir(logdir: Path, steps: int = 5) -> None:
    """A logdir as a training script leaves it: scalars, text, a histogram, an image."""
    writer = tensorboardX.SummaryWriter(str(logdir))
    for step in range(steps):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("lr", 0.1, step)
    writer.add_text("notes", "hello **tensorboard**", 2)
    writer.add_histogram("weights", np.array([1.0, 2.0, 2.0, 3.0, 10.0]), 3)
    writer.add_image("sample", _png(), 4)
    writer.close()


# -- the plugin ---------------------------------------------------------------------


def test_the_plugin_is_found_through_its_entry_point() -> None:
    pm = get_plugin_manager()
    assert pm.has_plugin("tensorboard")
    hooks = {c.name for c in pm.get_hookcallers(pm.get_plugin("tensorboard")) or ()}
    assert hooks == {"on_run_start", "on_run_finish", "handles_setting", "register_commands"}


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, trackwell_tensorboard.plugin, trackwell_tensorboard; "
        "print(sorted(m for m in ('numpy', 'tensorboardX', 'tensorboard', 'torch', 'google.protobuf', "
        "'trackwell_tensorboard.sync', 'trackwell_tensorboard.events') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- reading event files -------------------------------------------------------------------


def test_records_round_trip_and_a_torn_tail_waits(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    with open(path, "wb") as fh:
        ev.write_record(fh, b"first")
        ev.write_record(fh, b"second")
    full = path.read_bytes()
    path.write_bytes(full[:-3])  # the last record is still being written
    reader = ev.RecordReader(path)
    assert list(reader.read()) == [b"first"]
    path.write_bytes(full)
    assert list(reader.read()) == [b"second"]  # picks up where it stopped
    assert list(reader.read()) == []


def test_a_corrupt_record_is_reported_with_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    buf = io.BytesIO()
    ev.write_record(buf, b"good")
    ev.write_record(buf, b"data")
    data = bytearray(buf.getvalue())
    data[-6] ^= 0xFF  # flip a byte of the second record's data
    path.write_bytes(bytes(data))
    with pytest.raises(ev.CorruptRecord, match=r"corrupt record at byte 20 \(data checksum\)"):
        list(ev.RecordReader(path).read())


def test_decoding_matches_the_protobuf_runtime(tmp_path: Path) -> None:
    """Our wire decoder agrees with protobuf's own parse of tensorboardX's files."""
    from tensorboardX.proto import event_pb2

    write_tbx_logdir(tmp_path)
    [path] = ev.event_files(tmp_path)
    raw = list(ev.RecordReader(path).read())
    ours = [ev.decode_event(data) for data in raw]
    theirs = [event_pb2.Event.FromString(data) for data in raw]
    assert ours[0].file_version == theirs[0].file_version == "brain.Event:2"
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine.step == ref.step
        assert mine.wall_time == ref.wall_time
        assert [v.tag for v in mine.values] == [v.tag for v in ref.summary.value]
        for v, r in zip(mine.values, ref.summary.value, strict=True):
            assert v.plugin == r.metadata.plugin_data.plugin_name
            kind = r.WhichOneof("value")
            if kind == "simple_value":
                assert v.simple_value == r.simple_value
            elif kind == "histo":
                assert v.histo is not None
                assert (v.histo.min, v.histo.max, v.histo.num, v.histo.sum) == (
                    r.histo.min,
                    r.histo.max,
                    r.histo.num,
                    r.histo.sum,
                )
                assert v.histo.bucket == list(r.histo.bucket)
                assert v.histo.bucket_limit == list(r.histo.bucket_limit)
            elif kind == "image":
                assert v.image is not None
                assert (v.image.width, v.image.height) == (r.image.width, r.image.height)
                assert v.image.encoded == r.image.encoded_image_string
            elif kind == "tensor":
                assert v.tensor is not None and v.tensor.values == list(r.tensor.string_val)


# -- importing a logdir ------------------------------------------------------------------------


def test_import_logdir_into_a_new_run(trackwell_dir: Path) -> None:
    logdir = trackwell_dir / "runs" / "exp1"
    write_tbx_logdir(logdir)
    result = import_logdir(logdir, project="tb")
    run = result.run
    assert run.project == "tb" and run.name == "exp1"
    assert result.files == 1 and result.steps == 5 and result.media == 2  # a histogram, an image
    rows = _history(run)
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]  # the TensorBoard steps
    assert [r["global_step"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["loss"] for r in rows] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert rows[2]["notes"] == "hello **tensorboard**"
    hist = rows[3]["weights"]
    assert hist["_type"] == "histogram" and sum(hist["values"]) == 5.0
    assert len(hist["bins"]) == len(hist["values"]) + 1
    image = rows[4]["sample"]
    assert image["_type"] == "images/separated" and image["count"] == 1
    saved = Path(run._run_dir) / "files" / image["items"][0]["path"]
    assert saved.read_bytes().startswith(b"\x89PNG")
    # the event file itself is kept with the run
    [event_file] = ev.event_files(logdir)
    assert (Path(run._run_dir) / "files" / Path(event_file).name).is_file()
    assert _records(run._run_dir, Kind.EXIT)[-1]["state"] == "finished"


def test_sub_folders_prefix_their_keys(trackwell_dir: Path) -> None:
    for sub, value in (("train", 1.0), ("eval", 2.0)):
        writer = tensorboardX.SummaryWriter(str(trackwell_dir / "runs" / sub))
        writer.add_scalar("loss", value, 7)
        writer.close()
    result = import_logdir(trackwell_dir / "runs")
    [row] = _history(result.run)
    assert row["train/loss"] == 1.0 and row["eval/loss"] == 2.0 and row["_step"] == 7


def test_import_into_a_live_run(offline_run: Run, tmp_path: Path) -> None:
    write_tbx_logdir(tmp_path / "logs", steps=3)
    offline_run.log({"before": 1})
    import_logdir(tmp_path / "logs", run=offline_run, save_event_files=False)
    offline_run.finish()
    rows = _history(offline_run)
    assert rows[0] == {**rows[0], "before": 1}
    assert [r.get("global_step") for r in rows[1:4]] == [0, 1, 2]
    assert [r["_step"] for r in rows] == list(range(len(rows)))  # the run keeps its own steps


def test_import_errors(trackwell_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no TensorBoard logdir"):
        import_logdir(trackwell_dir / "missing")
    (trackwell_dir / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no event files"):
        import_logdir(trackwell_dir / "empty")


def test_cli_import_tensorboard(tmp_path: Path) -> None:
    write_tbx_logdir(tmp_path / "logs")
    env = _env(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trackwell",
            "import",
            "tensorboard",
            "logs",
            "--project",
            "cli",
            "--tag",
            "tb",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported 14 events from 1 file(s): 5 steps" in proc.stdout
    run_dir = next((tmp_path / "trackwell").glob("*run-*"))
    assert [r["loss"] for r in _history(run_dir)] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    info = _records(run_dir, Kind.RUN)[0]
    assert info["project"] == "cli" and list(info["tags"]) == ["tb"]


def test_cli_import_of_a_folder_without_events_fails_clearly(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "trackwell", "import", "tensorboard", str(tmp_path)],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1 and "no event files" in proc.stderr


# -- sync_tensorboard -------------------------------------------------------------------------


def test_sync_tensorboard_logs_as_the_writer_writes(trackwell_dir: Path) -> None:
    run = trackwell.init(project="p", sync_tensorboard=True)
    assert run.settings.sync_tensorboard is True
    run.flush()  # on_run_start has run: the writers are patched
    writer = tensorboardX.SummaryWriter(str(trackwell_dir / "tb"))
    for step in range(3):
        writer.add_scalar("loss", float(step), step)
        writer.add_scalar("acc", step / 10, step)
    writer.add_histogram("w", np.arange(10.0), 2)
    writer.add_text("note", "hi", 2)
    writer.add_image("img", _png(), 2)
    run.flush()
    rows = _history(run)
    # a step's row is logged once the writer moves on: steps 0 and 1 are in
    assert [r["global_step"] for r in rows] == [0, 1]
    assert [(r["loss"], r["acc"]) for r in rows] == [(0.0, 0.0), (1.0, pytest.approx(0.1))]  # float32 in TB
    writer.flush()  # a flush logs the step in progress
    run.flush()
    last = _history(run)[-1]
    assert last["global_step"] == 2 and last["loss"] == 2.0 and last["note"] == "hi"
    assert last["w"]["_type"] == "histogram" and sum(last["w"]["values"]) == 10.0
    [image] = last["img"]["items"]
    writer.close()
    run.finish()
    files = Path(run._run_dir) / "files"
    assert (files / image["path"]).is_file()
    [event_file] = ev.event_files(trackwell_dir / "tb")
    assert (files / "tb" / Path(event_file).name).is_file()  # the event file is saved
    # TensorBoard's own file is complete and unaffected
    assert sum(1 for e in ev.read_events(event_file) if e.values) == 9


def test_sync_stops_with_the_run(trackwell_dir: Path) -> None:
    from tensorboardX.event_file_writer import EventFileWriter

    original = EventFileWriter.add_event
    run = trackwell.init(project="p", sync_tensorboard=True)
    run.flush()
    assert EventFileWriter.add_event is not original
    writer = tensorboardX.SummaryWriter(str(trackwell_dir / "tb"))
    writer.add_scalar("x", 1.0, 0)
    run.finish()  # logs the pending step
    assert EventFileWriter.add_event is original
    writer.add_scalar("x", 2.0, 1)  # after the run: not logged anywhere, no error
    writer.close()
    assert [r["x"] for r in _history(run)] == [1.0]


def test_without_sync_tensorboard_nothing_is_patched(trackwell_dir: Path) -> None:
    from tensorboardX.event_file_writer import EventFileWriter

    original = EventFileWriter.add_event
    run = trackwell.init(project="p")
    run.flush()
    assert EventFileWriter.add_event is original
    run.finish()


def test_sync_tensorboard_from_the_environment(trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKWELL_SYNC_TENSORBOARD", "true")
    run = trackwell.init(project="p")
    assert run.settings.sync_tensorboard is True
    run.finish()


SCRIPT = """
import trackwell
run = trackwell.init(project="sync", sync_tensorboard=True)
{imports}
writer = SummaryWriter("tb/exp")
for step in range(4):
    writer.add_scalar("train/loss", 1.0 / (step + 1), step)
writer.add_text("summary", "done", 3)
writer.close()
run.finish()
print(run._run_dir)
"""


def _run_script(tmp_path: Path, imports: str) -> Path:
    (tmp_path / "train.py").write_text(SCRIPT.format(imports=textwrap.dedent(imports)))
    env = _env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "train.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_sync_tensorboard_script_with_tensorboardx_imported_after_init(tmp_path: Path) -> None:
    """The writer module is imported after init(): it is patched as it is imported."""
    run_dir = _run_script(tmp_path, "from tensorboardX import SummaryWriter")
    rows = _history(run_dir)
    assert [r["train/loss"] for r in rows] == pytest.approx([1.0, 0.5, 1 / 3, 0.25])
    assert rows[-1]["summary"] == "done" and rows[-1]["global_step"] == 3


@pytest.mark.skipif(not HAS_TORCH_TB, reason="needs torch and tensorboard (torch.utils.tensorboard)")
def test_sync_tensorboard_script_with_torch_utils_tensorboard(tmp_path: Path) -> None:
    run_dir = _run_script(tmp_path, "from torch.utils.tensorboard import SummaryWriter")
    rows = _history(run_dir)
    assert [r["train/loss"] for r in rows] == pytest.approx([1.0, 0.5, 1 / 3, 0.25])
    assert rows[-1]["summary"] == "done"
    saved = list((run_dir / "files").rglob("*tfevents*"))
    assert len(saved) == 1


@pytest.mark.skipif(not HAS_TORCH_TB, reason="needs torch and tensorboard (torch.utils.tensorboard)")
def test_import_files_written_by_torch_utils_tensorboard(trackwell_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(trackwell_dir / "torchlogs"))
    for step in range(3):
        writer.add_scalar("loss", 0.5 * step, step)
    writer.add_histogram("grad", torch.tensor([0.0, 1.0, 1.0, 4.0]), 2)
    writer.add_image("x", torch.zeros(3, 2, 2), 2)
    writer.add_text("t", "torch text", 1)
    writer.close()
    result = import_logdir(trackwell_dir / "torchlogs")
    rows = _history(result.run)
    assert [r["loss"] for r in rows] == [0.0, 0.5, 1.0]
    assert rows[1]["t"] == "torch text"
    assert rows[2]["grad"]["_type"] == "histogram" and sum(rows[2]["grad"]["values"]) == 4.0
    assert rows[2]["x"]["items"][0]["path"].endswith(".png")


def test_patching_by_hand_right_after_init(trackwell_dir: Path) -> None:
    """The exact way: no window between init() returning and the patch."""
    from tensorboardX.event_file_writer import EventFileWriter

    original = EventFileWriter.add_event
    run = trackwell.init(project="p")
    tbplugin.patch(root_logdir=trackwell_dir / "tb")
    tbplugin.register_run(run)
    for sub in ("train", "eval"):
        writer = tensorboardX.SummaryWriter(str(trackwell_dir / "tb" / sub))
        writer.add_scalar("loss", 1.0 if sub == "train" else 2.0, 0)
        writer.close()  # close flushes: the step is logged
    run.finish()
    assert EventFileWriter.add_event is original
    rows = _history(run)
    assert {k: v for row in rows for k, v in row.items() if k.endswith("loss")} == {
        "train/loss": 1.0,
        "eval/loss": 2.0,
    }
    saved = sorted(p.parent.name for p in (Path(run._run_dir) / "files").rglob("*tfevents*"))
    assert saved == ["eval", "train"]


def test_sync_tensorboard_without_the_plugin_says_what_to_install(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trackwell.plugins import reset_plugin_manager

    monkeypatch.setenv("TRACKWELL_DISABLE_PLUGINS", "tensorboard")
    reset_plugin_manager()
    try:
        with pytest.warns(UserWarning, match=r"needs the trackwell-tensorboard plugin \(pip install"):
            run = trackwell.init(project="p", sync_tensorboard=True)
        run.finish()
    finally:
        reset_plugin_manager()


def test_add_scalars_series_keep_their_names(trackwell_dir: Path) -> None:
    """add_scalars() writes each series through its own writer in a sub-folder, all with
    the same tag; the sub-folder keeps them apart."""
    run = trackwell.init(project="p", sync_tensorboard=True)
    run.flush()
    writer = tensorboardX.SummaryWriter(str(trackwell_dir / "tb"))
    writer.add_scalar("lr", 0.1, 0)
    writer.add_scalars("loss", {"train": 1.0, "val": 2.0}, 0)
    writer.close()
    run.finish()
    values = {k: v for row in _history(run) for k, v in row.items() if not k.startswith("_")}
    # tensorboardX puts the series in tb/loss/train and tb/loss/val: TensorBoard's runs
    assert values == {
        "lr": pytest.approx(0.1),
        "loss/train/loss": 1.0,
        "loss/val/loss": 2.0,
        "global_step": 0,
    }


def test_hparams_become_the_run_config(trackwell_dir: Path) -> None:
    writer = tensorboardX.SummaryWriter(str(trackwell_dir / "hp"))
    writer.add_scalar("loss", 0.5, 0)
    writer.add_hparams({"lr": 0.01, "opt": "adam", "bn": True, "layers": 3}, {"hparam/acc": 0.9})
    writer.close()
    result = import_logdir(trackwell_dir / "hp")
    assert result.config == {"lr": 0.01, "opt": "adam", "bn": True, "layers": 3}
    assert "hparams" not in result.skipped
    [config] = _records(result.run._run_dir, Kind.CONFIG)[-1:]
    assert config["update"] == {"lr": 0.01, "opt": "adam", "bn": True, "layers": 3}
    values = {k: v for row in _history(result.run) for k, v in row.items() if not k.startswith("_")}
    [acc_key] = [k for k in values if k.endswith("hparam/acc")]  # in add_hparams' own sub-folder
    assert values[acc_key] == pytest.approx(0.9) and values["loss"] == 0.5


def test_hparams_while_syncing(trackwell_dir: Path) -> None:
    run = trackwell.init(project="p", sync_tensorboard=True)
    run.flush()
    writer = tensorboardX.SummaryWriter(str(trackwell_dir / "tb"))
    writer.add_hparams({"lr": 0.1, "batch": 32}, {"m": 1.0})
    writer.close()
    run.finish()
    assert run.config["lr"] == 0.1 and run.config["batch"] == 32


def test_import_with_config_and_hparams_together(trackwell_dir: Path) -> None:
    writer = tensorboardX.SummaryWriter(str(trackwell_dir / "hp"))
    writer.add_hparams({"lr": 0.01}, {"acc": 0.5})
    writer.close()
    result = import_logdir(trackwell_dir / "hp", config={"source": "tensorboard"})
    updates: dict[str, Any] = {}
    for record in _records(result.run._run_dir, Kind.CONFIG):
        updates.update(record["update"])
    assert updates == {"source": "tensorboard", "lr": 0.01}
