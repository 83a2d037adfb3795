"""The built-in sweep search methods, registered like any plugin's: grid, random, bayes.

Importing this module is cheap (it is loaded with every plugin manager): bayes pulls
in numpy and scipy only when a bayes sweep asks for a suggestion.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trackwell.plugins import hookimpl

if TYPE_CHECKING:
    from trackwell.sweeps.config import SweepConfig
    from trackwell.sweeps.engine import SearchMethod, Trial


def _key(values: Sequence[Any]) -> str:
    return json.dumps(list(values), sort_keys=True, default=repr)


class GridSearch:
    """Every combination, in order; a point handed out once is never handed out again."""

    def suggest(
        self, config: SweepConfig, trials: Sequence[Trial], rng: random.Random
    ) -> dict[str, Any] | None:
        names = [p.name for p in config.params]
        used = {_key([t.params.get(n) for n in names]) for t in trials}
        axes = [p.grid_values() or [] for p in config.params]
        for combo in itertools.product(*axes):
            if _key(combo) not in used:
                return dict(zip(names, combo, strict=True))
        return None


class RandomSearch:
    """Independent draws from each parameter's distribution; never exhausted."""

    def suggest(
        self, config: SweepConfig, trials: Sequence[Trial], rng: random.Random
    ) -> dict[str, Any] | None:
        return {p.name: p.sample(rng) for p in config.params}


@hookimpl
def register_sweep_methods(register: Callable[[str, SearchMethod], None]) -> None:
    from trackwell.sweeps.bayes import BayesSearch

    register("grid", GridSearch())
    register("random", RandomSearch())
    register("bayes", BayesSearch())
