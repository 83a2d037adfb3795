"""Keras 3 with trackwell: the W&B callbacks under ``import trackwell as wandb``.

    KERAS_BACKEND=torch python examples/keras_example.py [--dir DIR]

Trains a tiny classifier on synthetic data on the CPU with the metrics logger (every
batch), the model checkpoint and W&B's older all-in-one callback.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

import trackwell as wandb
from trackwell.integration.keras import WandbMetricsLogger, WandbModelCheckpoint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=".")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    os.chdir(args.dir)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("int64")

    config = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "epochs": args.epochs}
    run = wandb.init(project="keras-demo", config=config)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=run.config["optimizer"],
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        x,
        y,
        epochs=run.config["epochs"],
        batch_size=16,
        validation_split=0.25,
        verbose=0,
        callbacks=[
            WandbMetricsLogger(log_freq="batch"),
            WandbModelCheckpoint("models/model-{epoch:02d}.keras", monitor="val_loss"),
        ],
    )
    run.finish()


if __name__ == "__main__":
    main()
