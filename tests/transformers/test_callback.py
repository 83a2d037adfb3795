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
from transformers import BertForSequenceClassification, Trainer, TrainingArguments

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


def _model_versions(name: str) -> dict[str, Any]:
    """The versions of model artifact ``name`` in project ``hf-art``, by version, from the server."""
    api = trackwell.Api()
    return {a.version: a for a in api.artifacts("model", f"{api.default_entity}/hf-art/{name}")}


def _assert_same_weights(directory: str | Path, model: torch.nn.Module) -> None:
    loaded = BertForSequenceClassification.from_pretrained(str(directory))
    trained = model.state_dict()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, trained[key])


def test_log_model_checkpoint_logs_each_saved_checkpoint(
    trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "hf-art")
    monkeypatch.setenv("WANDB_LOG_MODEL", "checkpoint")
    trainer = _trainer(trackwell_online_dir, save_strategy="steps", save_steps=2, run_name="ckpt-run")
    trainer.train()
    trackwell.finish()

    versions = _model_versions("model-ckpt-run")
    # each saved checkpoint, then (as transformers does for "checkpoint" too) the final model
    assert sorted(versions) == ["v0", "v1", "v2"]
    assert {"epoch_0.5", "checkpoint_global_step_2"} <= set(versions["v0"].aliases)
    assert {"epoch_1.0", "checkpoint_global_step_4"} <= set(versions["v1"].aliases)
    assert "final_model" in versions["v2"].aliases
    files = {f.name for f in versions["v1"].files()}
    assert {"model.safetensors", "config.json", "trainer_state.json"} <= files
    assert versions["v1"].metadata["model/num_parameters"] == trainer.model.num_parameters()
    root = versions["v1"].download(trackwell_online_dir / "ckpt")
    assert json.loads(Path(root, "trainer_state.json").read_text())["global_step"] == 4
    _assert_same_weights(root, trainer.model)


def test_trackwell_log_model_end_logs_the_final_model(
    trackwell_online_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "hf-art")
    monkeypatch.setenv("TRACKWELL_LOG_MODEL", "end")
    trainer = _trainer(trackwell_online_dir, max_steps=2, save_strategy="steps", save_steps=1)
    trainer.train()
    run_id = trackwell.run.id
    trackwell.finish()

    versions = _model_versions(f"model-{run_id}")
    assert sorted(versions) == ["v0"]  # the checkpoints stay on disk only
    final = versions["v0"]
    assert "final_model" in final.aliases and final.type == "model"
    assert final.metadata["final_model"] is True and "train/loss" in final.metadata
    assert {f.name for f in final.files()} >= {"config.json", "model.safetensors"}
    _assert_same_weights(final.download(trackwell_online_dir / "final"), trainer.model)
    assert [a.name for a in trackwell.Api().run(f"hf-art/{run_id}").logged_artifacts()] == [
        f"model-{run_id}:v0"
    ]


def test_wandb_watch_logs_histograms_through_trackwell_torch(
    trackwell_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("trackwell_torch", reason="WANDB_WATCH needs trackwell-torch (integrations/torch)")
    monkeypatch.setenv("WANDB_WATCH", "all")
    # transformers watches every max(100, logging_steps) steps: 100 tiny steps
    trainer = _trainer(trackwell_dir, max_steps=100, logging_steps=50, per_device_train_batch_size=2)
    trainer.train()
    trackwell.finish()
    rows = list(_only_run(trackwell_dir).scan_history())
    gradients = [r for r in rows if "gradients/bert.embeddings.word_embeddings.weight" in r]
    parameters = [r for r in rows if "parameters/classifier.weight" in r]
    assert len(gradients) == 1 and len(parameters) == 1
    assert gradients[0]["gradients/bert.embeddings.word_embeddings.weight"]["_type"] == "histogram"


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
