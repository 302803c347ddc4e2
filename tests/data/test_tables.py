"""vaekit.data.tables: tables (CSV files, pandas DataFrames) read into numbers:
text columns as category indices, column selection, missing values (refused
naming the line or row, or dropped with a VaekitWarning), and a trained
model's schema."""

import warnings

import numpy as np
import pandas as pd
import pytest

from vaekit import VaekitWarning
from vaekit.data import tables
from vaekit.data.csvfile import read_csv
from vaekit.errors import DataError, InvalidArgument

TABLE = """\
age,colour,height,pet
31,red,1.8,dog
25,blue,1.6,cat
47,green,1.7,dog
52,blue,1.9,bird
"""
SCHEMA = {
    "columns": ["age", "colour", "height"],
    "categories": {"colour": ["blue", "green", "red"]},
}


def write_text(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- CSV ------------------------------------------------------------------------


def test_csv_table_with_text_columns(tmp_path):
    path = write_text(tmp_path, TABLE)
    parts = read_csv(path)
    x, source = parts["x_train"]
    assert source == path and x.dtype == np.float64
    assert parts["columns"] == (("age", "colour", "height", "pet"), path)
    categories = parts["categories"][0]
    assert categories == {
        "colour": ("blue", "green", "red"),
        "pet": ("bird", "cat", "dog"),
    }
    np.testing.assert_array_equal(
        x,
        [[31, 2, 1.8, 2], [25, 0, 1.6, 1], [47, 1, 1.7, 2], [52, 0, 1.9, 0]],
    )
    np.testing.assert_array_equal(parts["rows"][0], [0, 1, 2, 3])
    assert "y_train" not in parts and "label_names" not in parts


def test_csv_text_labels_become_class_indices(tmp_path):
    parts = read_csv(write_text(tmp_path, TABLE), label_column="pet")
    y = parts["y_train"][0]
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [2, 1, 2, 0])
    assert parts["label_names"][0] == ("bird", "cat", "dog")
    assert parts["columns"][0] == ("age", "colour", "height")
    parts = read_csv(str(tmp_path / "t.csv"), label_column=-1)
    np.testing.assert_array_equal(parts["y_train"][0], [2, 1, 2, 0])


def test_csv_columns_select_features_in_order(tmp_path):
    path = write_text(tmp_path, TABLE)
    parts = read_csv(path, "pet", columns=["height", "age"])
    assert parts["columns"][0] == ("height", "age")
    assert parts["categories"][0] == {}
    np.testing.assert_array_equal(
        parts["x_train"][0], [[1.8, 31], [1.6, 25], [1.7, 47], [1.9, 52]]
    )
    np.testing.assert_array_equal(parts["y_train"][0], [2, 1, 2, 0])


def test_csv_unknown_columns_are_refused(tmp_path):
    path = write_text(tmp_path, TABLE)
    with pytest.raises(DataError) as info:
        read_csv(path, columns=["age", "weight"])
    assert str(info.value) == (
        f"{path}: no column 'weight'; columns are ['age', 'colour', 'height', 'pet']"
    )
    with pytest.raises(DataError, match=r"no label column 'kind'; columns are \["):
        read_csv(path, label_column="kind")
    with pytest.raises(DataError, match="'pet' is the label column"):
        read_csv(path, "pet", columns=["age", "pet"])
    with pytest.raises(DataError, match="selected twice"):
        read_csv(path, columns=["age", "age"])
    with pytest.raises(DataError, match="no feature columns selected"):
        read_csv(path, columns=[])
    with pytest.raises(InvalidArgument, match="Received: columns='age'"):
        read_csv(path, columns="age")


@pytest.mark.parametrize("cell", ["", "NA", "nan", "N/A", " null "])
def test_csv_missing_values_are_refused_with_line_and_column(tmp_path, cell):
    # line 1 the header, line 3 blank, so the 3rd data row is on line 5
    text = f"age,colour,pet\n31,red,dog\n\n25,blue,cat\n{cell},blue,dog\n"
    path = write_text(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: line 5, column 'age': missing value {cell.strip()!r}; fill it in "
        "or pass --missing drop to drop such rows"
    )


def test_csv_missing_values_in_text_and_label_columns(tmp_path):
    path = write_text(tmp_path, "a,colour,y\n1,red,1\n2,NA,0\n3,blue,\n")
    with pytest.raises(DataError, match="line 3, column 'colour': missing value 'NA'"):
        read_csv(path)
    with pytest.raises(DataError, match="line 4, column 'y': missing value ''"):
        read_csv(path, columns=["a"], label_column="y")


