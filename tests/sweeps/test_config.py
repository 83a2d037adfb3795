"""The sweep configuration: every distribution sampled within bounds with the right shape, errors naming keys."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from trackwell.sweeps.config import DISTRIBUTIONS, SweepConfigError, nest, parse
from trackwell.sweeps.engine import Trial, hyperband_brackets, hyperband_stops, next_params, validate

N = 4000


def draws(spec: dict, seed: int = 7) -> list:
    cfg = parse({"method": "random", "parameters": {"p": spec}})
    rng = random.Random(seed)
    return [cfg.params[0].sample(rng) for _ in range(N)]


def test_every_documented_distribution_is_known() -> None:
    assert len(DISTRIBUTIONS) == 17


def test_uniform_bounds_and_mean() -> None:
    xs = draws({"distribution": "uniform", "min": 2.0, "max": 6.0})
    assert all(2.0 <= x <= 6.0 for x in xs)
    assert abs(statistics.mean(xs) - 4.0) < 0.1
    assert abs(statistics.pvariance(xs) - 16 / 12) < 0.1


def test_int_uniform_hits_every_integer_equally() -> None:
    xs = draws({"min": 1, "max": 4})
    assert all(type(x) is int for x in xs)
    counts = [xs.count(k) for k in range(1, 5)]
    assert all(abs(c - N / 4) < 4 * math.sqrt(N / 4) for c in counts)


def test_q_uniform_is_quantized() -> None:
    xs = draws({"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25})
    assert set(xs) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_log_uniform_values_has_uniform_log() -> None:
    xs = draws({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1})
    assert all(1e-4 <= x <= 1e-1 for x in xs)
    logs = [math.log10(x) for x in xs]
    assert abs(statistics.mean(logs) - (-2.5)) < 0.05
    assert abs(sum(1 for x in xs if x < 1e-3) / N - 1 / 3) < 0.03  # a decade per third


def test_log_uniform_uses_exponents() -> None:
    xs = draws({"distribution": "log_uniform", "min": 0.0, "max": 2.0})
    assert all(1.0 <= x <= math.exp(2.0) for x in xs)
    assert abs(statistics.mean(math.log(x) for x in xs) - 1.0) < 0.05


def test_q_log_uniform_values_ints() -> None:
    xs = draws({"distribution": "q_log_uniform_values", "min": 32, "max": 256, "q": 8})
    assert all(type(x) is int and x % 8 == 0 and 32 <= x <= 256 for x in xs)


def test_inv_log_uniform_values() -> None:
    xs = draws({"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1.0})
    assert all(0.01 <= x <= 1.0 for x in xs)
    inv = [math.log(1 / x) for x in xs]
    assert abs(statistics.mean(inv) - math.log(100) / 2) < 0.1


def test_inv_log_uniform() -> None:
    xs = draws({"distribution": "inv_log_uniform", "min": 0.0, "max": 3.0})
    assert all(math.exp(-3) <= x <= 1.0 for x in xs)
    assert abs(statistics.mean(-math.log(x) for x in xs) - 1.5) < 0.06


def test_normal_and_q_normal() -> None:
    xs = draws({"distribution": "normal", "mu": 5.0, "sigma": 2.0})
    assert abs(statistics.mean(xs) - 5.0) < 0.1 and abs(statistics.stdev(xs) - 2.0) < 0.1
    qs = draws({"distribution": "q_normal", "mu": 0.0, "sigma": 3.0, "q": 2})
    assert all(q % 2 == 0 for q in qs)


def test_log_normal_and_q_log_normal() -> None:
    xs = draws({"distribution": "log_normal", "mu": 1.0, "sigma": 0.5})
    assert all(x > 0 for x in xs)
    logs = [math.log(x) for x in xs]
    assert abs(statistics.mean(logs) - 1.0) < 0.05 and abs(statistics.stdev(logs) - 0.5) < 0.05
    qs = draws({"distribution": "q_log_normal", "mu": 3.0, "sigma": 0.5, "q": 5})
    assert all(q % 5 == 0 for q in qs)


def test_beta_and_q_beta() -> None:
    xs = draws({"distribution": "beta", "a": 2.0, "b": 5.0})
    assert all(0 <= x <= 1 for x in xs)
    assert abs(statistics.mean(xs) - 2 / 7) < 0.02
    qs = draws({"distribution": "q_beta", "a": 1.0, "b": 1.0, "q": 0.1})
    assert all(abs(q * 10 - round(q * 10)) < 1e-9 for q in qs)


def test_categorical_probabilities_and_constant() -> None:
    xs = draws({"values": ["a", "b"], "probabilities": [0.2, 0.8]})
    assert abs(xs.count("a") / N - 0.2) < 0.03
    assert set(draws({"value": 3})) == {3}
    assert set(draws({"distribution": "categorical", "values": [1, 2, 3]})) == {1, 2, 3}


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"parameters": {"x": {"values": [1]}}}, "method"),
        ({"method": "random"}, "parameters"),
        ({"method": "random", "parameters": {"lr": {"min": 0.1, "max": 0.01}}}, "parameters.lr.min"),
        ({"method": "random", "parameters": {"lr": {"distribution": "gauss"}}}, "parameters.lr.distribution"),
        (
            {"method": "random", "parameters": {"lr": {"distribution": "normal", "min": 1}}},
            "parameters.lr.min",
        ),
        (
            {"method": "random", "parameters": {"o": {"parameters": {"lr": {"mx": 1}}}}},
            "parameters.o.parameters.lr.mx",
        ),
        (
            {"method": "random", "parameters": {"x": {"values": [1, 2], "probabilities": [0.5]}}},
            "parameters.x.probabilities",
        ),
        ({"method": "grid", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, "parameters.x"),
        ({"method": "bayes", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, "metric"),
        (
            {"method": "random", "metric": {"name": "l", "goal": "up"}, "parameters": {"x": {"value": 1}}},
            "metric.goal",
        ),
        ({"method": "random", "run_cap": 0, "parameters": {"x": {"value": 1}}}, "run_cap"),
        (
            {
                "method": "random",
                "metric": {"name": "l"},
                "early_terminate": {"type": "hyperband", "max_iter": 27},
                "parameters": {"x": {"value": 1}},
            },
            "early_terminate.s",
        ),
        ({"method": "random", "parameter": {}}, "parameter"),
        ({"method": "tpe", "parameters": {"x": {"value": 1}}}, "method"),
    ],
)
def test_errors_name_the_offending_key(raw: dict, where: str) -> None:
    with pytest.raises(SweepConfigError) as info:
        validate(raw)
    assert f": {where}:" in str(info.value)


def test_nested_parameters_are_nested_in_the_suggestion() -> None:
    cfg = validate(
        {
            "method": "random",
            "parameters": {"opt": {"parameters": {"lr": {"value": 0.1}, "b": {"values": [1]}}}},
        }
    )
    decision = next_params(cfg, [])
    assert decision.params is not None and nest(decision.params) == {"opt": {"lr": 0.1, "b": 1}}


def test_grid_enumerates_exactly_then_ends() -> None:
    cfg = validate(
        {
            "method": "grid",
            "parameters": {
                "a": {"values": [1, 2, 3]},
                "b": {"min": 0, "max": 1},
                "c": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
            },
        }
    )
    trials: list[Trial] = []
    while (d := next_params(cfg, trials)).action == "run":
        assert d.params is not None
        trials.append(Trial(str(len(trials)), d.params, "finished"))
    assert len(trials) == 3 * 2 * 3
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 18
    assert "exhausted" in d.reason


def test_run_cap_and_target_end_the_sweep() -> None:
    cfg = validate({"method": "random", "run_cap": 2, "parameters": {"a": {"min": 0.0, "max": 1.0}}})
    assert next_params(cfg, [Trial("a", {"a": 0.1}), Trial("b", {"a": 0.2})]).action == "done"
    cfg = validate(
        {
            "method": "random",
            "metric": {"name": "acc", "goal": "maximize", "target": 0.9},
            "parameters": {"a": {"min": 0.0, "max": 1.0}},
        }
    )
    assert next_params(cfg, [Trial("a", {"a": 0.1}, "finished", 0.5)]).action == "run"
    assert next_params(cfg, [Trial("a", {"a": 0.1}, "finished", 0.95)]).action == "done"


def test_hyperband_brackets_as_documented() -> None:
    assert hyperband_brackets({"min_iter": 3, "eta": 3}) == [3, 9, 27, 81]
    assert hyperband_brackets({"max_iter": 27, "s": 2, "eta": 3}) == [3, 9]


def test_hyperband_stops_the_worse_runs_at_a_bracket() -> None:
    cfg = validate(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "parameters": {"a": {"value": 1}},
            "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 3},
        }
    )
    done = [Trial(f"f{i}", {"a": 1}, "finished", None, [1.0 + i, 0.5 + i, 0.2 + i]) for i in range(4)]
    good = Trial("good", {"a": 1}, "running", None, [0.9, 0.4])
    bad = Trial("bad", {"a": 1}, "running", None, [9.0, 8.0])
    young = Trial("young", {"a": 1}, "running", None, [50.0])  # not at a bracket yet
    assert hyperband_stops(cfg, [*done, good, bad, young]) == ["bad"]
    maximize = validate({**cfg.raw, "metric": {"name": "acc", "goal": "maximize"}})
    assert hyperband_stops(maximize, [*done, good, bad, young]) == ["good"]
