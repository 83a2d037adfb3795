"""report_to="trackwell" under a real transformers Trainer.train and evaluate, read back through the Public API."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="the Trainer needs torch")
pytest.importorskip("transformers", reason="trackwell-transformers' tests need transformers")
pytest.importorskip("trackwell_transformers", reason="pip install -e integrations/transformers")

import torch
from transformers import Trainer, TrainingArguments

import trackwell
from trackwell.errors import TrackwellWarning
from trackwell_transformers import TrackwellCallback, register_with_transformers

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import transformers_example  # noqa: E402


def _trainer(tmp: Path, **overrides: Any) -> Trainer:
    options: dict[str, Any] = {
        "output_dir": str(tmp / "outputs"),
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 16,
        "num_train_epochs": 1,
        "logging_steps": 2,
        "save_strategy": "no",
        "report_to": "trackwell",
        "use_cpu": True,
        "disable_tqdm": True,
    }
    options.update(overrides)
    return Trainer(
        model=transformers_example.tiny_bert(),
        args=TrainingArguments(**options),
        train_dataset=transformers_example.SyntheticPairs(64, seed=1),
        eval_dataset=transformers_example.SyntheticPairs(16, seed=2),
    )


def _only_run(root: Path) -> Any:
    runs = list(trackwell.Api(root=root).runs())
    assert len(runs) == 1, runs
    return runs[0]


def _trackwell_callbacks(trainer: Trainer) -> list[Any]:
    return [c for c in trainer.callback_handler.callbacks if isinstance(c, TrackwellCallback)]


def test_the_example_trains_and_evaluates_and_reads_back(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["transformers_example.py", "--dir", str(trackwell_dir)])
    transformers_example.main()  # train() then evaluate() with report_to="trackwell", then finish()

    read = _only_run(trackwell_dir)
    assert (read.name, read.project, read.state) == ("tiny-bert", "huggingface", "finished")
    config = dict(read.config)
    # TrainingArguments and the model's config, plus the model size
    assert config["learning_rate"] == 5e-05 and config["per_device_train_batch_size"] == 16
    assert config["run_name"] == "tiny-bert" and config["report_to"] == ["trackwell"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (32, 2, 64)
    assert config["model/num_parameters"] == transformers_example.tiny_bert().num_parameters()

    rows = list(read.scan_history())
    train = [r for r in rows if "train/loss" in r]
    evals = [r for r in rows if "eval/loss" in r]
    # 64 samples in batches of 16: 4 optimizer steps, a log row each (logging_steps=1)
    assert [r["train/global_step"] for r in train] == [1, 2, 3, 4]
    assert all({"train/learning_rate", "train/grad_norm", "train/epoch"} <= set(r) for r in train)
    # one evaluation at the end of the epoch, one from trainer.evaluate()
    assert [r["train/global_step"] for r in evals] == [4, 4]
    assert all("eval/runtime" in r and "eval/samples_per_second" in r for r in evals)
    # the one-off totals go to the summary, not the history
    summary = dict(read.summary)
    for key in ("train_runtime", "train_loss", "total_flos", "train_samples_per_second"):
        assert key in summary and not any(key in r for r in rows)
    assert summary["eval/loss"] == evals[-1]["eval/loss"]
    assert summary["train/global_step"] == 4


def test_project_from_the_environment_and_an_existing_run(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb-env")
    _trainer(trackwell_dir, max_steps=1).train()
    trackwell.finish()
    assert _only_run(trackwell_dir).project == "from-wandb-env"

    monkeypatch.setenv("TRACKWELL_PROJECT", "from-trackwell-env")  # wins over WANDB_PROJECT
    run = trackwell.init(name="mine", dir=str(trackwell_dir / "second"), config={"mine": 1})
    _trainer(trackwell_dir, max_steps=1, run_name="ignored").train()
    assert trackwell.run is run
    run.finish()
    read = _only_run(trackwell_dir / "second")
    assert (read.name, read.project) == ("mine", "from-trackwell-env")
    assert dict(read.config)["mine"] == 1 and dict(read.config)["max_steps"] == 1


def test_report_to_all_includes_trackwell(trackwell_dir: Path) -> None:
    trainer = _trainer(trackwell_dir, report_to="all", max_steps=1)
    assert "trackwell" in trainer.args.report_to
    assert len(_trackwell_callbacks(trainer)) == 1


def test_report_to_wandb_reports_here_when_wandb_is_not_installed(trackwell_dir: Path) -> None:
    if "wandb" in sys.modules or __import__("importlib").util.find_spec("wandb") is not None:
        pytest.skip("the real wandb is installed: report_to='wandb' stays transformers' own callback")
    trainer = _trainer(trackwell_dir, report_to="wandb", max_steps=1)
    assert len(_trackwell_callbacks(trainer)) == 1


class _Recorder:
    """Stands in for trackwell.Artifact (media/artifacts release) to check what the callback asks for."""

    def __init__(self, name: str, type: str, metadata: dict[str, Any]) -> None:
        self.name, self.type, self.metadata = name, type, metadata
        self.listing: list[str] = []

    def add_dir(self, path: str) -> None:
        self.listing = sorted(p.name for p in Path(path).iterdir())


def _record_artifacts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[_Recorder, list[str]]]:
    logged: list[tuple[_Recorder, list[str]]] = []
    monkeypatch.setattr(trackwell, "Artifact", _Recorder, raising=False)
    monkeypatch.setattr(
        trackwell.Run, "log_artifact", lambda self, a, aliases: logged.append((a, aliases)), raising=False
    )
    return logged


def test_log_model_checkpoint_logs_each_saved_checkpoint(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_LOG_MODEL", "checkpoint")
    logged = _record_artifacts(monkeypatch)
    trainer = _trainer(trackwell_dir, save_strategy="steps", save_steps=2, run_name="ckpt-run")
    trainer.train()
    assert [aliases for _, aliases in logged] == [
        ["epoch_0.5", "checkpoint_global_step_2"],
        ["epoch_1.0", "checkpoint_global_step_4"],
    ]
    artifact = logged[-1][0]
    assert (artifact.name, artifact.type) == ("model-ckpt-run", "model")
    assert "model.safetensors" in artifact.listing and "config.json" in artifact.listing
    assert artifact.metadata["model/num_parameters"] == trainer.model.num_parameters()


def test_log_model_end_logs_the_final_model(trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_LOG_MODEL", "end")
    logged = _record_artifacts(monkeypatch)
    _trainer(trackwell_dir, max_steps=2).train()
    assert len(logged) == 1
    artifact, aliases = logged[0]
    assert aliases == ["final_model"]
    assert artifact.name == f"model-{trackwell.run.id}"
    assert {"config.json", "model.safetensors"} <= set(artifact.listing)
    assert artifact.metadata["final_model"] is True and "train/loss" in artifact.metadata


def test_log_model_without_artifacts_warns_and_the_trainer_still_saves(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_LOG_MODEL", "checkpoint")
    with pytest.warns(TrackwellWarning, match="WANDB_LOG_MODEL=checkpoint needs trackwell artifacts"):
        _trainer(trackwell_dir, save_strategy="steps", save_steps=2).train()
    assert sorted(p.name for p in (trackwell_dir / "outputs").iterdir()) == ["checkpoint-2", "checkpoint-4"]


def test_wandb_watch_calls_run_watch_when_it_exists(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_WATCH", "all")
    with pytest.warns(TrackwellWarning, match="not watched"):
        _trainer(trackwell_dir, max_steps=1).train()
    trackwell.finish()
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(
        trackwell.Run, "watch", lambda self, model, **kw: calls.append((model, kw)), raising=False
    )
    trainer = _trainer(trackwell_dir, max_steps=1, logging_steps=5)
    trainer.train()
    assert len(calls) == 1
    assert calls[0][0] is trainer.model and calls[0][1]["log"] == "all" and calls[0][1]["log_freq"] == 100


def test_registration_is_checked_and_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers.integrations.integration_utils as utils

    assert register_with_transformers() is True  # idempotent
    assert register_with_transformers(utils) is True
    assert utils.INTEGRATION_TO_CALLBACK["trackwell"] is TrackwellCallback
    assert utils.get_available_reporting_integrations().count("trackwell") == 1

    changed = types.ModuleType("integration_utils")  # a future transformers without the table
    with pytest.warns(
        TrackwellWarning,
        match=r"report_to='trackwell' is not available.*callbacks=\[trackwell_transformers.TrackwellCallback\(\)\]",
    ):
        assert register_with_transformers(changed) is False

    import transformers

    monkeypatch.setattr(transformers, "__version__", "7.0.0")
    with pytest.warns(TrackwellWarning, match="outside the versions trackwell-transformers supports"):
        assert register_with_transformers(utils) is True


@pytest.mark.parametrize("order", ["trackwell first", "transformers first"])
def test_importing_trackwell_is_enough_whatever_the_order(order: str, trackwell_dir: Path) -> None:
    imports = ["import trackwell", "from transformers import Trainer, TrainingArguments"]
    if order == "transformers first":
        imports.reverse()
    code = "\n".join(
        [
            "import json, sys",
            "print(json.dumps([m in sys.modules for m in ('transformers', 'trackwell_transformers')]))",
            *imports,
            "import transformers.integrations.integration_utils as u",
            "args = TrainingArguments(output_dir='out', report_to='all', use_cpu=True)",
            "print(json.dumps([u.INTEGRATION_TO_CALLBACK['trackwell'].__name__, 'trackwell' in args.report_to]))",
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=trackwell_dir,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert json.loads(lines[0]) == [False, False]
    assert json.loads(lines[-1]) == ["TrackwellCallback", True]


def test_import_trackwell_alone_imports_no_framework(trackwell_dir: Path) -> None:
    code = "import sys, trackwell; print([m for m in ('transformers', 'trackwell_transformers', 'torch', 'trackwell.integration') if m in sys.modules])"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=trackwell_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "[]"


def test_torch_is_the_cpu_build() -> None:
    assert "+cpu" in torch.__version__ or not torch.cuda.is_available()