def test_csv_drop_rows_with_missing_values_warns(tmp_path):
    text = "age,colour,pet\n31,red,dog\n,blue,cat\n47,NaN,dog\n52,blue,\n60,green,x\n"
    path = write_text(tmp_path, text)
    with pytest.warns(VaekitWarning) as caught:
        parts = read_csv(path, label_column="pet", missing="drop")
    assert [str(w.message) for w in caught] == [
        f"{path}: dropped 3 of 5 rows with missing values"
    ]
    np.testing.assert_array_equal(parts["x_train"][0], [[31, 1], [60, 0]])
    # categories of the rows kept: no 'blue'
    assert parts["categories"][0] == {"colour": ("green", "red")}
    np.testing.assert_array_equal(parts["y_train"][0], [0, 1])
    assert parts["label_names"][0] == ("dog", "x")
    np.testing.assert_array_equal(parts["rows"][0], [0, 4])  # places in the file


def test_csv_drop_recomputes_categories_and_says_nothing_without_drops(tmp_path):
    path = write_text(tmp_path, "a,b\n1,x\n2,y\n3,\n")
    with pytest.warns(VaekitWarning, match="dropped 1 of 3 rows"):
        parts = read_csv(path, missing="drop")
    assert parts["categories"][0] == {"b": ("x", "y")}
    path = write_text(tmp_path, "a,b\n1,x\n2,y\n", "full.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped: nothing said
        read_csv(path, missing="drop")


def test_csv_every_row_dropped_is_refused(tmp_path):
    path = write_text(tmp_path, "a,b\n1,\n,2\n")
    with pytest.raises(DataError, match="all 2 rows have missing values"):
        read_csv(path, missing="drop")
    with pytest.raises(InvalidArgument, match="Received: missing='skip'"):
        read_csv(path, missing="skip")


def test_csv_missing_values_in_unused_columns_do_not_matter(tmp_path):
    path = write_text(tmp_path, "a,b,note,y\n1,2,,0\n3,4,NA,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for missing in tables.MISSING:
            parts = read_csv(path, "y", columns=["a", "b"], missing=missing)
            np.testing.assert_array_equal(parts["x_train"][0], [[1, 2], [3, 4]])


def test_csv_categorical_column_needs_two_categories(tmp_path):
    path = write_text(tmp_path, "a,colour,const\n1,red,5\n2,red,5\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: column 'colour' holds text with a single value 'red'; a "
        "categorical column needs at least two categories: drop it with --columns"
    )
    # a constant numeric column is fine
    parts = read_csv(path, columns=["a", "const"])
    np.testing.assert_array_equal(parts["x_train"][0], [[1, 5], [2, 5]])


def test_csv_mostly_numbers_with_text_is_refused_unless_forced(tmp_path):
    path = write_text(tmp_path, "size,n\n10,1\n2,2\nbig,3\n2,4\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: column 'size' holds numbers, but 1 of its 4 cells is not a number: "
        "line 4 'big'; fix it, or pass --categorical-columns size to read the "
        "column as categories"
    )
    parts = read_csv(path, categorical_columns=["size"])
    assert parts["categories"][0] == {"size": ("10", "2", "big")}
    np.testing.assert_array_equal(parts["x_train"][0][:, 0], [0, 1, 2, 1])
    # mostly text: categorical, as before
    path = write_text(tmp_path, "size,n\nbig,1\n2,2\nsmall,3\nbig,4\n", "text.csv")
    assert read_csv(path)["categories"][0] == {"size": ("2", "big", "small")}


def test_csv_duplicate_header_names_are_refused_when_used(tmp_path):
    path = write_text(tmp_path, "a,b,a\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="2 columns 'a'; give each column its own"):
        read_csv(path)
    parts = read_csv(path, columns=["b"])
    np.testing.assert_array_equal(parts["x_train"][0], [[2], [5]])


def test_csv_schema_maps_with_the_trained_categories(tmp_path):
    # other column order, an extra column, only one of the colours
    path = write_text(tmp_path, "height,extra,colour,age\n1.5,x,red,20\n1.6,y,red,30\n")
    parts = read_csv(path, columns=["extra"], schema=SCHEMA)
    assert parts["columns"][0] == ("age", "colour", "height")
    assert parts["categories"][0] == {"colour": ("blue", "green", "red")}
    np.testing.assert_array_equal(parts["x_train"][0], [[20, 2, 1.5], [30, 2, 1.6]])


def test_csv_schema_category_that_looks_numeric(tmp_path):
    schema = {"columns": ["size"], "categories": {"size": ["10", "2", "big"]}}
    path = write_text(tmp_path, "size\n2\n10\n")
    parts = read_csv(path, schema=schema)
    np.testing.assert_array_equal(parts["x_train"][0], [[1], [0]])


def test_csv_schema_refuses_unknown_categories_and_text(tmp_path):
    path = write_text(tmp_path, "age,colour,height\n20,red,1.5\n30,pink,1.6\n")
    with pytest.raises(DataError) as info:
        read_csv(path, schema=SCHEMA)
    assert str(info.value) == (
        f"{path}: line 3, column 'colour': unknown category 'pink'; the model knows "
        "['blue', 'green', 'red']: map the value to one of them or drop the row"
    )
    path = write_text(tmp_path, "age,colour,height\n20,red,1.5\n30,red,tall\n")
    with pytest.raises(DataError) as info:
        read_csv(path, schema=SCHEMA)
    assert str(info.value).startswith(
        f"{path}: line 3, column 'height': text 'tall' in a column the model was "
        "trained on as numeric"
    )


def test_csv_schema_columns_must_exist(tmp_path):
    path = write_text(tmp_path, "age,height\n20,1.5\n30,1.6\n")
    with pytest.raises(DataError) as info:
        read_csv(path, schema=SCHEMA)
    message = str(info.value)
    assert message.startswith(f"{path}: no column 'colour'; the model was trained")
    assert "['age', 'colour', 'height']" in message and "\n" not in message


def test_csv_schema_single_category_and_missing_values(tmp_path):
    schema = {"columns": ["colour"], "categories": {"colour": ["red"]}}
    path = write_text(tmp_path, "colour,y\nred,1\nred,0\n")
    np.testing.assert_array_equal(
        read_csv(path, "y", schema=schema)["x_train"][0], [[0], [0]]
    )
    path = write_text(tmp_path, "colour\nred\n\n\nNA\n")
    with pytest.raises(DataError, match="line 5, column 'colour': missing value 'NA'"):
        read_csv(path, schema=schema)


# -- DataFrames -------------------------------------------------------------------


def frame():
    """Every kind of column a DataFrame has, six rows, a text index."""
    return pd.DataFrame(
        {
            "price": [1.5, 2.5, 3.0, 4.0, 5.0, 6.25],
            "count": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
            "n": np.array([7, 8, 9, 10, 11, 12], np.int8),
            "colour": ["red", "blue", "red", "green", "blue", "red"],
            "size": pd.Categorical(["S", "L", "S", "L", "M", "S"]),
            "flag": [True, False, True, True, False, True],
            "ok": pd.array([True, False, False, True, False, True], dtype="boolean"),
            "kind": ["p", "q", "p", "q", "p", "p"],
        },
        index=list("uvwxyz"),
    )


def test_frame_parts_reads_every_dtype_as_read_csv_reads_its_text(tmp_path):
    f = frame()
    parts = tables.frame_parts(f, label_column="kind")
    assert parts["columns"][0] == (
        "price",
        "count",
        "n",
        "colour",
        "size",
        "flag",
        "ok",
    )
    assert parts["categories"][0] == {
        "colour": ("blue", "green", "red"),
        "size": ("L", "M", "S"),
    }
    expected = np.column_stack(
        [
            f["price"],
            [1, 2, 3, 4, 5, 6],
            [7, 8, 9, 10, 11, 12],
            [2, 0, 2, 1, 0, 2],  # colour: blue, green, red
            [2, 0, 2, 0, 1, 2],  # size: L, M, S
            [1, 0, 1, 1, 0, 1],
            [1, 0, 0, 1, 0, 1],
        ]
    )
    np.testing.assert_array_equal(parts["x_train"][0], expected)
    assert parts["x_train"][0].dtype == np.float64
    np.testing.assert_array_equal(parts["y_train"][0], [0, 1, 0, 1, 0, 0])
    assert parts["label_names"][0] == ("p", "q")
    np.testing.assert_array_equal(parts["rows"][0], np.arange(6))
    assert parts["x_train"][1] == "DataFrame"
    # the same table as a CSV file (booleans written as 1/0) reads the same
    csv = f.astype({"flag": int, "ok": int, "count": int})
    path = tmp_path / "f.csv"
    csv.to_csv(path, index=False)
    from_file = read_csv(str(path), label_column="kind")
    for key in ("columns", "categories", "label_names"):
        assert from_file[key][0] == parts[key][0], key
    np.testing.assert_array_equal(from_file["x_train"][0], expected)


def test_frame_labels_and_columns():
    f = frame()
    numeric = tables.frame_parts(f, label_column="price", columns=["n", "colour"])
    assert numeric["columns"][0] == ("n", "colour")
    np.testing.assert_array_equal(numeric["y_train"][0], f["price"])
    assert numeric["y_train"][0].dtype == np.float64 and "label_names" not in numeric
    by_index = tables.frame_parts(f, label_column=-1)  # the last column, "kind"
    np.testing.assert_array_equal(by_index["y_train"][0], [0, 1, 0, 1, 0, 0])
    # non-string column names are named by their text
    plain = pd.DataFrame({0: [0.5, 1.5], 1: [3, 4]})
    parts = tables.frame_parts(plain, label_column=1)
    assert parts["columns"][0] == ("0",)
    np.testing.assert_array_equal(parts["y_train"][0], [3, 4])
    with pytest.raises(DataError, match=r"^DataFrame: no column 'weight'; columns"):
        tables.frame_parts(f, columns=["weight"])


@pytest.mark.parametrize(
    "column, value, shown",
    [
        ("price", np.nan, "nan"),
        ("count", pd.NA, "nan"),
        ("colour", None, ""),
        ("size", np.nan, ""),
        ("ok", pd.NA, "nan"),
    ],
)
def test_frame_missing_values_are_refused_naming_the_row(column, value, shown):
    f = frame()
    f.loc["w", column] = value
    with pytest.raises(DataError) as info:
        tables.frame_parts(f, label_column="kind")
    assert str(info.value) == (
        f"DataFrame: row 'w', column {column!r}: missing value {shown!r}; fill it in "
        "or pass --missing drop to drop such rows"
    )


def test_frame_missing_values_dropped_with_a_warning():
    f = frame()
    f.loc["v", "price"] = np.nan
    f.loc["w", "colour"] = None
    f.loc["y", "count"] = pd.NA
    with pytest.warns(VaekitWarning) as caught:
        parts = tables.frame_parts(f, label_column="kind", missing="drop")
    assert [str(w.message) for w in caught] == [
        "DataFrame: dropped 3 of 6 rows with missing values"
    ]
    np.testing.assert_array_equal(parts["rows"][0], [0, 3, 5])  # u, x, z
    np.testing.assert_array_equal(parts["x_train"][0][:, 0], [1.5, 4.0, 6.25])
    # the categories of the rows kept (no blue), and their indices
    assert parts["categories"][0]["colour"] == ("green", "red")
    np.testing.assert_array_equal(parts["x_train"][0][:, 3], [1, 0, 1])
    np.testing.assert_array_equal(parts["y_train"][0], [0, 1, 0])


def test_frame_schema_maps_with_the_trained_categories():
    f = frame()
    schema = {
        "columns": ["colour", "price"],
        "categories": {"colour": ["blue", "green", "red", "white"]},
    }
    parts = tables.frame_parts(f.iloc[:3], schema=schema)
    assert parts["columns"][0] == ("colour", "price")
    np.testing.assert_array_equal(parts["x_train"][0], [[2, 1.5], [0, 2.5], [2, 3.0]])
    schema["categories"]["colour"] = ["blue", "red"]
    with pytest.raises(DataError) as info:
        tables.frame_parts(f, schema=schema)
    assert str(info.value) == (
        "DataFrame: row 'x', column 'colour': unknown category 'green'; the model "
        "knows ['blue', 'red']: map the value to one of them or drop the row"
    )
    numeric = {"columns": ["colour"], "categories": {}}
    with pytest.raises(DataError, match="row 'u', column 'colour': text 'red'"):
        tables.frame_parts(f, schema=numeric)


def test_empty_frames_are_refused():
    with pytest.raises(DataError, match="DataFrame: the table has no rows"):
        tables.frame_parts(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="no rows or no columns"):
        tables.frame_parts(pd.DataFrame(index=[0, 1]))


def test_is_frame():
    assert tables.is_frame(frame())
    for other in (frame()["price"], np.zeros((2, 2)), [[1]], "t.csv", None):
        assert not tables.is_frame(other)


# -- strict numbers, forced kinds -------------------------------------------------


def rates_csv(tmp_path, bad="0.06x"):
    rows = [f"{0.01 * i:.2f},{'ab'[i % 2]}" for i in range(12)]
    rows[6] = f"{bad},a"  # data row 7: line 8
    return write_text(tmp_path, "rate,group\n" + "\n".join(rows) + "\n")


def test_csv_a_typo_in_a_numeric_column_is_refused(tmp_path):
    """The issue's case: one `0.06x` made the column categorical."""
    path = rates_csv(tmp_path)
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: column 'rate' holds numbers, but 1 of its 12 cells is not a "
        "number: line 8 '0.06x'; fix it, or pass --categorical-columns rate to read "
        "the column as categories"
    )
    with pytest.raises(DataError, match="line 8 '0.06x'; fix it$"):
        read_csv(path, numeric_columns=["rate"])
    parts = read_csv(path, categorical_columns=["rate"])
    assert len(parts["categories"][0]["rate"]) == 12


@pytest.mark.parametrize(
    "bad, said",
    [
        ("1_000", "digit separators are not read"),
        ("inf", "holds non-finite numbers: line 8 'inf'"),
        ("-Infinity", "holds non-finite numbers: line 8 '-Infinity'"),
        ("1e999", "holds non-finite numbers: line 8 '1e999'"),
    ],
)
def test_csv_numbers_python_reads_and_vaekit_does_not(tmp_path, bad, said):
    """`1_000` is not 1000, and non-finite numbers are not data."""
    with pytest.raises(DataError, match=said):
        read_csv(rates_csv(tmp_path, bad))


def test_csv_nan_cells_are_missing_values(tmp_path):
    path = rates_csv(tmp_path, "-nan")
    with pytest.raises(DataError, match="line 8, column 'rate': missing value '-nan'"):
        read_csv(path)
    with pytest.warns(VaekitWarning, match="dropped 1 of 12 rows"):
        parts = read_csv(path, missing="drop")
    assert parts["x_train"][0].shape == (11, 2)


def test_forced_kinds_in_csv_files_and_frames(tmp_path):
    path = write_text(tmp_path, "code,x,y\n10,1.5,2\n2,2.5,10\n10,3.5,1\n")
    parts = read_csv(path, "y", categorical_columns=["code", "y"])
    assert parts["categories"][0] == {"code": ("2", "10")}  # by value
    np.testing.assert_array_equal(parts["x_train"][0][:, 0], [1, 0, 1])
    assert parts["label_names"][0] == ("1", "2", "10")
    np.testing.assert_array_equal(parts["y_train"][0], [1, 2, 0])
    f = pd.DataFrame({"code": [10, 2, 10], "x": ["1.5", "2.5", "x"], "k": [1, 2, 3]})
    parts = tables.frame_parts(f, categorical_columns=["code", "x"])
    assert parts["categories"][0] == {"code": ("2", "10"), "x": ("1.5", "2.5", "x")}
    with pytest.raises(DataError) as info:
        tables.frame_parts(f, numeric_columns=["x"])
    assert str(info.value) == (
        "DataFrame: column 'x' is in numeric_columns, but 1 of its 3 cells is not a "
        "number: row 2 'x'; fix it"
    )
    with pytest.raises(DataError, match=r"no column 'z' \(in categorical_columns\)"):
        read_csv(path, categorical_columns=["z"])
    # a model's schema decides the kinds; the forced ones are not read
    schema = {"columns": ["x"], "categories": {}}
    parts = read_csv(path, schema=schema, categorical_columns=["x", "nope"])
    np.testing.assert_array_equal(parts["x_train"][0], [[1.5], [2.5], [3.5]])


def test_frame_text_columns_are_read_as_csv_cells():
    """A DataFrame's object column is what pandas makes of a numeric column
    with a typo: refused naming the row, as a CSV file's is."""
    f = pd.DataFrame({"rate": ["0.01", "0.02", "0.06x", "0.04"], "n": [1, 2, 3, 4]})
    f.index = ["a", "b", "c", "d"]
    with pytest.raises(DataError, match=r"1 of its 4 cells is not a number: row 'c'"):
        tables.frame_parts(f)
    f.loc["c", "rate"] = "0.03"
    np.testing.assert_array_equal(
        tables.frame_parts(f)["x_train"][0][:, 0], [0.01, 0.02, 0.03, 0.04]
    )
    f["rate"] = pd.Categorical(["1", "2", "1", "2"])  # a category column: classes
    assert tables.frame_parts(f)["categories"][0] == {"rate": ("1", "2")}


# -- IDs ------------------------------------------------------------------------------


def id_table(n=12):
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "name": [f"p{i:02d}" for i in range(n)],
            "row": np.arange(1, n + 1),
            "x": rng.normal(size=n).round(3),
            "kind": ["a", "b"] * (n // 2),
        }
    )


def test_csv_columns_that_look_like_ids_are_left_out_with_a_warning(tmp_path):
    """The issue's case: an ID column, and pandas' unnamed index column,
    became features."""
    path = str(tmp_path / "t.csv")
    id_table().to_csv(path)  # with pandas' index, an unnamed first column
    with pytest.warns(VaekitWarning) as caught:
        parts = read_csv(path, label_column="kind")
    assert [str(w.message) for w in caught] == [
        f"{path}: column '' (unnamed: a running index 0..11) is an index written "
        "with the table (pandas' to_csv without index=False), not a feature: it is "
        "left out",
        f"{path}: column 'name' (12 distinct text values, one per row) looks like "
        "row IDs, not a feature: it is left out; pass --id-column name to write it "
        "beside the outputs, or name it in --categorical-columns or "
        "--numeric-columns to keep it as a feature",
        f"{path}: column 'row' (a running index 1..12) looks like row IDs, not a "
        "feature: it is left out; pass --id-column row to write it beside the "
        "outputs, or name it in --categorical-columns or --numeric-columns to keep "
        "it as a feature",
    ]
    assert parts["columns"][0] == ("x",)
    assert parts["ignored"][0] == {
        "": "left out: an index (unnamed: a running index 0..11)",
        "name": "left out: looks like row IDs (12 distinct text values, one per row)",
        "row": "left out: looks like row IDs (a running index 1..12)",
    }
    # kept when named: as a feature, or as the ID column
    with pytest.warns(VaekitWarning, match="column ''"):
        parts = read_csv(path, "kind", numeric_columns=["row"], id_column="name")
    assert parts["columns"][0] == ("row", "x")
    assert parts["id_column"][0] == "name"
    assert parts["ids"][0].tolist() == [f"p{i:02d}" for i in range(12)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # columns chosen: nothing left out, no word
        parts = read_csv(path, "kind", columns=["name", "row", "x"])
    assert parts["categories"][0]["name"][:2] == ("p00", "p01")


def test_frame_unnamed_index_column_is_left_out(tmp_path):
    """pd.read_csv of a file written with its index names it `Unnamed: 0`."""
    id_table().to_csv(tmp_path / "t.csv")
    frame = pd.read_csv(tmp_path / "t.csv")
    assert frame.columns[0] == "Unnamed: 0"
    with pytest.warns(VaekitWarning) as caught:
        parts = tables.frame_parts(frame, label_column="kind", id_column="name")
    assert [str(w.message).split(" (")[0] for w in caught] == [
        "DataFrame: column 'Unnamed: 0'",
        "DataFrame: column 'row'",
    ]
    assert parts["columns"][0] == ("x",)
    assert parts["ignored"][0]["Unnamed: 0"].startswith("left out: an index")


def test_id_column_is_passed_through_the_rows_kept(tmp_path):
    path = write_text(tmp_path, "id,x,y\nr1,1,a\nr2,,b\nr3,3,a\n")
    with pytest.warns(VaekitWarning, match="dropped 1 of 3 rows"):
        parts = read_csv(path, "y", id_column="id", missing="drop")
    assert parts["ids"][0].tolist() == ["r1", "r3"]
    assert parts["columns"][0] == ("x",)
    assert parts["ignored"][0] == {"id": "the ID column, passed through"}
    f = pd.DataFrame({"id": [7, 8, 9], "x": [1.0, 2.0, 3.0]})
    assert tables.frame_parts(f, id_column="id")["ids"][0].tolist() == ["7", "8", "9"]
    with pytest.raises(DataError, match="'y' is the label column; it cannot also be"):
        read_csv(path, "y", id_column="y")
    with pytest.raises(DataError, match="'id' is the ID column; it cannot also be a"):
        read_csv(path, "y", columns=["id", "x"], id_column="id")
    with pytest.raises(DataError, match=r"no ID column 'name'; columns are \["):
        read_csv(path, id_column="name")
