"""``trackwell demo``: a short synthetic training run that shows what gets tracked.

It ends in the dashboard: an online run's page on the configured server, or, for an
offline run, ``trackwell ui`` over the demo's run directories (serving until Ctrl-C).
In the server's distribution with ``trackwell ui``, which it ends in.
"""

from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import click

from trackwell.extend import run_directory
from trackwell_server.commands.ui import ui_command


def train(steps: int, epochs: int, project: str, root: str | None, seed: int) -> tuple[str, str | None, bool]:
    """Train nothing, realistically: noisy decaying loss, rising accuracy, epoch evals.

    Returns the run directory, for an online run its page on the server, and whether
    the run's own end lines (which name both) were printed.
    """
    import trackwell

    rng = random.Random(seed)
    config: dict[str, Any] = {
        "lr": 3e-4, "batch_size": 64, "epochs": epochs, "optimizer": "adamw", "seed": seed,
    }  # fmt: skip
    with trackwell.init(project=project, dir=root, config=config, job_type="demo", tags=["demo"]) as run:
        run.define_metric("train/loss", summary="min")
        run.define_metric("train/acc", summary="max")
        run.define_metric("epoch")
        run.define_metric("val/*", step_metric="epoch")
        run.define_metric("val/loss", step_metric="epoch", summary="min,last", goal="minimize")
        per_epoch = max(1, steps // epochs)
        best = math.inf
        for step in range(steps):
            progress = step / max(1, steps - 1)
            loss = 2.3 * math.exp(-4 * progress) + 0.1 + rng.gauss(0, 0.05)
            acc = 1 - math.exp(-5 * progress) * 0.9 + rng.gauss(0, 0.01)
            row = {"train/loss": loss, "train/acc": min(acc, 1.0), "lr": config["lr"] * (1 - progress)}
            if (step + 1) % per_epoch == 0:
                epoch = (step + 1) // per_epoch
                val = loss * 1.1 + rng.gauss(0, 0.03)
                row.update({"epoch": epoch, "val/loss": val, "val/acc": min(acc - 0.02, 1.0)})
                if val > best:
                    run.alert("val/loss went up", f"epoch {epoch}: {val:.3f} > best {best:.3f}",
                              level=trackwell.AlertLevel.WARN, wait_duration=0)  # fmt: skip
                best = min(best, val)
            run.log(row)
        run.alert("demo finished", f"best val/loss {best:.3f} after {epochs} epochs")
        run.summary["best_val_loss"] = best
        print(f"demo: trained {steps} steps over {epochs} epochs, best val loss {best:.3f}")
    # run.url: known once the sender reached the server (by finish at the latest)
    return str(run_directory(run)), run.url, not run.settings.silent


@click.command("demo")
@click.option("--steps", default=500, show_default=True, help="Training steps to simulate.")
@click.option("--epochs", default=5, show_default=True, help="Epochs (one validation each).")
@click.option("--project", default="demo", show_default=True, help="Project to log into.")
@click.option("--dir", "root", type=click.Path(file_okay=False), default=None,
              help="Where ./trackwell/ goes (default: the current directory).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Random seed of the fake data.")
@click.option(
    "--serve/--no-serve",
    default=None,
    help="End by serving an offline demo's runs in the dashboard until Ctrl-C (default: when "
    "run from a terminal and TRACKWELL_DEMO_SERVE is not 0).",
)
@click.pass_context
def demo_command(ctx: click.Context, steps: int, epochs: int, project: str, root: str | None, seed: int,
                 serve: bool | None) -> None:  # fmt: skip
    """Log a short synthetic training run, then show it in the dashboard.

    Exercises config, per-step metrics, define_metric summaries and custom
    x-axes, alerts and the terminal summary. Online, it prints the run's page on
    the server; offline, it serves the demo's runs with `trackwell ui` and prints
    the URL. Read it back with `trackwell runs` or `trackwell.Api()`.
    """
    if steps < 1 or epochs < 1:
        raise click.BadParameter("--steps and --epochs must be at least 1")
    run_dir, url, shown = train(steps, max(1, min(epochs, steps)), project, root, seed)
    if not shown:  # else the run's own end lines gave its directory and page: not twice
        click.echo(f"Run data: {run_dir}")
        if url is not None:
            click.echo(f"Dashboard: {url}")
    click.echo("Next: `trackwell runs` lists it; trackwell.Api().runs('demo') reads it back.")
    if url is not None:
        return
    runs_root = Path(run_dir).parent  # the trackwell/ folder: every demo run so far
    if serve is None:
        serve = (
            sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TRACKWELL_DEMO_SERVE") != "0"
        )
    if not serve:
        click.echo(f"Dashboard: trackwell ui {runs_root}")
    else:
        click.echo()
        ctx.invoke(ui_command, directory=runs_root)
