"""Bayesian search: a Gaussian process (scikit-learn) over the encoded space, expected improvement.

Every parameter is mapped into [0, 1] by its distribution's natural scale (log for
the log distributions, the normal CDF for normal ones), categorical ones as one-hot
columns, constants dropped; so a GP with one length scale per column sees a space
where "near" means what the distribution says. Quantized and integer parameters are
decoded (rounded) before the EI of a candidate is computed, so the search never
proposes a value the configuration forbids. Runs still in flight count as
observations of the mean ("constant liar"), so parallel agents asking at once are
steered apart. scikit-learn is imported only here, when a bayes sweep asks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

from trackwell.errors import UsageError
from trackwell.sweeps.config import Param, SweepConfig
from trackwell.sweeps.engine import Trial

_N01 = NormalDist()
_EPS = 1e-9
#: Random suggestions before the first GP: too few points make its length scales noise.
N_INITIAL = 3
#: Candidates scored by EI per suggestion: half from the prior, half around the best points.
N_CANDIDATES = 1024


def _span(p: Param) -> tuple[float, float, str]:
    """(lo, hi, scale) of the warped axis: the value's position is ``(warp(x) - lo) / (hi - lo)``."""
    d = p.distribution
    if d in ("uniform", "q_uniform", "int_uniform"):
        return p.min, p.max, "lin"
    if d in ("log_uniform", "q_log_uniform"):
        return p.min, p.max, "log"
    if d in ("log_uniform_values", "q_log_uniform_values"):
        return math.log(p.min), math.log(p.max), "log"
    if d == "inv_log_uniform":
        return p.min, p.max, "neglog"
    if d == "inv_log_uniform_values":
        return math.log(1 / p.max), math.log(1 / p.min), "neglog"
    if d in ("normal", "q_normal"):
        return 0.0, 1.0, "normal"
    if d in ("log_normal", "q_log_normal"):
        return 0.0, 1.0, "lognormal"
    return 0.0, 1.0, "lin"  # beta, q_beta: already in [0, 1]


def encode_value(p: Param, x: Any) -> list[float]:
    """The columns of value ``x`` of parameter ``p``."""
    if p.distribution == "constant":
        return []
    if p.distribution == "categorical":
        return [1.0 if v == x else 0.0 for v in p.values]
    lo, hi, scale = _span(p)
    x = float(x)
    if scale == "log":
        w = math.log(max(x, _EPS))
    elif scale == "neglog":
        w = -math.log(max(x, _EPS))
    elif scale == "normal":
        w = _N01.cdf((x - p.mu) / p.sigma)
    elif scale == "lognormal":
        w = _N01.cdf((math.log(max(x, _EPS)) - p.mu) / p.sigma)
    else:
        w = x
    return [0.5 if hi == lo else min(1.0, max(0.0, (w - lo) / (hi - lo)))]


def decode_value(p: Param, cols: Sequence[float]) -> Any:
    """The parameter value at position ``cols`` (the inverse of ``encode_value``, then quantized)."""
    if p.distribution == "constant":
        return p.value
    if p.distribution == "categorical":
        return p.values[max(range(len(p.values)), key=lambda i: cols[i])]
    lo, hi, scale = _span(p)
    u = min(1.0, max(0.0, cols[0]))
    w = lo + u * (hi - lo)
    if scale == "log":
        x = math.exp(w)
    elif scale == "neglog":
        x = math.exp(-w)
    elif scale == "normal":
        x = p.mu + p.sigma * _N01.inv_cdf(min(1 - 1e-6, max(1e-6, w)))
    elif scale == "lognormal":
        x = math.exp(p.mu + p.sigma * _N01.inv_cdf(min(1 - 1e-6, max(1e-6, w))))
    else:
        x = w
    if p.distribution in ("uniform", "q_uniform", "int_uniform") or p.distribution.endswith(
        "log_uniform_values"
    ):
        x = min(max(x, p.min), p.max)
    return p.finish(x)


