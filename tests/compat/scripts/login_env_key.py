"""handbook.md "The Setup": read the API key from the environment and wandb.login with
it (never hard-coded), then start a run that uses that login."""

from __future__ import annotations

import json
import os

import trackwell as wandb


def login_to_wandb() -> None:
    api_key: str | None = os.getenv("WANDB_API_KEY")
    if not api_key:
        raise RuntimeError("WANDB_API_KEY is not set in the environment.")

    # Read the key from the environment instead of hardcoding secrets in source.
    wandb.login(key=api_key, relogin=True)


if __name__ == "__main__":
    login_to_wandb()
    os.environ.pop("WANDB_API_KEY")  # the run must use the stored login
    run = wandb.init(project="cfm-login")
    run.log({"ok": 1})
    run.finish()
    print(json.dumps({"run": f"{run.project}/{run.id}", "summary": {"ok": 1}}))
