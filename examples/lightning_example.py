"""Lightning with trackwell: the W&B snippet, with trackwell's logger in place of Lightning's.

    python examples/lightning_example.py [--ddp] [--epochs N] [--dir DIR]

Trains a tiny regression model on synthetic data on the CPU; ``--ddp`` uses two
processes (gloo) and still logs one run.
"""

from __future__ import annotations

import argparse

import torch
from lightning.pytorch import LightningModule, Trainer, seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from trackwell_lightning import WandbLogger  # was: from lightning.pytorch.loggers import WandbLogger


class TinyRegressor(LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loaders(n: int = 64, batch_size: int = 8) -> tuple[DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=g)
    split = n * 3 // 4
    train = DataLoader(TensorDataset(x[:split], y[:split]), batch_size=batch_size)
    val = DataLoader(TensorDataset(x[split:], y[split:]), batch_size=batch_size)
    return train, val


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ddp", action="store_true")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()
    seed_everything(0, verbose=False)
    model = TinyRegressor()
    train, val = loaders()

    # As in the W&B guide: the logger, an optional watch, a checkpoint callback, a Trainer.
    wandb_logger = WandbLogger(
        project="my-project", name="experiment-1", log_model="all", save_dir=args.dir, tags=["baseline"]
    )
    checkpoint = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=2)
    trainer = Trainer(
        logger=wandb_logger,
        callbacks=[checkpoint],
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=2 if args.ddp else 1,
        strategy="ddp" if args.ddp else "auto",
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, train, val)
    if trainer.global_rank == 0:
        print(f"best checkpoint: {checkpoint.best_model_path}")


if __name__ == "__main__":
    main()
