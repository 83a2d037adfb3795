"""``TrackwellCallback``: what transformers' ``Trainer`` reports to a trackwell run.

It does what transformers' own W&B callback does, with the same environment
variables: ``TrainingArguments`` and the model's config go to ``run.config`` (with
``model/num_parameters``), each ``Trainer.log()`` becomes a history row with
``train/global_step`` as the step metric (``loss`` -> ``train/loss``, ``eval_loss`` ->
``eval/loss``), the one-off totals (``train_runtime``, ``train_loss``, ...) go to the
summary, ``run_name`` names the run.

Environment: ``TRACKWELL_PROJECT`` / ``WANDB_PROJECT`` (default ``huggingface``),
``WANDB_LOG_MODEL`` = ``end`` | ``checkpoint`` | ``false`` (model artifacts: ``end`` logs the
final model as ``model-<run name or id>`` with alias ``final_model``; ``checkpoint`` also logs
each saved ``checkpoint-<step>`` directory to the same artifact, with aliases
``epoch_<epoch>`` and ``checkpoint_global_step_<step>``),
``WANDB_WATCH`` = ``gradients`` | ``parameters`` | ``all`` | ``false`` (``run.watch``).
"""

from __future__ import annotations

import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

from transformers.trainer_callback import TrainerCallback

import trackwell
from trackwell.extend import support

#: Values logged once per training, which W&B keeps in the summary rather than history.
SINGLE_VALUE_SCALARS = frozenset(
    {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}
)
LOG_MODEL_CHOICES = ("end", "checkpoint", "false")
WATCH_CHOICES = ("gradients", "parameters", "all")


def rewrite_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """``eval_x`` -> ``eval/x``, ``test_x`` -> ``test/x``, anything else -> ``train/x``."""
    out: dict[str, Any] = {}
    for key, value in logs.items():
        if key.startswith("eval_"):
            out["eval/" + key[5:]] = value
        elif key.startswith("test_"):
            out["test/" + key[5:]] = value
        else:
            out["train/" + key] = value
    return out


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TRACKWELL_{name}") or os.environ.get(f"WANDB_{name}") or default


def log_model_setting() -> str:
    """``WANDB_LOG_MODEL`` as ``end``, ``checkpoint`` or ``false``; old true-ish values mean ``end``."""
    value = _env("LOG_MODEL", "false").strip().lower()
    if value in LOG_MODEL_CHOICES:
        return value
    if value in ("true", "1", "yes", "on"):
        support.warn_once(
            "hf-log-model-true",
            f"trackwell: WANDB_LOG_MODEL={value} is read as 'end' (as transformers does); "
            "set it to 'end' or 'checkpoint'",
        )
        return "end"
    if value not in ("", "0", "no", "off", "none"):
        support.warn_once(
            "hf-log-model-bad",
            f"trackwell: WANDB_LOG_MODEL={value!r} is not one of end, checkpoint, false; no model is logged",
        )
    return "false"


