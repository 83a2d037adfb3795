"""``trackwell.plot``: W&B's built-in charts, each a Table plus a Vega-Lite spec.

``line``, ``scatter``, ``bar``, ``histogram`` draw a Table's columns; ``line_series``,
``roc_curve``, ``pr_curve`` and ``confusion_matrix`` build the Table from your values
(numpy only, no scikit-learn); ``plot_table`` (also ``trackwell.plot_table``) draws a
Table with any Vega spec. Each returns a ``CustomChart`` for ``run.log({"key": chart})``.
Modules load on first use, so ``import trackwell`` stays free of numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackwell.lazy import lazy_exports

if TYPE_CHECKING:
    from trackwell.plot.basic import bar, histogram, line, line_series, scatter
    from trackwell.plot.curves import confusion_matrix, pr_curve, roc_curve
    from trackwell.plot.custom_chart import CustomChart, plot_table

_EXPORTS = {
    "CustomChart": ("custom_chart", "CustomChart"),
    "plot_table": ("custom_chart", "plot_table"),
    "line": ("basic", "line"),
    "scatter": ("basic", "scatter"),
    "bar": ("basic", "bar"),
    "histogram": ("basic", "histogram"),
    "line_series": ("basic", "line_series"),
    "roc_curve": ("curves", "roc_curve"),
    "pr_curve": ("curves", "pr_curve"),
    "confusion_matrix": ("curves", "confusion_matrix"),
}

__all__ = [
    "CustomChart",
    "bar",
    "confusion_matrix",
    "histogram",
    "line",
    "line_series",
    "plot_table",
    "pr_curve",
    "roc_curve",
    "scatter",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
