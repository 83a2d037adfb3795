"""trackwell.Table in memory and through its Parquet file: types, errors, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trackwell
from trackwell.media.base import DirContext, media_type
from trackwell.table import Table


@pytest.fixture
def ctx(tmp_path: Path) -> DirContext:
    return DirContext(tmp_path / "files")


def round_trip(table: Table, ctx: DirContext) -> Table:
    record = table._for_log().to_record(ctx)
    return Table.from_record(record, ctx.read)


def test_constructor_forms_agree() -> None:
    rows = [[1, "a", True], [2, "b", False]]
    from_rows = Table(columns=["n", "s", "b"], data=rows)
    assert Table(columns=["n", "s", "b"], rows=rows) == from_rows
    df = pd.DataFrame({"n": [1, 2], "s": ["a", "b"], "b": [True, False]})
    assert Table(dataframe=df) == from_rows
    built = Table(columns=["n", "s", "b"])
    for row in rows:
        built.add_data(*row)
    assert built == from_rows
    arr = Table(data=np.arange(6).reshape(3, 2))
    assert arr.columns == ["Column_1", "Column_2"]
    assert arr.data == [[0, 1], [2, 3], [4, 5]]
    assert Table().columns == ["Input", "Output", "Expected"]
    assert trackwell.Table is Table


def test_types_inferred_from_first_value_and_none_allowed() -> None:
    t = Table(
        columns=["n", "s", "b", "l", "d"],
        data=[[None, "x", True, [1, 2], {"k": 1}], [1.5, None, None, None, None]],
    )
    t.add_data(np.int64(3), np.str_("y"), np.bool_(False), (3,), {"k": 2})
    assert t.column_types == {"n": "number", "s": "string", "b": "boolean", "l": "list", "d": "dict"}
    assert t.data[2] == [3, "y", False, [3], {"k": 2}]
    assert type(t.data[2][0]) is int  # numpy scalars stored as Python values


def test_type_mismatch_names_row_column_expected_and_got_and_keeps_the_table() -> None:
    t = Table(columns=["id", "label"], data=[[1, "cat"], [2, "dog"]])
    with pytest.raises(TypeError, match=r"row 2, column 'id': expected number, got string"):
        t.add_data("three", "bird")
    with pytest.raises(TypeError, match=r"row 1, column 'label': expected string, got number"):
        Table(columns=["id", "label"], data=[[1, "cat"], [2, 5]])
    assert t.data == [[1, "cat"], [2, "dog"]]
    t.add_data(3, "bird")  # the table still works
    assert len(t) == 3
    with pytest.raises(TypeError, match="boolean"):
        t.add_data(True, "x")  # bool is not a number in a typed column


def test_bad_shapes_and_values() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 values for 2 columns"):
        Table(columns=["a", "b"], data=[[1, 2], [3]])
    t = Table(columns=["a", "b"])
    with pytest.raises(ValueError, match="add_data got 1 values for 2 columns"):
        t.add_data(1)
    with pytest.raises(ValueError, match="duplicate column names"):
        Table(columns=["a", "a"])
    with pytest.raises(TypeError, match="column names must be strings"):
        Table(columns=[1, 2])
    with pytest.raises(TypeError, match="cannot be stored in a Table"):
        Table(columns=["a"], data=[[object()]])
    with pytest.raises(ValueError, match="not optional"):
        Table(columns=["a"], data=[[None]], optional=False)
    strict = Table(columns=["a", "b"], data=[[1, 2]], optional=[False, True])
    strict.add_data(3, None)
    with pytest.raises(ValueError, match="row 2, column 'a': None in a column that is not optional"):
        strict.add_data(None, 4)
    assert strict.data == [[1, 2], [3, None]]
    with pytest.raises(ValueError, match="log_mode"):
        Table(log_mode="SOMETIMES")  # type: ignore[arg-type]


def test_mixed_types_when_allowed_round_trip(ctx: DirContext) -> None:
    t = Table(columns=["v"], data=[[1], ["two"], [[3]], [{"four": 4}], [None]], allow_mixed_types=True)
    assert t.column_types == {"v": "any"}
    assert round_trip(t, ctx) == t


def test_add_column_get_column_index_iterrows_and_computed_columns() -> None:
    t = Table(columns=["x"], data=[[1], [2], [3]])
    t.add_column("y", np.array([10, 20, 30]))
    assert t.get_column("y") == [10, 20, 30]
    np.testing.assert_array_equal(t.get_column("y", convert_to="numpy"), np.array([10, 20, 30]))
    assert t.get_index() == [0, 1, 2]
    assert [(i, row) for i, row in t.iterrows()] == [(0, [1, 10]), (1, [2, 20]), (2, [3, 30])]
    t.add_computed_columns(lambda ndx, row: {"sum": row["x"] + row["y"], "ndx": ndx})
    assert t.columns == ["x", "y", "sum", "ndx"]
    assert t.get_column("sum") == [11, 22, 33]
    with pytest.raises(ValueError, match="has 2 values; the table has 3 rows"):
        t.add_column("z", [1, 2])
    with pytest.raises(ValueError, match="already exists"):
        t.add_column("x", [1, 2, 3])
    with pytest.raises(KeyError, match="no column 'nope'"):
        t.get_column("nope")
    empty = Table(columns=[])
    empty.add_column("a", [1, 2])
    assert empty.data == [[1], [2]]


def test_cast_checks_existing_and_later_values() -> None:
    t = Table(columns=["a", "b"], data=[[None, 1], [None, 2]])
    t.cast("a", str, optional=True)
    with pytest.raises(TypeError, match="expected string, got number"):
        t.add_data(5, 3)
    t.add_data("five", 3)
    with pytest.raises(TypeError, match="expected string"):
        t.cast("b", str)
    assert t.column_types["b"] == "number"


def test_dataframe_round_trip_is_equal(ctx: DirContext) -> None:
    df = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, float("nan"), 2.5],
            "s": ["a", None, "c"],
            "b": [True, False, True],
        }
    )
    t = Table(dataframe=df)
    back = round_trip(t, ctx)
    assert back == t  # NaN cells compare equal
    assert back != Table(dataframe=df.fillna({"f": 1.0}))
    pd.testing.assert_frame_equal(back.get_dataframe(), t.get_dataframe())
    pd.testing.assert_frame_equal(back.get_dataframe(), df, check_dtype=False)


def test_record_fields_and_file(ctx: DirContext) -> None:
    t = Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    record = t._for_log().to_record(ctx)
    assert record["_type"] == "table-file"
    assert record["format"] == "parquet"
    assert (record["ncols"], record["nrows"], record["columns"]) == (2, 2, ["a", "b"])
    assert record["log_mode"] == "IMMUTABLE"
    data = (ctx.root / record["path"]).read_bytes()
    assert record["size"] == len(data)
    import pyarrow.parquet as pq

    assert pq.read_table(ctx.root / record["path"]).to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
    assert media_type("table-file") is Table
    assert media_type("incremental-table-file") is Table


def test_100k_rows_are_a_few_mb(ctx: DirContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Table, "MAX_ROWS", 100_000)  # log() keeps W&B's 10,000 rows by default
    rng = np.random.default_rng(1)
    values = rng.random((100_000, 8))
    rows = [[i, f"label{i % 50}", *v] for i, v in enumerate(values.tolist())]
    t = Table(columns=["id", "label", *[f"f{j}" for j in range(8)]], data=rows)
    record = t._for_log().to_record(ctx)
    assert record["nrows"] == 100_000
    assert record["size"] < 8_000_000  # JSON rows take ~20 MB
    back = Table.from_record(record, ctx.read)
    assert back == t


def test_image_cells_are_files_beside_the_table(ctx: DirContext) -> None:
    pixels = [np.full((8, 8, 3), i * 40, dtype=np.uint8) for i in range(3)]
    t = Table(columns=["id", "img"])
    for i, p in enumerate(pixels):
        t.add_data(i, trackwell.Image(p, caption=f"n{i}"))
    t.add_data(3, None)
    assert t.column_types["img"] == "image-file"
    with pytest.raises(TypeError, match="expected image-file, got string"):
        t.add_data(4, "not an image")
    arrays = t.get_column("img", convert_to="numpy")
    np.testing.assert_array_equal(arrays[1], pixels[1])
    record = t._for_log().to_record(ctx)
    assert len(list((ctx.root / "media" / "images").glob("*.png"))) == 3
    back = Table.from_record(record, ctx.read)
    images = back.get_column("img")
    assert images[3] is None
    from PIL import Image as PILImage

    for i, img in enumerate(images[:3]):
        assert isinstance(img, trackwell.Image)
        # the decoded cell points at the same PNG, pixel for pixel
        rec = img.to_record(ctx)
        with PILImage.open(ctx.root / rec["path"]) as im:
            np.testing.assert_array_equal(np.asarray(im.convert("RGB")), pixels[i])


def test_import_trackwell_imports_no_pyarrow_or_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys, trackwell; trackwell.Table; trackwell.plot.line\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
