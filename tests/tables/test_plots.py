"""trackwell.plot: every chart's table checked against values computed directly (and scikit-learn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trackwell
from trackwell.media.base import DirContext
from trackwell.plot.custom_chart import BUILTIN_SPECS, CustomChart, builtin_spec
from trackwell.table import Table

metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def xy() -> Table:
    return Table(columns=["x", "y", "s"], data=[[i, i * i, "a" if i % 2 else "b"] for i in range(6)])


def test_basic_charts_keep_the_table_and_wandb_fields(xy: Table) -> None:
    cases = [
        (
            trackwell.plot.line(xy, "x", "y", stroke="s", title="L"),
            "wandb/line/v0",
            {"x": "x", "y": "y", "stroke": "s"},
        ),
        (trackwell.plot.scatter(xy, "x", "y", title="S"), "wandb/scatter/v0", {"x": "x", "y": "y"}),
        (trackwell.plot.bar(xy, "s", "y", title="B"), "wandb/bar/v0", {"label": "s", "value": "y"}),
        (trackwell.plot.histogram(xy, "y", title="H"), "wandb/histogram/v0", {"value": "y"}),
    ]
    for chart, spec, fields in cases:
        assert isinstance(chart, CustomChart)
        assert chart.table is xy
        assert (chart.spec_name, chart.fields) == (spec, fields)
        assert chart.string_fields == {"title": chart.title}
    custom = trackwell.plot_table(
        "me/height/v1", xy, {"x": "x", "value": "y"}, {"title": "Height"}, split_table=True
    )
    assert (custom.spec_name, custom.title, custom.split_table) == ("me/height/v1", "Height", True)


def test_basic_charts_reject_unknown_columns_and_non_tables(xy: Table) -> None:
    with pytest.raises(ValueError, match="column 'z' is not in the table"):
        trackwell.plot.scatter(xy, "x", "z")
    with pytest.raises(TypeError, match=r"expected a trackwell\.Table"):
        trackwell.plot.line([[1, 2]], "x", "y")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fields name columns"):
        trackwell.plot_table("wandb/line/v0", xy, {"x": "nope"})


def test_line_series_rows() -> None:
    chart = trackwell.plot.line_series(
        xs=[0, 1, 2],
        ys=[[10, 20, 30], [0.5, 11, 72]],
        keys=["metric Y", "metric Z"],
        title="Two",
        xname="x units",
    )
    assert chart.table.columns == ["step", "lineKey", "lineVal"]
    assert chart.table.data == [
        [0, "metric Y", 10], [1, "metric Y", 20], [2, "metric Y", 30],
        [0, "metric Z", 0.5], [1, "metric Z", 11], [2, "metric Z", 72],
    ]  # fmt: skip
    assert chart.spec_name == "wandb/lineseries/v0"
    assert chart.string_fields == {"title": "Two", "xname": "x units"}
    per_line = trackwell.plot.line_series(xs=[[0, 1], np.array([5, 6, 7])], ys=[[1, 2], [3, 4, 5]])
    assert [r[1] for r in per_line.table.data] == ["key_0"] * 2 + ["key_1"] * 3
    assert [r[0] for r in per_line.table.data] == [0, 1, 5, 6, 7]
    with pytest.raises(ValueError, match=r"line 1 .* has 2 ys for 3 xs"):
        trackwell.plot.line_series(xs=[0, 1, 2], ys=[[1, 2, 3], [1, 2]])
    with pytest.raises(ValueError, match="1 keys for 2 lines"):
        trackwell.plot.line_series(xs=[0], ys=[[1], [2]], keys=["a"])


@pytest.fixture
def multiclass() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 300)
    p = rng.random((300, 3)) + np.eye(3)[y] * 0.4  # informative, with ties broken by noise
    p = np.round(p / p.sum(1, keepdims=True), 2)  # rounding makes tied scores, as real models do
    return y, p


def test_roc_curve_matches_sklearn(multiclass: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = multiclass
    chart = trackwell.plot.roc_curve(y, p, labels=["cat", "dog", "bird"])
    assert chart.table.columns == ["class", "fpr", "tpr"]
    assert chart.spec_name == "wandb/area-under-curve/v0"
    assert chart.fields == {"x": "fpr", "y": "tpr", "class": "class"}
    for k, name in enumerate(["cat", "dog", "bird"]):
        fpr, tpr, _ = metrics.roc_curve(y == k, p[:, k])
        rows = [r for r in chart.table.data if r[0] == name]
        assert [r[1] for r in rows] == np.round(fpr, 3).tolist()
        assert [r[2] for r in rows] == np.round(tpr, 3).tolist()
    only = trackwell.plot.roc_curve(y, p, classes_to_plot=[2])
    assert {r[0] for r in only.table.data} == {2}


def test_pr_curve_matches_sklearn_interpolated(multiclass: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = multiclass
    chart = trackwell.plot.pr_curve(y, p, interp_size=11)
    assert chart.table.columns == ["class", "recall", "precision"]
    grid = np.linspace(0, 1, 11)
    for k in range(3):
        precision, recall, _ = metrics.precision_recall_curve(y == k, p[:, k])
        expected = np.round(np.interp(grid, recall[::-1], precision[::-1]), 3)
        rows = [r for r in chart.table.data if r[0] == k]
        assert [r[1] for r in rows] == np.round(grid, 3).tolist()
        assert [r[2] for r in rows] == expected.tolist()


def test_binary_and_string_labels() -> None:
    y = np.array(["spam", "ham", "spam", "ham", "spam"])
    scores = np.array([0.9, 0.2, 0.6, 0.7, 0.8])
    chart = trackwell.plot.roc_curve(y, np.stack([1 - scores, scores], 1), classes_to_plot=["spam"])
    fpr, tpr, _ = metrics.roc_curve(y == "spam", scores)  # columns follow sorted classes: ham, spam
    assert [r[1:] for r in chart.table.data] == np.round(np.stack([fpr, tpr], 1), 3).tolist()
    one_column = trackwell.plot.roc_curve([0, 1, 1, 0, 1], scores, classes_to_plot=[1])
    fpr, tpr, _ = metrics.roc_curve([0, 1, 1, 0, 1], scores)
    assert [r[1:] for r in one_column.table.data] == np.round(np.stack([fpr, tpr], 1), 3).tolist()


def test_curve_bad_inputs() -> None:
    with pytest.raises(ValueError, match="y_true has 3 samples but y_probas has 2 rows"):
        trackwell.plot.roc_curve([0, 1, 0], [[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(ValueError, match="y_probas is required"):
        trackwell.plot.pr_curve([0, 1])
    with pytest.raises(ValueError, match="class 5 in classes_to_plot has no column"):
        trackwell.plot.roc_curve([0, 1], [[0.1, 0.9], [0.8, 0.2]], classes_to_plot=[5])
    with pytest.raises(ValueError, match="labels has 1 names"):
        trackwell.plot.roc_curve([0, 1], [[0.1, 0.9], [0.8, 0.2]], labels=["only"])
    with pytest.raises(ValueError, match="interp_size"):
        trackwell.plot.pr_curve([0, 1], [[0.1, 0.9], [0.8, 0.2]], interp_size=1)


def test_confusion_matrix_matches_sklearn(multiclass: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = multiclass
    preds = p.argmax(1)
    expected = metrics.confusion_matrix(y, preds)
    names = ["cat", "dog", "bird"]
    for chart in (
        trackwell.plot.confusion_matrix(y_true=y, preds=preds, class_names=names),
        trackwell.plot.confusion_matrix(probs=p, y_true=y.tolist(), class_names=names),
    ):
        assert chart.table.columns == ["Actual", "Predicted", "nPredictions"]
        assert chart.spec_name == "wandb/confusion_matrix/v1"
        assert chart.table.data == [
            [names[i], names[j], int(expected[i, j])] for i in range(3) for j in range(3)
        ]
    unnamed = trackwell.plot.confusion_matrix(y_true=[3, 7, 7], preds=[7, 7, 3])
    assert unnamed.table.data == [
        ["Class_1", "Class_1", 0], ["Class_1", "Class_2", 1], ["Class_2", "Class_1", 1], ["Class_2", "Class_2", 1],
    ]  # fmt: skip
    assert unnamed.title == "Confusion Matrix Curve"


def test_confusion_matrix_bad_inputs() -> None:
    with pytest.raises(ValueError, match="not both"):
        trackwell.plot.confusion_matrix(probs=[[0.1, 0.9]], preds=[1], y_true=[1])
    with pytest.raises(ValueError, match="2 predictions for 3 true labels"):
        trackwell.plot.confusion_matrix(preds=[0, 1], y_true=[0, 1, 1])
    with pytest.raises(ValueError, match=r"y_true has labels \[2\] outside 0..1"):
        trackwell.plot.confusion_matrix(preds=[0, 1], y_true=[0, 2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="y_true is required"):
        trackwell.plot.confusion_matrix(preds=[0])


def test_chart_record_round_trip(tmp_path: Path, xy: Table) -> None:
    ctx = DirContext(tmp_path)
    chart = trackwell.plot.bar(xy, "s", "y", title="Bars")
    record = chart._for_log().to_record(ctx)
    assert record["_type"] == "plot-table"
    assert record["table"]["_type"] == "table-file"
    assert record["spec"] == {
        "name": "wandb/bar/v0",
        "fields": {"label": "s", "value": "y"},
        "string_fields": {"title": "Bars"},
    }
    back = CustomChart.from_record(record, ctx.read)
    assert (back.table, back.spec_name, back.fields, back.title) == (xy, "wandb/bar/v0", chart.fields, "Bars")


def test_builtin_specs_are_vega_lite_with_the_charts_fields() -> None:
    for name in BUILTIN_SPECS:
        spec = builtin_spec(name)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert spec["data"] == {"name": "wandb"}
    assert "${field:lineVal}" in str(builtin_spec("wandb/lineseries/v0"))
    with pytest.raises(KeyError, match="no built-in chart"):
        builtin_spec("wandb/pie/v9")
