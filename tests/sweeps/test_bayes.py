"""Bayes beats random on Branin and Hartmann-6 over repeated seeds (the mean best regret), in seconds."""

from __future__ import annotations

import math
import random

import pytest

from trackwell.sweeps.engine import Trial, next_params, validate

pytest.importorskip("sklearn")

BRANIN_MIN = 0.397887
HARTMANN6_MIN = -3.32237
_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
      [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]  # fmt: skip
_ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(p: dict) -> float:
    x, y = p["x"], p["y"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def hartmann6(p: dict) -> float:
    xs = [p[f"x{i}"] for i in range(6)]
    return -sum(
        _ALPHA[i] * math.exp(-sum(_A[i][j] * (xs[j] - _P[i][j]) ** 2 for j in range(6))) for i in range(4)
    )


BRANIN = {"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}}
HARTMANN = {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(6)}


def best_after(method: str, space: dict, f, n: int, seed: int) -> float:
    cfg = validate({"method": method, "metric": {"name": "f"}, "parameters": space})
    trials: list[Trial] = []
    for i in range(n):
        d = next_params(cfg, trials, seed=seed)
        assert d.params is not None
        trials.append(Trial(str(i), d.params, "finished", f(d.params)))
    return min(t.metric for t in trials if t.metric is not None)


@pytest.mark.parametrize(
    ("space", "f", "fmin", "n"), [(BRANIN, branin, BRANIN_MIN, 20), (HARTMANN, hartmann6, HARTMANN6_MIN, 30)]
)
def test_bayes_beats_random(space: dict, f, fmin: float, n: int) -> None:
    # The same seeds give both methods the same first N_INITIAL random points; after
    # them bayes must beat random's mean regret by 40%. Eight seeds, because the GP's fits
    # differ with the CPU's BLAS kernels: with OpenBLAS's SkylakeX kernels half of the
    # Hartmann-6 seeds settle in a local minimum, and four seeds made the mean a coin toss
    # (there bayes does ~2x over 30 trials; ~9x on Branin).
    seeds = range(8)
    bayes = sum(best_after("bayes", space, f, n, s) - fmin for s in seeds) / len(seeds)
    rand = sum(best_after("random", space, f, n, s) - fmin for s in seeds) / len(seeds)
    assert bayes < 0.6 * rand, (bayes, rand)


def test_bayes_respects_ints_quantization_and_categories() -> None:
    cfg = validate({"method": "bayes", "metric": {"name": "f"}, "parameters": {
        "n": {"min": 1, "max": 9}, "q": {"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 8},
        "opt": {"values": ["adam", "sgd"]}, "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}})  # fmt: skip
    rng = random.Random(0)
    trials = [
        Trial(str(i), {p.name: p.sample(rng) for p in cfg.params}, "finished", rng.random()) for i in range(6)
    ]
    for i in range(5):
        d = next_params(cfg, trials, seed=i)
        assert d.params is not None
        assert type(d.params["n"]) is int and 1 <= d.params["n"] <= 9
        assert (
            d.params["q"] % 8 == 0 and d.params["opt"] in ("adam", "sgd") and 1e-5 <= d.params["lr"] <= 1e-1
        )
        trials.append(Trial(f"b{i}", d.params, "finished", rng.random()))


def test_a_continuing_sweep_starts_its_fit_from_the_previous_kernel() -> None:
    from trackwell.sweeps import bayes

    cfg = validate({"method": "bayes", "metric": {"name": "f"}, "parameters": BRANIN})
    rng = random.Random(1)
    trials = [
        Trial(str(i), {"x": rng.uniform(-5, 10), "y": rng.uniform(0, 15)}, "finished") for i in range(8)
    ]
    for t in trials:
        t.metric = branin(t.params)
    next_params(cfg, trials[:6], seed=0)
    key = bayes._sweep_key(cfg)

    def observed(ts: list[Trial]) -> frozenset:
        import numpy as np

        x = np.array([bayes.encode(cfg.params, t.params) for t in ts])
        return bayes._observations(x, np.array([t.metric for t in ts]))

    assert bayes._WARM.get(key, observed(trials)) is not None  # more runs of the same sweep: warm
    assert bayes._WARM.get(key, observed(trials[1:])) is None  # a run the fit saw is gone: cold
    kernel = bayes._WARM.get(key, observed(trials))
    assert kernel.k1.k2.length_scale.shape == (2,)  # Matern with a length scale per column


def test_the_fit_runs_blas_on_one_thread() -> None:
    # threadpoolctl limits only libraries loaded when it looks: scipy's BLAS must be among them
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    from trackwell.sweeps.bayes import _one_blas_thread

    with _one_blas_thread():
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(i["num_threads"] == 1 for i in blas), blas
        assert any("scipy" in i["filepath"] for i in blas), [i["filepath"] for i in blas]
