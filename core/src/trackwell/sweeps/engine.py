"""What a sweep controller decides: the next suggestion, which runs hyperband stops, when it is done.

The same code runs on the server (its controller) and in ``trackwell.controller()``
(the local one), from the same inputs: the validated configuration and the trials so
far. Search methods come from plugins (the ``register_sweep_methods`` hook); grid,
random and bayes are the default plugins. A method is stateless: everything it
needs is in the trials, so a server with several worker processes, or a controller
restarted mid-sweep, carries on exactly where the sweep was.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from trackwell.sweeps.config import SweepConfig, parse

#: Trial states that count as over (their metric is final).
DONE_STATES = frozenset({"finished", "failed", "crashed", "killed", "stopped"})


@dataclass
class Trial:
    """One suggestion handed out: its flat parameters, state, final metric and metric history."""

    run_id: str
    params: dict[str, Any]
    state: str = "running"
    metric: float | None = None
    history: list[float] = field(default_factory=list)


class SearchMethod(Protocol):
    """What ``register_sweep_methods`` registers: ``suggest`` returns flat parameters or None."""

    def suggest(
        self, config: SweepConfig, trials: Sequence[Trial], rng: random.Random
    ) -> dict[str, Any] | None:
        """The next parameters (``{"optimizer.lr": 0.1, ...}``), or None when the space is exhausted."""
        ...


def methods() -> dict[str, SearchMethod]:
    """Every search method the installed plugins register, by name (through the registrar:
    a name registered twice is an error naming both plugins)."""
    from trackwell.plugins import get_plugin_manager
    from trackwell.plugins.registrar import SWEEP_METHODS, collect

    return collect(get_plugin_manager(), SWEEP_METHODS)


def validate(raw: Mapping[str, Any]) -> SweepConfig:
    """``parse`` with the methods the installed plugins provide."""
    return parse(raw, methods())


@dataclass
class Decision:
    """``action``: ``run`` (with ``params``), or ``done`` (with ``reason``)."""

    action: str
    params: dict[str, Any] | None = None
    reason: str = ""


def next_params(
    config: SweepConfig,
    trials: Sequence[Trial],
    method: SearchMethod | None = None,
    seed: int = 0,
) -> Decision:
    """The next suggestion, or why the sweep is done (run_cap, target reached, grid exhausted)."""
    if config.run_cap is not None and len(trials) >= config.run_cap:
        return Decision("done", reason=f"run_cap {config.run_cap} reached")
    if config.target is not None:
        for t in trials:
            if t.metric is not None and config.sign * (t.metric - config.target) <= 0:
                return Decision("done", reason=f"run {t.run_id} reached the target {config.target}")
    if method is None:
        method = methods()[config.method]
    # Seeded by the sweep and the trial count: a restarted controller suggests the same.
    rng = random.Random(seed * 1_000_003 + len(trials))
    params = method.suggest(config, trials, rng)
    if params is None:
        return Decision("done", reason=f"the {config.method} search space is exhausted")
    return Decision("run", params=params)


def hyperband_brackets(et: Mapping[str, Any]) -> list[int]:
    """The iteration counts at which runs are compared (W&B's brackets), ascending.

    ``min_iter`` with ``eta``: ``min_iter * eta**k`` for k = 0..s (s defaults to 3, so
    min_iter 3 gives 3, 9, 27, 81); ``max_iter`` with ``s``: ``max_iter / eta**k`` for
    k = 1..s (max_iter 27, s 2: 9, 3).
    """
    eta = int(et.get("eta", 3))
    if "max_iter" in et:
        out, band = [], float(et["max_iter"])
        for _ in range(int(et["s"])):
            band /= eta
            if band < 1:
                break
            out.append(int(band))
        return sorted(set(out))
    return [int(et["min_iter"]) * eta**k for k in range(int(et.get("s", 3)) + 1)]


def hyperband_stops(config: SweepConfig, trials: Sequence[Trial]) -> list[str]:
    """The running trials to stop: at each bracket a run must be in the best 1/eta of
    every run's value at that bracket (``history[:bracket]``'s best, or in strict mode
    the value at the bracket itself), or it is stopped."""
    et = config.early_terminate
    if not et:
        return []
    eta, strict, sign = int(et.get("eta", 3)), bool(et.get("strict")), config.sign
    brackets = hyperband_brackets(et)

    def value_at(t: Trial, band: int) -> float | None:
        if len(t.history) < band:
            return None
        seen = t.history[:band]
        return sign * seen[-1] if strict else min(sign * v for v in seen)

    stop: list[str] = []
    for band in brackets:
        scored = [(t, v) for t in trials if (v := value_at(t, band)) is not None]
        if len(scored) < 2:
            continue
        values = sorted(v for _, v in scored)
        keep = max(1, int(len(values) / eta))
        threshold = values[keep - 1]
        for t, v in scored:
            if t.state == "running" and v > threshold and t.run_id not in stop:
                stop.append(t.run_id)
    return stop
