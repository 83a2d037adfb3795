"""Per-step overhead of the framework integrations: a tiny model, with and without trackwell.

usage: python benchmarks/integrations.py [--steps N] [--trials N] [--only lightning,transformers,keras]

Each measurement is a fresh interpreter that trains a tiny model on synthetic data on
the CPU (torch on one thread) and times its training steps with a framework callback
(between consecutive step-end hooks, after a warm-up), so start-up, imports and
``init()`` are left out: what remains is what the integration adds to every step.
Two clocks: the training thread's CPU time (what the integration costs the loop; it
barely moves when other processes load the machine) and wall time. Each variant runs
``--trials`` times, interleaved, and the median is reported. Logging is at every step
(the worst case; Lightning's default logs every 50th). Runs are offline, in a
temporary directory, with the user's settings ignored. Frameworks that are not
installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WARMUP = 20

#: framework -> [(variant, description)]; the first variant of each is the baseline
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "lightning": [
        ("none", "logger=False"),
        ("csv", "Lightning's CSVLogger"),
        ("trackwell", "TrackwellLogger, log_every_n_steps=1"),
    ],
    "transformers": [
        ("none", 'report_to="none"'),
        ("trackwell", 'report_to="trackwell", logging_steps=1'),
    ],
    "keras": [
        ("none", "no callback"),
        ("epoch", 'WandbMetricsLogger(log_freq="epoch")'),
        ("batch", 'WandbMetricsLogger(log_freq="batch")'),
    ],
}
NEEDS = {"lightning": "lightning", "transformers": "transformers", "keras": "keras"}


# -- children: one training run each, printing the mean step time as JSON ---------------


def _stamp() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def _steps_time(stamps: list[tuple[float, float]]) -> dict[str, float]:
    timed = stamps[WARMUP:]
    n = len(timed) - 1
    return {"wall": (timed[-1][0] - timed[0][0]) / n, "cpu": (timed[-1][1] - timed[0][1]) / n}


def child_lightning(variant: str, steps: int) -> dict[str, float]:
    import torch
    from lightning.pytorch import Callback, LightningModule, Trainer, seed_everything
    from torch.utils.data import DataLoader, TensorDataset

    class Net(LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train/loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    stamps: list[tuple[float, float]] = []

    class Timer(Callback):
        def on_train_batch_end(self, *args: Any) -> None:
            stamps.append(_stamp())

    seed_everything(0, verbose=False)
    data = TensorDataset(torch.randn(steps * 16, 32), torch.randn(steps * 16, 1))
    logger: Any = False
    if variant == "trackwell":
        from trackwell_lightning import TrackwellLogger

        logger = TrackwellLogger(project="bench")
    elif variant == "csv":
        from lightning.pytorch.loggers import CSVLogger

        logger = CSVLogger(".")
    trainer = Trainer(
        logger=logger, max_steps=steps, log_every_n_steps=1, accelerator="cpu", devices=1,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[Timer()],
    )  # fmt: skip
    trainer.fit(Net(), DataLoader(data, batch_size=16))
    return _steps_time(stamps)


def child_transformers(variant: str, steps: int) -> dict[str, float]:
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    if variant == "trackwell":
        import trackwell  # noqa: F401  (registers report_to="trackwell")

    stamps: list[tuple[float, float]] = []

    class Timer(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            stamps.append(_stamp())

    class Data(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __init__(self, n: int) -> None:
            self.ids = torch.randint(1, 64, (n, 12))

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict[str, Any]:
            return {"input_ids": self.ids[i], "labels": int(self.ids[i, 0] % 2)}

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=12, num_labels=2,
    )  # fmt: skip
    args = TrainingArguments(
        output_dir="out", max_steps=steps, per_device_train_batch_size=8, logging_steps=1,
        save_strategy="no", report_to="none" if variant == "none" else "trackwell",
        use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=BertForSequenceClassification(config),
        args=args,
        train_dataset=Data(steps * 8),
        callbacks=[Timer()],
    )
    trainer.train()
    return _steps_time(stamps)


def child_keras(variant: str, steps: int) -> dict[str, float]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np

    stamps: list[tuple[float, float]] = []

    class Timer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            stamps.append(_stamp())

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(steps * 16, 32)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential(
        [keras.Input((32,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callbacks: list[Any] = []
    if variant != "none":
        import trackwell
        from trackwell_keras import WandbMetricsLogger

        trackwell.init(project="bench")
        callbacks.append(WandbMetricsLogger(log_freq=variant))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Timer(), *callbacks])
    return _steps_time(stamps)


# -- the integration's own per-step code, called directly: steady figures on a busy machine ---


HOOK_CALLS = 5000


def _per_call(fn: Any) -> float:
    for i in range(200):  # warm-up
        fn(i)
    start = time.thread_time()
    for i in range(HOOK_CALLS):
        fn(i)
    return (time.thread_time() - start) / HOOK_CALLS


def hooks_lightning() -> dict[str, float]:
    import torch

    from trackwell_lightning import TrackwellLogger

    logger = TrackwellLogger(project="bench")
    metrics = {"train/loss": torch.tensor(0.5), "epoch": 0.0}
    return {
        "TrackwellLogger.log_metrics (a tensor + a float)": _per_call(
            lambda i: logger.log_metrics(metrics, i)
        )
    }


def hooks_transformers() -> dict[str, float]:
    import types

    import trackwell
    from trackwell_transformers import TrackwellCallback

    callback = TrackwellCallback()
    callback._initialized, callback._run = True, trackwell.init(project="bench")
    state = types.SimpleNamespace(is_world_process_zero=True, global_step=0)
    logs = {"loss": 0.5, "grad_norm": 0.1, "learning_rate": 1e-4, "epoch": 0.1}

    def on_log(i: int) -> None:
        state.global_step = i
        callback.on_log(None, state, None, logs=logs)

    return {"TrackwellCallback.on_log (4 values)": _per_call(on_log)}


def hooks_keras() -> dict[str, float]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    import trackwell
    from trackwell_keras import WandbMetricsLogger

    trackwell.init(project="bench")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    out = {}
    for freq in ("batch", "epoch"):
        callback = WandbMetricsLogger(log_freq=freq)
        callback.set_model(model)
        out[f'WandbMetricsLogger(log_freq="{freq}") per batch'] = _per_call(
            lambda i, cb=callback: cb.on_train_batch_end(i, {"loss": 0.5, "accuracy": 0.9})
        )
    return out


HOOKS = {"lightning": hooks_lightning, "transformers": hooks_transformers, "keras": hooks_keras}


CHILDREN = {"lightning": child_lightning, "transformers": child_transformers, "keras": child_keras}


# -- parent: run the children, print the table ---------------------------------------------


def measure(framework: str, variant: str, steps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ, TRACKWELL_SILENT="true", TRACKWELL_MODE="offline", TRACKWELL_CONFIG_DIR=tmp,
            PYTHONWARNINGS="ignore", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
        )  # fmt: skip
        proc = subprocess.run(
            [sys.executable, __file__, "--child", framework, variant, str(steps)],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{framework}/{variant} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--only", default="lightning,transformers,keras")
    parser.add_argument("--hooks-only", action="store_true", help="only the per-call figures (fast)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        framework, variant, steps = args.child
        import torch

        torch.set_num_threads(1)
        if variant == "hooks":
            print(json.dumps(HOOKS[framework]()))
        else:
            print(json.dumps(CHILDREN[framework](variant, int(steps))))
        return 0

    frameworks = [f for f in args.only.split(",") if importlib.util.find_spec(NEEDS[f]) is not None]
    print(f"the integration's own code per training step ({HOOK_CALLS} calls, training-thread CPU)")
    for framework in frameworks:
        for what, seconds in measure(framework, "hooks", 0).items():
            print(f"{framework:<13} {what:<56} {seconds * 1e6:7.1f} µs")
    if args.hooks_only:
        return 0
    print()
    print(f"per-step time of a tiny model on the CPU, {args.steps} steps, median of {args.trials} runs")
    print(
        f"{'framework':<13} {'variant':<40} {'thread CPU':>10} {'overhead':>17} {'wall':>10} {'overhead':>10}"
    )
    for framework in args.only.split(","):
        if importlib.util.find_spec(NEEDS[framework]) is None:
            print(f"{framework:<13} (not installed: skipped)")
            continue
        results: dict[str, list[dict[str, float]]] = {v: [] for v, _ in VARIANTS[framework]}
        for _ in range(args.trials):
            for variant, _ in VARIANTS[framework]:
                results[variant].append(measure(framework, variant, args.steps))
        med = {
            v: {c: statistics.median(r[c] for r in runs) for c in ("cpu", "wall")}
            for v, runs in results.items()
        }
        base = med[VARIANTS[framework][0][0]]
        for variant, description in VARIANTS[framework]:
            cpu, wall = med[variant]["cpu"], med[variant]["wall"]
            if variant == VARIANTS[framework][0][0]:
                extra_cpu = extra_wall = ""
            else:
                extra_cpu = f"{(cpu - base['cpu']) * 1e6:+7.0f} µs ({(cpu - base['cpu']) / base['cpu']:+.0%})"
                extra_wall = f"{(wall - base['wall']) * 1e6:+7.0f} µs"
            print(
                f"{framework:<13} {description:<40} {cpu * 1e3:7.3f} ms {extra_cpu:>17} "
                f"{wall * 1e3:7.3f} ms {extra_wall:>10}"
            )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
