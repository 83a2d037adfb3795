"""The ``register_sweep_methods`` hook: ``method: optuna`` runs Optuna's TPE sampler.

A sweep method is stateless (the controller, on the server or local, hands it every
trial so far on each call), so each suggestion builds a fresh in-memory Optuna study,
replays the trials into it (finished ones with their metric, failed ones as failed,
running ones as running, which TPE's ``constant_liar`` steers away from) and asks it
for one trial. Replaying a few hundred trials takes milliseconds; in exchange a
restarted controller, or a server with several workers, carries on exactly.

Parameters map to Optuna's distributions: ``int_uniform`` to an int range,
categorical values to the index of the value (so lists and dicts work as values), the
uniform ones to float ranges (log-scaled for the log ones), normal and log-normal
ones to their CDF position in [0, 1], beta to [0, 1]; values come back through
``Param.finish`` (quantization, integers), so a suggestion always is a value the
configuration allows.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import trackwell

if TYPE_CHECKING:
    from trackwell.extend import Param, SearchMethod, SweepConfig, Trial

#: Random trials before TPE models anything (Optuna's default is 10; sweeps are short).
N_STARTUP_TRIALS = 5


_N01 = NormalDist()
_TINY = 1e-6


def _range(p: Param) -> tuple[float, float, bool]:
    """(low, high, log) of the float Optuna searches for ``p``; normal ones search their CDF."""
    d = p.distribution
    if d in ("log_uniform", "q_log_uniform"):
        return math.exp(p.min), math.exp(p.max), True
    if d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        return p.min, p.max, True
    if d == "inv_log_uniform":
        return math.exp(-p.max), math.exp(-p.min), True
    if d in ("uniform", "q_uniform"):
        return p.min, p.max, False
    return 0.0, 1.0, False  # normal, log_normal (as CDF positions), beta


def _distribution(p: Param) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if p.distribution == "categorical":
        return CategoricalDistribution(list(range(len(p.values))))
    if p.distribution == "int_uniform":
        return IntDistribution(int(p.min), int(p.max))
    low, high, log = _range(p)
    return FloatDistribution(low, high, log=log)


def _to_optuna(p: Param, value: Any) -> Any:
    """A trial's value as the point Optuna searches (clipped into the range)."""
    if p.distribution == "categorical":
        return next((i for i, v in enumerate(p.values) if v == value), 0)
    if p.distribution == "int_uniform":
        return min(max(int(value), int(p.min)), int(p.max))
    x = float(value)
    if p.distribution in ("normal", "q_normal"):
        x = _N01.cdf((x - p.mu) / p.sigma)
    elif p.distribution in ("log_normal", "q_log_normal"):
        x = _N01.cdf((math.log(max(x, 1e-300)) - p.mu) / p.sigma)
    low, high, _ = _range(p)
    return min(max(x, low), high)


def _from_optuna(p: Param, value: Any) -> Any:
    """Optuna's point as the parameter's value, quantized and rounded by ``Param.finish``."""
    if p.distribution == "categorical":
        return p.values[int(value)]
    if p.distribution == "int_uniform":
        return int(value)
    x = float(value)
    if p.distribution in ("normal", "q_normal"):
        x = p.mu + p.sigma * _N01.inv_cdf(min(max(x, _TINY), 1 - _TINY))
    elif p.distribution in ("log_normal", "q_log_normal"):
        x = math.exp(p.mu + p.sigma * _N01.inv_cdf(min(max(x, _TINY), 1 - _TINY)))
    return p.finish(x)


class OptunaSearch:
    """Optuna's TPE sampler behind trackwell's ``suggest(config, trials, rng)``."""

    def __init__(self, n_startup_trials: int = N_STARTUP_TRIALS) -> None:
        self.n_startup_trials = n_startup_trials

    def suggest(
        self, config: SweepConfig, trials: Sequence[Trial], rng: random.Random
    ) -> dict[str, Any] | None:
        import optuna
        from optuna.trial import TrialState, create_trial

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        searched = [p for p in config.params if p.distribution != "constant"]
        dists = {p.name: _distribution(p) for p in searched}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=rng.randrange(2**31), n_startup_trials=self.n_startup_trials, constant_liar=True
            )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        replay = []
        for t in trials:
            if not all(p.name in t.params for p in searched):
                continue  # a trial of an older configuration
            params = {p.name: _to_optuna(p, t.params[p.name]) for p in searched}
            if t.metric is not None and math.isfinite(t.metric):
                state, value = TrialState.COMPLETE, config.sign * float(t.metric)
            elif t.state == "running":
                state, value = TrialState.RUNNING, None
            else:
                state, value = TrialState.FAIL, None
            replay.append(create_trial(params=params, distributions=dists, value=value, state=state))
        study.add_trials(replay)
        asked = study.ask(dists)
        out = {p.name: p.value for p in config.params if p.distribution == "constant"}
        out.update({p.name: _from_optuna(p, asked.params[p.name]) for p in searched})
        return {p.name: out[p.name] for p in config.params}


@trackwell.hookimpl
def register_sweep_methods(register: Callable[[str, SearchMethod], None]) -> None:
    register("optuna", OptunaSearch())
