"""Bayesian search: a Gaussian process (scikit-learn) over the encoded space, expected improvement.

Every parameter is mapped into [0, 1] by its distribution's natural scale (log for
the log distributions, the normal CDF for normal ones), categorical ones as one-hot
columns, constants dropped; so a GP with one length scale per column sees a space
where "near" means what the distribution says. Quantized and integer parameters are
decoded (rounded) before the EI of a candidate is computed, so the search never
proposes a value the configuration forbids. Runs still in flight count as
observations of the mean ("constant liar"), so parallel agents asking at once are
steered apart.

The GP is scikit-learn's ``GaussianProcessRegressor``: a constant times a Matern 5/2
kernel with a length scale per column, plus a white-noise kernel, on normalized
targets, every hyperparameter bounded (positions are in [0, 1], targets have unit
variance, so the bounds are sensible for any sweep). Its hyperparameters are fitted
by one L-BFGS-B run with a capped number of iterations, started from the previous
fit's when the same sweep asks again (the fit then takes a few steps, not dozens),
with BLAS on one thread: at sweep sizes (10-500 points) threads only fight each other.
Expected improvement is maximised over random candidates (half from the prior, half
around the best points), the best few then polished by L-BFGS-B. numpy, scipy and
scikit-learn are imported only here, when a bayes sweep asks.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
from collections.abc import Iterator, Sequence
from statistics import NormalDist
from typing import Any

from trackwell.errors import UsageError
from trackwell.sweeps.config import SweepConfig
from trackwell.sweeps.engine import Trial
from trackwell.sweeps.params import Param

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
    """The ``bayes`` method: GP + expected improvement (``xi`` is EI's exploration margin).

    ``max_iter`` caps the L-BFGS-B iterations of a hyperparameter fit (a cold one; a
    warm-started one converges in a few), ``n_polish`` is how many of the best
    candidates are polished by L-BFGS-B on the EI.
    """

    def __init__(
        self, n_candidates: int = N_CANDIDATES, xi: float = 0.01, max_iter: int = 40, n_polish: int = 2
    ) -> None:
        self.n_candidates = n_candidates
        self.xi = xi
        self.max_iter = max_iter
        self.n_polish = n_polish

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
            import sklearn.gaussian_process  # noqa: F401
        except ImportError as exc:
            raise UsageError(
                "the bayes sweep method needs numpy, scipy and scikit-learn: "
                f"pip install 'trackwell[sweeps]' ({exc})"
            ) from None
        x = np.array([encode(params, t.params) for t in done], dtype=float)
        y = np.array([config.sign * float(t.metric) for t in done])  # type: ignore[arg-type]
        pending = [t for t in usable if t.metric is None and t.state == "running"]
        if pending:  # constant liar: in-flight points look average, so EI looks elsewhere
            x = np.vstack([x, np.array([encode(params, t.params) for t in pending], dtype=float)])
            y = np.concatenate([y, np.full(len(pending), float(np.mean(y)))])
        key = _sweep_key(config)
        observed = _observations(x[: len(done)], y[: len(done)])
        with _one_blas_thread():
            model = _fit(x, y, _WARM.get(key, observed), self.max_iter, rng.randrange(2**31))
            _WARM.put(key, observed, model.kernel_)
            model.kernel_ = model.kernel_.k1  # the latent function's variance: noise out of EI
            best = float(np.min(y[: len(done)]))
            margin = self.xi * float(np.std(y) or 1.0)

            def ei_of(rows: Any) -> Any:
                mu, sd = model.predict(rows, return_std=True)
                return expected_improvement(mu, sd, best, margin)

            cands = self._candidates(params, x[: len(done)], y[: len(done)], rng, np)
            ei = ei_of(cands)
            top = cands[np.argsort(-ei)[: self.n_polish]]
            polished = _legal(params, np.array([_polish(ei_of, row, params) for row in top]), np)
            cands, ei = np.vstack([cands, polished]), np.concatenate([ei, ei_of(polished)])
        return decode(params, cands[int(np.argmax(ei))].tolist())

    def _candidates(self, params: Sequence[Param], x: Any, y: Any, rng: random.Random, np: Any) -> Any:
        """Uniform draws over the encoded space (every distribution's prior is uniform
        there but beta's) and perturbations of the best points, made legal (rounded, one-hot)."""
        half = self.n_candidates // 2
        nrng = np.random.default_rng(rng.randrange(2**31))
        rows = nrng.random((half, x.shape[1]))
        order = np.argsort(y)[: max(1, min(5, len(y)))]
        centers = x[nrng.choice(order, size=self.n_candidates - half)]
        scale = nrng.choice([0.02, 0.08, 0.2], size=(len(centers), 1))
        local = np.clip(centers + nrng.normal(size=centers.shape) * scale, 0.0, 1.0)
        return _legal(params, np.vstack([rows, local]), np)


#: Hyperparameter bounds, on positions in [0, 1] and targets normalized to unit variance:
#: signal variance, length scale (per column) and noise variance.
SIGNAL_BOUNDS = (0.05, 20.0)
LENGTH_BOUNDS = (0.03, 3.0)
NOISE_BOUNDS = (1e-6, 0.1)


def _fit(x: Any, y: Any, warm: Any, max_iter: int, seed: int) -> Any:
    """A ``GaussianProcessRegressor`` fitted to ``x``, ``y``, its hyperparameters started
    from kernel ``warm`` (the previous fit's ``kernel_``) when given."""
    import warnings

    from scipy.optimize import minimize
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import (
        ConstantKernel,
        Matern,
        WhiteKernel,
    )

    def lbfgs(obj: Any, theta: Any, bounds: Any) -> tuple[Any, float]:
        """scikit-learn's own ``fmin_l_bfgs_b`` optimizer, with its iterations capped."""
        limit = {"maxiter": max_iter}
        found = minimize(obj, theta, jac=True, method="L-BFGS-B", bounds=bounds, options=limit)
        if not math.isfinite(found.fun):  # every step failed (a singular kernel): keep the start
            return theta, float(obj(theta, eval_gradient=False))
        return found.x, float(found.fun)

    if warm is None:
        warm = ConstantKernel(1.0, SIGNAL_BOUNDS) * Matern(
            [0.3] * x.shape[1], LENGTH_BOUNDS, nu=2.5
        ) + WhiteKernel(1e-3, NOISE_BOUNDS)
    gp = GaussianProcessRegressor(
        kernel=warm, normalize_y=True, optimizer=lbfgs, n_restarts_optimizer=0, random_state=seed
    )
    with warnings.catch_warnings():
        # a hyperparameter at its bound is expected with few points (a flat or a rough axis)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gp.fit(x, y)


def _polish(ei_of: Any, row: Any, params: Sequence[Param]) -> Any:
    """``row`` moved uphill on the EI by L-BFGS-B over its numeric columns (categorical
    ones stay), with forward-difference gradients computed in one prediction per step."""
    import numpy as np
    from scipy.optimize import minimize

    free, i = [], 0
    for p in params:
        w = _width(p)
        if w == 1:
            free.append(i)
        i += w
    if not free:
        return row
    h = 1e-4
    steps = np.vstack([np.zeros(len(row)), np.eye(len(row))[free] * h])
    scale = float(ei_of(row[None, :])[0]) or 1.0  # EI can be ~1e-9: keep the objective near 1

    def neg_ei(z: Any) -> tuple[float, Any]:
        base = row.copy()
        base[free] = z
        ei = ei_of(base + steps) / scale
        return -float(ei[0]), -(ei[1:] - ei[0]) / h

    found = minimize(neg_ei, row[free], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(free),
                     options={"maxiter": 10})  # fmt: skip
    out = row.copy()
    out[free] = found.x
    return out


def _sweep_key(config: SweepConfig) -> str:
    """What identifies a sweep's search space and goal (the warm starts' key)."""
    return repr((config.params, config.sign))


def _observations(x: Any, y: Any) -> frozenset[tuple[float, ...]]:
    return frozenset((*row, float(v)) for row, v in zip(x.tolist(), y.tolist(), strict=True))


class _WarmStarts:
    """The last fitted kernel of the most recent sweeps, to start the next fit from.

    A fit starts warm only when the sweep continues: its finished runs include every
    one the previous fit saw. Two processes (or a restarted controller) may then start
    from different hyperparameters, so their suggestions can differ a little; the
    optimum they converge to is the same.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._fits: dict[str, tuple[frozenset[tuple[float, ...]], Any]] = {}

    def get(self, key: str, observed: frozenset[tuple[float, ...]]) -> Any:
        with self._lock:
            seen, kernel = self._fits.get(key, (None, None))
        return kernel if seen is not None and seen <= observed else None

    def put(self, key: str, observed: frozenset[tuple[float, ...]], kernel: Any) -> None:
        with self._lock:
            self._fits.pop(key, None)
            self._fits[key] = (observed, kernel)
            while len(self._fits) > self.size:
                del self._fits[next(iter(self._fits))]


#: One per process: the engine makes a new ``BayesSearch`` for every suggestion.
_WARM = _WarmStarts()


def _legal(params: Sequence[Param], rows: Any, np: Any) -> Any:
    """``rows`` (positions in [0, 1]) moved to values the configuration allows.

    Continuous columns are already legal; categorical ones become one-hot (the largest
    wins) and quantized or integer ones are decoded and re-encoded value by value.
    """
    out = rows.copy()
    i = 0
    for p in params:
        w = _width(p)
        if p.distribution == "categorical":
            block = np.zeros((len(rows), w))
            block[np.arange(len(rows)), np.argmax(rows[:, i : i + w], axis=1)] = 1.0
            out[:, i : i + w] = block
        elif w and (p.distribution.startswith("q_") or p.distribution == "int_uniform"):
            out[:, i] = [encode_value(p, decode_value(p, [u]))[0] for u in rows[:, i]]
        i += w
    return out


_controller: list[Any] = []  # threadpoolctl's controller, found once (finding the libraries costs ~3 ms)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS on one thread (``threadpoolctl``, a scikit-learn dependency) while a GP fits."""
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    if not _controller:
        # threadpoolctl limits only the libraries loaded when the controller looks, and
        # scipy's BLAS loads with these: import them first, or the limit silently misses it
        import scipy.linalg
        import scipy.optimize  # noqa: F401
        import sklearn.gaussian_process  # noqa: F401

        _controller.append(ThreadpoolController())
    with _controller[0].limit(limits=1, user_api="blas"):
        yield


def expected_improvement(mu: Any, sd: Any, best: float, xi: float) -> Any:
    """EI of minimizing: E[max(best - xi - f, 0)] under f ~ N(mu, sd^2)."""
    import numpy as np
    from scipy.special import ndtr

    sd = np.maximum(sd, 1e-12)
    imp = best - mu - xi
    z = imp / sd
    return imp * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
