"""Bayesian search: a Gaussian process over the encoded space, expected improvement.

Every parameter is mapped into [0, 1] by its distribution's natural scale (log for
the log distributions, the normal CDF for normal ones), categorical ones as one-hot
columns, constants dropped; so a GP with one length scale per column sees a space
where "near" means what the distribution says. Quantized and integer parameters are
decoded (rounded) before the EI of a candidate is computed, so the search never
proposes a value the configuration forbids. Runs still in flight count as
observations of the mean ("constant liar"), so parallel agents asking at once are
steered apart.

The GP is a small numpy one (Matern 5/2 with a length scale per column, normalized
targets, bounded hyperparameters fitted by one L-BFGS-B run on the exact log marginal
likelihood and its gradient) rather than scikit-learn's ``GaussianProcessRegressor``:
at sweep sizes (10-500 points) scikit-learn spends ~8 ms of Python per likelihood
evaluation on its kernel objects, which made one suggestion cost a second or more;
this one costs a few milliseconds at 50 observations. BLAS runs on one thread while
it fits (``threadpoolctl`` when installed): threads only add contention at this size.
numpy and scipy are imported only here, when a bayes sweep asks.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator, Sequence
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
        except ImportError as exc:
            raise UsageError(
                f"the bayes sweep method needs numpy and scipy: pip install 'trackwell[sweeps]' ({exc})"
            ) from None
        x = np.array([encode(params, t.params) for t in done], dtype=float)
        y = np.array([config.sign * float(t.metric) for t in done])  # type: ignore[arg-type]
        pending = [t for t in usable if t.metric is None and t.state == "running"]
        if pending:  # constant liar: in-flight points look average, so EI looks elsewhere
            x = np.vstack([x, np.array([encode(params, t.params) for t in pending], dtype=float)])
            y = np.concatenate([y, np.full(len(pending), float(np.mean(y)))])
        with _one_blas_thread():
            gp = GaussianProcess(x, y)
            cands = self._candidates(params, x[: len(done)], y[: len(done)], rng, np)
            mu, sd = gp.predict(cands)
        best = float(np.min(y[: len(done)]))
        ei = expected_improvement(mu, sd, best, self.xi * float(np.std(y) or 1.0))
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
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        yield
        return
    if not _controller:
        # scipy's own BLAS loads with these: import them first, so the controller sees it too
        import scipy.linalg
        import scipy.optimize  # noqa: F401

        _controller.append(ThreadpoolController())
    with _controller[0].limit(limits=1, user_api="blas"):
        yield


#: Hyperparameter bounds, on positions in [0, 1] and targets normalized to unit variance:
#: signal variance, length scale (per column) and noise variance.
SIGNAL_BOUNDS = (0.05, 20.0)
LENGTH_BOUNDS = (0.03, 3.0)
NOISE_BOUNDS = (1e-6, 0.1)
_SQRT5 = math.sqrt(5.0)


class GaussianProcess:
    """A GP regression of ``y`` on ``x`` (rows in [0, 1]^d), hyperparameters fitted at construction."""

    def __init__(self, x: Any, y: Any, max_iter: int = 40) -> None:
        import numpy as np
        from scipy.optimize import minimize

        self.x = x
        self.mean, self.scale = float(np.mean(y)), float(np.std(y)) or 1.0
        self.y = (y - self.mean) / self.scale
        self.sq = (x[:, None, :] - x[None, :, :]) ** 2  # n x n x d squared differences
        d = x.shape[1]
        bounds = [np.log(SIGNAL_BOUNDS)] + [np.log(LENGTH_BOUNDS)] * d + [np.log(NOISE_BOUNDS)]
        start = np.log(np.array([1.0] + [0.3] * d + [1e-3]))
        found = minimize(
            self._neg_lml, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": max_iter}
        )
        self._neg_lml(found.x if np.isfinite(found.fun) else start)  # leaves the factors of the best
        self.theta = found.x

    def _kernel_parts(self, theta: Any, sq: Any) -> tuple[Any, Any, Any]:
        """(k, s2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r), scaled squared differences) for ``sq``."""
        import numpy as np

        s2, ls = math.exp(theta[0]), np.exp(theta[1:-1])
        scaled = sq / ls**2
        r = np.sqrt(np.maximum(scaled.sum(axis=-1), 0.0))
        e = np.exp(-_SQRT5 * r)
        return s2 * (1 + _SQRT5 * r + 5.0 / 3.0 * r * r) * e, s2 * 5.0 / 3.0 * (1 + _SQRT5 * r) * e, scaled

    def _neg_lml(self, theta: Any) -> tuple[float, Any]:
        """Minus the log marginal likelihood and its gradient in ``theta`` (all logs)."""
        import numpy as np
        from scipy.linalg import solve_triangular

        n = len(self.y)
        k, a, scaled = self._kernel_parts(theta, self.sq)
        noise = math.exp(theta[-1])
        try:
            chol = np.linalg.cholesky(k + (noise + 1e-10) * np.eye(n))
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        inv_chol = solve_triangular(chol, np.eye(n), lower=True)
        k_inv = inv_chol.T @ inv_chol
        alpha = k_inv @ self.y
        self._chol, self._alpha, self._theta_now = chol, alpha, theta
        log_det = 2 * float(np.log(np.diag(chol)).sum())
        lml = -0.5 * (float(self.y @ alpha) + log_det + n * math.log(2 * math.pi))
        w = np.outer(alpha, alpha) - k_inv
        grad = np.empty_like(theta)
        grad[0] = 0.5 * float((w * k).sum())
        grad[1:-1] = 0.5 * np.einsum("ij,ijk->k", w * a, scaled)
        grad[-1] = 0.5 * noise * float(np.trace(w))
        return -lml, -grad

    def predict(self, cands: Any) -> tuple[Any, Any]:
        """Posterior mean and standard deviation (of the function, noise excluded) at ``cands``."""
        import numpy as np
        from scipy.linalg import solve_triangular

        theta = self._theta_now
        ks, _, _ = self._kernel_parts(theta, (cands[:, None, :] - self.x[None, :, :]) ** 2)
        mu = ks @ self._alpha
        v = solve_triangular(self._chol, ks.T, lower=True)
        var = np.maximum(math.exp(theta[0]) - (v * v).sum(axis=0), 1e-12)
        return mu * self.scale + self.mean, np.sqrt(var) * self.scale


def expected_improvement(mu: Any, sd: Any, best: float, xi: float) -> Any:
    """EI of minimizing: E[max(best - xi - f, 0)] under f ~ N(mu, sd^2)."""
    import numpy as np
    from scipy.special import ndtr

    sd = np.maximum(sd, 1e-12)
    imp = best - mu - xi
    z = imp / sd
    return imp * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
