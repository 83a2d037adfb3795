"""The W&B sweep configuration: parsed, validated and turned into ``Param`` objects.

Validation happens before anything is sent or stored, and every error names the key
that is wrong (``parameters.optimizer.parameters.lr.min: ...``), because a sweep
configuration is usually a YAML file edited by hand and a vague error there costs a
whole sweep. What a parameter's distribution means (sampling, the grid's values) is
``params.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackwell.errors import UsageError
from trackwell.sweeps.params import BOUNDED, DISTRIBUTIONS, Param

TOP_LEVEL_KEYS = frozenset(
    {
        "program", "method", "metric", "parameters", "early_terminate", "command", "run_cap",
        "name", "description", "project", "entity", "controller", "job", "image_uri", "launch",
    }
)  # fmt: skip
PARAM_KEYS = frozenset(
    {
        "distribution",
        "value",
        "values",
        "probabilities",
        "min",
        "max",
        "mu",
        "sigma",
        "q",
        "a",
        "b",
        "parameters",
    }
)
GOALS = ("minimize", "maximize")


class SweepConfigError(UsageError):
    """A sweep configuration that cannot run; the message names the offending key."""


def _fail(where: str, message: str) -> SweepConfigError:
    return SweepConfigError(
        f"sweep configuration: {where}: {message}" if where else f"sweep configuration: {message}"
    )


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(where, f"must be finite, got {value!r}")
    return float(value)


@dataclass
class SweepConfig:
    """A validated sweep configuration; ``raw`` is the dict as given (stored and shown as is)."""

    raw: dict[str, Any]
    method: str
    params: list[Param]
    metric_name: str | None = None
    goal: str = "minimize"
    target: float | None = None
    run_cap: int | None = None
    early_terminate: dict[str, Any] | None = None
    program: str | None = None
    command: list[str] | None = None
    controller: str = "cloud"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sign(self) -> float:
        """+1 to minimize, -1 to maximize: every method minimizes ``sign * metric``."""
        return 1.0 if self.goal == "minimize" else -1.0

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def load(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A configuration from a dict, or the path of a YAML (or JSON) file."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepConfigError(f"cannot read the sweep configuration {path}: {exc.strerror or exc}") from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SweepConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepConfigError(
            f"{path}: a sweep configuration is a mapping of keys, got {type(data).__name__}"
        )
    return data


def parse(raw: Mapping[str, Any], methods: Mapping[str, Any] | None = None) -> SweepConfig:
    """Validate ``raw`` and return a ``SweepConfig``; ``methods``: the known search methods by name."""
    if not isinstance(raw, Mapping):
        raise _fail("", f"a sweep configuration is a dict, got {type(raw).__name__}")
    unknown = sorted(str(k) for k in raw if k not in TOP_LEVEL_KEYS)
    if unknown:
        raise _fail(unknown[0], f"unknown key (known: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    method = raw.get("method")
    if method is None:
        raise _fail("method", "missing: give one of grid, random, bayes")
    if not isinstance(method, str):
        raise _fail("method", f"must be a string, got {method!r}")
    if methods is not None and method not in methods:
        raise _fail("method", f"unknown method {method!r} (known: {', '.join(sorted(methods))})")
    parameters = raw.get("parameters")
    if not isinstance(parameters, Mapping) or not parameters:
        raise _fail("parameters", "missing or empty: give at least one parameter")
    params = list(_parse_params(parameters, "parameters", ""))
    cfg = SweepConfig(raw=dict(raw), method=method, params=params)
    _parse_metric(raw.get("metric"), cfg)
    if method == "bayes" and cfg.metric_name is None:
        raise _fail("metric", "the bayes method needs a metric to optimize (metric: {name: ..., goal: ...})")
    if method == "grid":
        for p in params:
            if p.grid_values() is None:
                raise _fail(
                    f"parameters.{p.name}",
                    f"grid search needs discrete values, and {p.distribution} is continuous "
                    "(use values:, value:, int_uniform or q_uniform, or method: random/bayes)",
                )
    if "run_cap" in raw and raw["run_cap"] is not None:
        cap = raw["run_cap"]
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise _fail("run_cap", f"must be a positive integer, got {cap!r}")
        cfg.run_cap = cap
    if raw.get("early_terminate") is not None:
        cfg.early_terminate = _parse_early_terminate(raw["early_terminate"])
        if cfg.metric_name is None:
            raise _fail("early_terminate", "hyperband compares runs by the metric: give metric.name")
    program = raw.get("program")
    if program is not None and not isinstance(program, str):
        raise _fail("program", f"must be a file name, got {program!r}")
    cfg.program = program
    command = raw.get("command")
    if command is not None:
        if not isinstance(command, list) or not all(isinstance(c, (str, int, float)) for c in command):
            raise _fail("command", "must be a list of strings (and ${...} macros)")
        cfg.command = [str(c) for c in command]
    for key in ("name", "description", "project", "entity"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _fail(key, f"must be a string, got {raw[key]!r}")
    controller = raw.get("controller")
    if controller is not None:
        kind = controller.get("type") if isinstance(controller, Mapping) else None
        if kind not in ("local", "cloud"):
            raise _fail("controller.type", f"must be local or cloud, got {kind!r}")
        cfg.controller = kind
    return cfg


def _parse_metric(metric: Any, cfg: SweepConfig) -> None:
    if metric is None:
        return
    if not isinstance(metric, Mapping):
        raise _fail("metric", f"must be a mapping with name and goal, got {metric!r}")
    extra = sorted(set(metric) - {"name", "goal", "target", "impute", "imputewhileRunning"})
    if extra:
        raise _fail(f"metric.{extra[0]}", "unknown key (known: name, goal, target)")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise _fail("metric.name", f"must be the name of a logged metric, got {name!r}")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise _fail("metric.goal", f"must be minimize or maximize, got {goal!r}")
    cfg.metric_name, cfg.goal = name, goal
    if metric.get("target") is not None:
        cfg.target = _number("metric.target", metric["target"])


def _parse_early_terminate(et: Any) -> dict[str, Any]:
    if not isinstance(et, Mapping):
        raise _fail("early_terminate", f"must be a mapping (type: hyperband, ...), got {et!r}")
    extra = sorted(set(et) - {"type", "min_iter", "max_iter", "s", "eta", "strict"})
    if extra:
        raise _fail(
            f"early_terminate.{extra[0]}", "unknown key (known: type, min_iter, max_iter, s, eta, strict)"
        )
    if et.get("type") != "hyperband":
        raise _fail(
            "early_terminate.type", f"the only stopping algorithm is hyperband, got {et.get('type')!r}"
        )
    out: dict[str, Any] = {"type": "hyperband", "eta": 3, "strict": False}
    for key in ("min_iter", "max_iter", "s", "eta"):
        if key in et:
            v = et[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise _fail(f"early_terminate.{key}", f"must be a positive integer, got {v!r}")
            out[key] = v
    if out["eta"] < 2:
        raise _fail("early_terminate.eta", "must be at least 2")
    if "min_iter" not in out and "max_iter" not in out:
        raise _fail("early_terminate", "hyperband needs min_iter, or max_iter with s")
    if "min_iter" in out and "max_iter" in out:
        raise _fail("early_terminate", "give min_iter or max_iter, not both")
    if "max_iter" in out and "s" not in out:
        raise _fail("early_terminate.s", "max_iter needs s, the number of brackets")
    if "strict" in et:
        if not isinstance(et["strict"], bool):
            raise _fail("early_terminate.strict", f"must be true or false, got {et['strict']!r}")
        out["strict"] = et["strict"]
    return out


def _parse_params(parameters: Mapping[str, Any], where: str, prefix: str) -> Iterator[Param]:
    for name, spec in parameters.items():
        if not isinstance(name, str) or not name or "." in name:
            raise _fail(f"{where}.{name}", "a parameter name is a non-empty string without '.'")
        here = f"{where}.{name}"
        if not isinstance(spec, Mapping):
            raise _fail(here, f"must be a mapping (value:, values:, distribution:, ...), got {spec!r}")
        unknown = sorted(str(k) for k in spec if k not in PARAM_KEYS)
        if unknown:
            raise _fail(f"{here}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(PARAM_KEYS))})")
        if "parameters" in spec:
            if len(spec) != 1:
                other = sorted(k for k in spec if k != "parameters")[0]
                raise _fail(f"{here}.{other}", "a parameter with nested parameters takes no other key")
            nested = spec["parameters"]
            if not isinstance(nested, Mapping) or not nested:
                raise _fail(f"{here}.parameters", "must be a non-empty mapping of parameters")
            yield from _parse_params(nested, f"{here}.parameters", f"{prefix}{name}.")
            continue
        yield _parse_param(f"{prefix}{name}", here, spec)


def _infer_distribution(here: str, spec: Mapping[str, Any]) -> str:
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    if "min" in spec or "max" in spec:
        raise _fail(here, "give both min and max")
    raise _fail(here, "give value, values, min and max, or a distribution")


def _parse_param(name: str, here: str, spec: Mapping[str, Any]) -> Param:
    dist = spec.get("distribution") or _infer_distribution(here, spec)
    if dist not in DISTRIBUTIONS:
        raise _fail(
            f"{here}.distribution", f"unknown distribution {dist!r} (known: {', '.join(DISTRIBUTIONS)})"
        )
    allowed = set(DISTRIBUTIONS[dist]) | {"distribution"}
    extra = sorted(k for k in spec if k not in allowed)
    if extra:
        raise _fail(
            f"{here}.{extra[0]}",
            f"not used by the {dist} distribution (it takes {', '.join(DISTRIBUTIONS[dist])})",
        )
    kw: dict[str, Any] = {}
    if dist == "constant":
        if "value" not in spec:
            raise _fail(f"{here}.value", "missing: the constant distribution needs value")
        kw["value"] = spec["value"]
    elif dist == "categorical":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise _fail(f"{here}.values", f"must be a non-empty list, got {values!r}")
        kw["values"] = tuple(values)
        if spec.get("probabilities") is not None:
            probs = spec["probabilities"]
            if not isinstance(probs, list) or len(probs) != len(values):
                raise _fail(
                    f"{here}.probabilities", f"must be a list of {len(values)} numbers, one per value"
                )
            ps = [_number(f"{here}.probabilities[{i}]", p) for i, p in enumerate(probs)]
            if any(p < 0 for p in ps) or abs(sum(ps) - 1.0) > 1e-6:
                raise _fail(f"{here}.probabilities", f"must be non-negative and sum to 1, got {probs!r}")
            kw["probabilities"] = tuple(ps)
    else:
        for key in DISTRIBUTIONS[dist]:
            if key in spec:
                kw[key] = _number(f"{here}.{key}", spec[key])
            elif key in ("min", "max"):
                raise _fail(f"{here}.{key}", f"missing: the {dist} distribution needs min and max")
        if dist in BOUNDED:
            if kw["min"] > kw["max"]:
                raise _fail(f"{here}.min", f"min ({spec['min']}) is greater than max ({spec['max']})")
            if (
                dist in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
                and kw["min"] <= 0
            ):
                raise _fail(f"{here}.min", f"the {dist} distribution needs min > 0, got {spec['min']}")
        if "sigma" in kw and kw["sigma"] <= 0:
            raise _fail(f"{here}.sigma", f"must be positive, got {spec['sigma']}")
        for key in ("q", "a", "b"):
            if key in kw and kw[key] <= 0:
                raise _fail(f"{here}.{key}", f"must be positive, got {spec[key]}")
        ints = [spec[k] for k in ("min", "max", "q") if k in spec]
        if dist == "int_uniform":
            for key in ("min", "max"):
                if not float(spec[key]).is_integer():
                    raise _fail(f"{here}.{key}", f"int_uniform needs integers, got {spec[key]!r}")
        kw["is_int"] = dist == "int_uniform" or (
            dist.startswith("q_")
            and all(isinstance(v, int) and not isinstance(v, bool) for v in ints)
            and "q" in spec
        )
    return Param(name=name, distribution=dist, **kw)


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}``: a suggestion as ``run.config`` holds it."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The inverse of ``nest``."""
    out: dict[str, Any] = {}
    for key, value in nested.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