class TrackwellCallback(TrainerCallback):
    """A ``transformers.TrainerCallback`` that logs a ``Trainer`` to trackwell.

    Used by ``TrainingArguments(report_to="trackwell")``; pass it in
    ``Trainer(callbacks=[...])`` yourself to subclass it. A run started with
    ``trackwell.init()`` before training is used as it is; otherwise one is started.
    """

    def __init__(self) -> None:
        self._run: Any = None
        self._initialized = False
        self._log_model = log_model_setting()

    # -- set-up ---------------------------------------------------------------
    def setup(self, args: Any, state: Any, model: Any, **kwargs: Any) -> None:
        """Start (or join) the run and record the configuration; called once, lazily."""
        self._initialized = True
        if not state.is_world_process_zero:
            return
        config: dict[str, Any] = {}
        model_config = getattr(model, "config", None)
        if model_config is not None:
            config.update(model_config if isinstance(model_config, dict) else model_config.to_dict())
        peft_config = getattr(model, "peft_config", None)
        if peft_config is not None:
            config["peft_config"] = peft_config
        config.update(args.to_dict())
        run = trackwell.run
        if run is None:
            init: dict[str, Any] = {"project": _env("PROJECT", "huggingface")}
            if state.trial_name is not None:
                init["name"] = state.trial_name
                init["group"] = args.run_name or args.output_dir
            elif args.run_name is not None:
                init["name"] = args.run_name
            run = trackwell.init(**init)
        self._run = run
        run.config.update(support.clean_config(config), allow_val_change=True)
        run.define_metric("train/global_step")
        run.define_metric("*", step_metric="train/global_step", step_sync=True)
        watch = _env("WATCH", "false").strip().lower()
        if watch in WATCH_CHOICES and model is not None:
            _watch(run, model, watch, max(100, int(state.logging_steps or 0)))
        size = _num_parameters(model)
        if size is not None:
            run.config.update({"model/num_parameters": size}, allow_val_change=True)

    # -- events ---------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.is_hyper_param_search and self._initialized:
            # one run per trial, as with W&B
            if self._run is not None:
                self._run.finish()
            self._run = None
            self._initialized = False
            args.run_name = None
        if not self._initialized:
            self.setup(args, state, model, **kwargs)

    def on_log(
        self, args: Any, state: Any, control: Any, model: Any = None, logs: Any = None, **kwargs: Any
    ) -> None:
        if not self._initialized:
            self.setup(args, state, model)
        if not state.is_world_process_zero or self._run is None or not logs:
            return
        row: dict[str, Any] = {}
        for key, value in logs.items():
            if key in SINGLE_VALUE_SCALARS:
                self._run.summary[key] = value
            else:
                row[key] = value
        self._run.log({**rewrite_logs(row), "train/global_step": state.global_step})

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
        if not self._initialized:
            self.setup(args, state, kwargs.get("model"))
        if state.is_world_process_zero and self._run is not None and metrics:
            self._run.log(rewrite_logs(dict(metrics)))

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._log_model != "checkpoint" or self._run is None or not state.is_world_process_zero:
            return
        metadata = self._numeric_summary()
        metadata["model/num_parameters"] = self._run.config.get("model/num_parameters")
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        support.log_model_artifact(
            self._run,
            self._model_name(args),
            directory=checkpoint,
            aliases=[f"epoch_{round(state.epoch or 0, 2)}", f"checkpoint_global_step_{state.global_step}"],
            metadata=metadata,
        )

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        # transformers logs the final model for "checkpoint" as well as for "end"
        if self._log_model == "false" or self._run is None or not state.is_world_process_zero:
            return
        if args.load_best_model_at_end:
            metadata: dict[str, Any] = {
                f"eval/{args.metric_for_best_model}": state.best_metric,
                "train/total_floss": state.total_flos,
                "model/num_parameters": self._run.config.get("model/num_parameters"),
            }
        else:
            metadata = self._numeric_summary()
        metadata["final_model"] = True
        with tempfile.TemporaryDirectory() as tmp:
            _save_model(model, tmp, kwargs.get("processing_class") or kwargs.get("tokenizer"))
            support.log_model_artifact(
                self._run, self._model_name(args), directory=tmp, aliases=["final_model"], metadata=metadata
            )

    # -- helpers ----------------------------------------------------------------
    def _model_name(self, args: Any) -> str:
        if args.run_name is None or args.run_name == args.output_dir:
            return f"model-{self._run.id}"
        return f"model-{self._run.name}"

    def _numeric_summary(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in dict(self._run.summary).items()
            if isinstance(v, numbers.Number) and not k.startswith("_")
        }


def _watch(run: Any, model: Any, log: str, log_freq: int) -> None:
    """``run.watch`` as ``WANDB_WATCH`` asks; without trackwell-torch, one warning and training goes on."""
    try:
        run.watch(model, log=log, log_freq=log_freq)
    except ModuleNotFoundError as exc:
        support.warn_once(
            "hf-watch",
            f"trackwell: WANDB_WATCH={log} needs trackwell-torch ({exc}); install it from the trackwell "
            "repository: pip install -e integrations/torch. "
            "Gradients and parameters are not logged; everything else is.",
        )


def _num_parameters(model: Any) -> int | None:
    if model is None:
        return None
    count = getattr(model, "num_parameters", None)
    if callable(count):
        try:
            return int(count())
        except Exception:
            pass
    parameters = getattr(model, "parameters", None)
    if callable(parameters):
        return sum(int(p.numel()) for p in parameters())
    return None


def _save_model(model: Any, directory: str, processing_class: Any = None) -> None:
    """Save what ``Trainer.save_model`` saves: the model and its tokenizer/processor, if any."""
    save_pretrained = getattr(model, "save_pretrained", None)
    if callable(save_pretrained):
        save_pretrained(directory)
    else:
        import torch

        torch.save(model.state_dict(), os.path.join(directory, "pytorch_model.bin"))
    save_processor = getattr(processing_class, "save_pretrained", None)
    if callable(save_processor):
        save_processor(directory)
