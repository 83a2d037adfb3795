"""Hugging Face transformers with trackwell: the W&B snippet with report_to="trackwell".

    python examples/transformers_example.py [--dir DIR] [--report-to NAME]

Builds a 2-layer BERT-style classifier from a config (nothing is downloaded), trains
it for one epoch on synthetic token sequences on the CPU, then evaluates it.
"""

from __future__ import annotations

import argparse
import os

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

import trackwell  # registers report_to="trackwell" with transformers

VOCAB, LENGTH = 64, 12


class SyntheticPairs(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Label 1 when the sequence holds more even than odd token ids."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, VOCAB, (n, LENGTH), generator=g)
        self.labels = ((self.ids % 2 == 0).sum(dim=1) > LENGTH // 2).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.ids[i],
            "attention_mask": torch.ones(LENGTH, dtype=torch.long),
            "labels": self.labels[i],
        }


def tiny_bert() -> BertForSequenceClassification:
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=LENGTH,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=".")
    parser.add_argument("--report-to", default="trackwell")
    parser.add_argument("--epochs", type=float, default=1)
    args = parser.parse_args()
    os.chdir(args.dir)
    torch.manual_seed(0)
    train_dataset, eval_dataset = SyntheticPairs(64, seed=1), SyntheticPairs(16, seed=2)

    # As in the W&B guide, with a model built from a config instead of downloaded.
    training_args = TrainingArguments(
        output_dir="./outputs",
        per_device_train_batch_size=16,
        per_device_eval_batch_size=16,
        num_train_epochs=args.epochs,
        eval_strategy="epoch",
        logging_strategy="steps",
        logging_steps=1,
        save_strategy="no",
        run_name="tiny-bert",
        report_to=args.report_to,
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=tiny_bert(),
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
    )
    trainer.train()
    print(trainer.evaluate())
    trackwell.finish()


if __name__ == "__main__":
    main()
