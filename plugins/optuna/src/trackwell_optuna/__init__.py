"""trackwell-optuna: Optuna's TPE sampler as a sweep search method (``method: optuna``)."""

from trackwell_optuna.plugin import OptunaSearch

__all__ = ["OptunaSearch"]
