"""Sweeps benchmark: how fast bayes suggests, and how good its suggestions are.

Speed: seconds per ``bayes`` suggestion once a sweep has 50 and 200 finished runs
(6 parameters; a suggestion fits scikit-learn's GP and maximises EI), both while a
sweep continues (the fit starts from the previous one's hyperparameters) and for a
first fit in the process (a restarted controller). Quality: the
mean best regret (best value found minus the true minimum) after N trials on Branin
(2-D) and Hartmann-6, for random, bayes and, when trackwell-optuna is installed,
optuna, over several seeds. Targets: a suggestion in ≤ 0.25 s at 50 runs and ≤ 2 s
at 200 (an agent waits for it between trials); bayes's regret ≤ random's.
Runs in this process: the methods are the engine's, called as the server calls them.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from report import Check

BRANIN_MIN = 0.397887
HARTMANN6_MIN = -3.32237
_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
_ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(p: dict[str, float]) -> float:
    x, y = p["x"], p["y"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def hartmann6(p: dict[str, float]) -> float:
    xs = [p[f"x{i}"] for i in range(6)]
    return -sum(
        _ALPHA[i] * math.exp(-sum(_A[i][j] * (xs[j] - _P[i][j]) ** 2 for j in range(6))) for i in range(4)
    )


FUNCTIONS: dict[str, tuple[dict[str, Any], Callable[[dict[str, float]], float], float]] = {
    "Branin": ({"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}}, branin, BRANIN_MIN),
    "Hartmann-6": ({f"x{i}": {"min": 0.0, "max": 1.0} for i in range(6)}, hartmann6, HARTMANN6_MIN),
}


@dataclass(frozen=True)
class SweepsPlan:
    trials: int  # trials per search
    seeds: int  # searches per method and function
    timed: int  # suggestions timed at each observation count


FULL = SweepsPlan(trials=30, seeds=5, timed=5)
QUICK = SweepsPlan(trials=15, seeds=2, timed=1)


def _validate(method: str, space: dict[str, Any]) -> Any:
    from trackwell.sweeps.engine import validate

    return validate({"method": method, "metric": {"name": "f", "goal": "minimize"}, "parameters": space})


def seconds_per_suggestion(observed: int, timed: int, warm: bool) -> float:
    """The median time of ``timed`` bayes suggestions on Hartmann-6 with ``observed`` finished runs.

    ``warm``: the sweep continues (each timed suggestion follows one on the same runs but
    the last, so its GP fit starts from that fit's hyperparameters, as in a running
    sweep); cold: every timed suggestion is on a fresh set of runs (a first fit, as after
    a controller restart).
    """
    from trackwell.sweeps.engine import Trial, next_params

    space, f, _ = FUNCTIONS["Hartmann-6"]
    cfg = _validate("bayes", space)

    def runs(seed: int, n: int) -> list[Trial]:
        rng = random.Random(seed)
        out = []
        for i in range(n):
            params = {p.name: p.sample(rng) for p in cfg.params}
            out.append(Trial(str(i), params, "finished", f(params)))
        return out

    next_params(cfg, runs(99, 5), seed=0)  # imports numpy/scipy/scikit-learn outside the timing
    times = []
    for k in range(timed):
        trials = runs(0 if warm else 100 + k, observed)
        if warm:
            next_params(cfg, trials[:-1], seed=k)
        t0 = time.perf_counter()
        next_params(cfg, trials, seed=k)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def mean_regret(method: str, name: str, plan: SweepsPlan) -> float:
    """Best value found minus the minimum after ``plan.trials`` trials, averaged over seeds."""
    from trackwell.sweeps.engine import Trial, next_params

    space, f, fmin = FUNCTIONS[name]
    cfg = _validate(method, space)
    regrets = []
    for seed in range(plan.seeds):
        trials: list[Trial] = []
        for i in range(plan.trials):
            d = next_params(cfg, trials, seed=seed)
            assert d.params is not None
            trials.append(Trial(str(i), d.params, "finished", f(d.params)))
        regrets.append(min(t.metric for t in trials if t.metric is not None) - fmin)
    return statistics.mean(regrets)


def bench_sweeps(plan: SweepsPlan, raw: dict[str, Any]) -> list[Check]:
    from trackwell.sweeps.engine import methods

    checks = []
    out: dict[str, Any] = {"seconds_per_suggestion": {}, "regret": {}}
    for observed, limit in ((50, 0.25), (200, 2.0)):
        for warm in (True, False):
            s = seconds_per_suggestion(observed, plan.timed, warm)
            how = "sweep continuing" if warm else "first fit"
            out["seconds_per_suggestion"][f"{observed} {'warm' if warm else 'cold'}"] = s
            checks.append(Check(f"sweeps: bayes suggestion after {observed} runs (6 params, {how})", s, "s",
                                limit=limit, detail=f"{1 / s:.1f}/s, median of {plan.timed}"))  # fmt: skip
    compared = [m for m in ("random", "bayes", "optuna") if m in methods()]
    for name in FUNCTIONS:
        regret = {m: mean_regret(m, name, plan) for m in compared}
        out["regret"][name] = regret
        for m in compared:
            checks.append(Check(
                f"sweeps: {name} regret after {plan.trials} trials, {m}", regret[m], "",
                limit=regret["random"] if m == "bayes" else None,
                measured=f"{regret[m]:.3f}", target=f"≤ {regret['random']:.3f}" if m == "bayes" else "info",
                detail=f"mean of {plan.seeds} seeds" if m == "random" else "",
            ))  # fmt: skip
    raw["sweeps"] = out
    return checks
