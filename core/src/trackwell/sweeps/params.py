"""A searched parameter and its distribution: what each of W&B's distributions means.

Values are sampled here (``Param.sample``) and listed for the grid here
(``Param.grid_values``), so the random method, the grid and the Bayesian method agree
on what each distribution means; ``config.py`` parses a configuration into these.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

#: Every distribution W&B documents, with the keys each one accepts.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "categorical": ("values", "probabilities"),
    "int_uniform": ("min", "max"),
    "uniform": ("min", "max"),
    "q_uniform": ("min", "max", "q"),
    "log_uniform": ("min", "max"),
    "log_uniform_values": ("min", "max"),
    "q_log_uniform": ("min", "max", "q"),
    "q_log_uniform_values": ("min", "max", "q"),
    "inv_log_uniform": ("min", "max"),
    "inv_log_uniform_values": ("min", "max"),
    "normal": ("mu", "sigma"),
    "q_normal": ("mu", "sigma", "q"),
    "log_normal": ("mu", "sigma"),
    "q_log_normal": ("mu", "sigma", "q"),
    "beta": ("a", "b"),
    "q_beta": ("a", "b", "q"),
}
#: Distributions that need ``min`` and ``max``.
BOUNDED = frozenset(d for d, keys in DISTRIBUTIONS.items() if "min" in keys)
#: Distributions whose values the grid can list.
GRID_DISCRETE = frozenset({"constant", "categorical", "int_uniform", "q_uniform"})


def _quantize(x: float, q: float) -> float:
    return round(x / q) * q


@dataclass(frozen=True)
class Param:
    """One searched parameter: its dotted name (``optimizer.lr`` for nested ones) and distribution."""

    name: str
    distribution: str
    value: Any = None
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] | None = None
    min: float = 0.0
    max: float = 1.0
    mu: float = 0.0
    sigma: float = 1.0
    q: float = 1.0
    a: float = 1.0
    b: float = 1.0
    is_int: bool = False  # min/max (and q) were ints: the sampled value is an int too

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def sample(self, rng: random.Random) -> Any:
        """One draw from the distribution, with ``rng`` (seeded by the caller for repeatability)."""
        d = self.distribution
        if d == "constant":
            return self.value
        if d == "categorical":
            if self.probabilities is None:
                return self.values[rng.randrange(len(self.values))]
            return rng.choices(self.values, weights=self.probabilities)[0]
        if d == "int_uniform":
            return rng.randint(int(self.min), int(self.max))
        if d in ("uniform", "q_uniform"):
            x = rng.uniform(self.min, self.max)
        elif d in ("log_uniform", "q_log_uniform"):
            x = math.exp(rng.uniform(self.min, self.max))
        elif d in ("log_uniform_values", "q_log_uniform_values"):
            x = math.exp(rng.uniform(math.log(self.min), math.log(self.max)))
        elif d == "inv_log_uniform":
            x = math.exp(-rng.uniform(self.min, self.max))
        elif d == "inv_log_uniform_values":
            x = 1.0 / math.exp(rng.uniform(math.log(1.0 / self.max), math.log(1.0 / self.min)))
        elif d in ("normal", "q_normal"):
            x = rng.gauss(self.mu, self.sigma)
        elif d in ("log_normal", "q_log_normal"):
            x = math.exp(rng.gauss(self.mu, self.sigma))
        else:  # beta, q_beta
            x = rng.betavariate(self.a, self.b)
        return self.finish(x)

    def finish(self, x: float) -> Any:
        """Quantize (``q_*``) and make ints of what should be ints."""
        if self.distribution.startswith("q_"):
            x = _quantize(x, self.q)
            if self.is_int:
                return round(x)
            return round(x, 12)  # 0.30000000000000004 -> 0.3
        if self.distribution == "int_uniform":
            return round(x)
        return x

    def grid_values(self) -> list[Any] | None:
        """Every value a grid search tries, or None for a continuous distribution."""
        d = self.distribution
        if d == "constant":
            return [self.value]
        if d == "categorical":
            return list(self.values)
        if d == "int_uniform":
            return list(range(int(self.min), int(self.max) + 1))
        if d == "q_uniform":
            lo, hi = math.ceil(self.min / self.q - 1e-9), math.floor(self.max / self.q + 1e-9)
            return [self.finish(k * self.q) for k in range(lo, hi + 1)]
        return None