def _width(p: Param) -> int:
    return 0 if p.distribution == "constant" else len(p.values) if p.distribution == "categorical" else 1


def encode(params: Sequence[Param], point: dict[str, Any]) -> list[float]:
    row: list[float] = []
    for p in params:
        row.extend(encode_value(p, point[p.name]))
    return row


def decode(params: Sequence[Param], row: Sequence[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    i = 0
    for p in params:
        w = _width(p)
        out[p.name] = decode_value(p, row[i : i + w])
        i += w
    return out


class BayesSearch:
    """The ``bayes`` method: GP + expected improvement (``xi`` is EI's exploration margin)."""

    def __init__(self, n_candidates: int = N_CANDIDATES, xi: float = 0.01) -> None:
        self.n_candidates = n_candidates
        self.xi = xi

    def suggest(
        self, config: SweepConfig, trials: Sequence[Trial], rng: random.Random
    ) -> dict[str, Any] | None:
        params = config.params
        usable = [t for t in trials if all(p.name in t.params for p in params)]
        done = [t for t in usable if t.metric is not None and math.isfinite(t.metric)]
        if len(done) < N_INITIAL or not any(_width(p) for p in params):
            return {p.name: p.sample(rng) for p in params}
        try:
            import numpy as np
            from sklearn.gaussian_process import GaussianProcessRegressor  # type: ignore[import-untyped]
            from sklearn.gaussian_process.kernels import (  # type: ignore[import-untyped]
                ConstantKernel,
                Matern,
                WhiteKernel,
            )
        except ImportError as exc:
            raise UsageError(
                f"the bayes sweep method needs scikit-learn: pip install 'trackwell[sweeps]' ({exc})"
            ) from None
        x = np.array([encode(params, t.params) for t in done], dtype=float)
        y = np.array([config.sign * float(t.metric) for t in done])  # type: ignore[arg-type]
        pending = [t for t in usable if t.metric is None and t.state == "running"]
        if pending:  # constant liar: in-flight points look average, so EI looks elsewhere
            x = np.vstack([x, np.array([encode(params, t.params) for t in pending], dtype=float)])
            y = np.concatenate([y, np.full(len(pending), float(np.mean(y)))])
        dims = x.shape[1]
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(dims, 0.5), length_scale_bounds=(1e-2, 1e1), nu=2.5
        ) + WhiteKernel(1e-4, (1e-8, 1e-1))
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=rng.randrange(2**31))
        gp.fit(x, y)
        cands = self._candidates(params, x[: len(done)], y[: len(done)], rng, np)
        mu, sd = gp.predict(cands, return_std=True)
        best = float(np.min(y[: len(done)]))
        ei = _expected_improvement(mu, sd, best, self.xi * float(np.std(y) or 1.0), np)
        return decode(params, cands[int(np.argmax(ei))].tolist())

    def _candidates(self, params: Sequence[Param], x: Any, y: Any, rng: random.Random, np: Any) -> Any:
        """Prior draws and perturbations of the best points, decoded and re-encoded (so legal)."""
        half = self.n_candidates // 2
        rows = [encode(params, {p.name: p.sample(rng) for p in params}) for _ in range(half)]
        order = np.argsort(y)[: max(1, min(5, len(y)))]
        nrng = np.random.default_rng(rng.randrange(2**31))
        centers = x[nrng.choice(order, size=self.n_candidates - half)]
        scale = nrng.choice([0.02, 0.08, 0.2], size=(len(centers), 1))
        local = np.clip(centers + nrng.normal(size=centers.shape) * scale, 0.0, 1.0)
        rows.extend(encode(params, decode(params, r.tolist())) for r in local)
        return np.array(rows, dtype=float)


def _expected_improvement(mu: Any, sd: Any, best: float, xi: float, np: Any) -> Any:
    sd = np.maximum(sd, 1e-12)
    imp = best - mu - xi
    z = imp / sd
    from scipy.special import ndtr  # type: ignore[import-untyped]  # scikit-learn's dependency

    return imp * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
