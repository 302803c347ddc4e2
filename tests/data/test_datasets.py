"""vaekit.data.datasets: the embedded sets, keras.datasets offline, the
`Dataset` and its splits, and `load` of a spec, a DataFrame, an array or a
Dataset. The file formats are tested in test_readers.py and test_tables.py."""

import urllib.error

import numpy as np
import pandas as pd
import pytest

from vaekit import VaekitError, VaekitWarning, data
from vaekit.errors import DataError, InvalidArgument

# -- embedded sets and keras.datasets --------------------------------------


def test_mnist5k():
    ds = data.load("mnist5k")
    assert ds.name == "mnist5k"
    assert ds.x_train.shape == (5000, 28, 28, 1)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0 and ds.x_train.max() == 1
    assert ds.shape == (28, 28, 1) and ds.is_image and not ds.is_table
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.y_train.dtype == np.int64
    assert ds.x_test is None
    # 8-bit pixels scaled by 1/255: 255 * x is whole
    pixels = ds.x_train[:50] * 255
    np.testing.assert_allclose(pixels, np.rint(pixels), atol=1e-4)


def test_digits():
    ds = data.load("digits")
    assert ds.x_train.shape == (1797, 8, 8, 1)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0 and ds.x_train.max() == 1
    assert set(np.unique(ds.y_train)) == set(range(10))
    # scikit-learn's pixels are 0..16
    np.testing.assert_array_equal(
        np.unique(np.rint(ds.x_train * 16)), np.arange(17, dtype=np.float32)
    )
    from sklearn.datasets import load_digits

    bunch = load_digits()
    np.testing.assert_array_equal(ds.x_train[..., 0] * 16, bunch.images)
    np.testing.assert_array_equal(ds.y_train, bunch.target)


@pytest.mark.parametrize(
    "error",
    [
        OSError("Network is unreachable"),
        urllib.error.URLError("no route to host"),
        Exception("URL fetch failure"),
    ],
)
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_keras_datasets_offline(monkeypatch, name, error):
    import keras

    def offline(*args, **kwargs):
        raise error

    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", offline)
    with pytest.raises(DataError) as info:
        data.load(name)
    message = str(info.value)
    assert "offline" in message
    assert "mnist5k" in message and "digits" in message
    assert "IDX" in message and ".npz" in message
    assert "\n" not in message


def test_keras_datasets_are_scaled_and_keep_their_test_split(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)
    x_test = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    y_train, y_test = np.arange(6, dtype=np.uint8), np.arange(3, dtype=np.uint8)

    def load_data():
        return (x_train, y_train), (x_test, y_test)

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", load_data)
    ds = data.load("fashion_mnist")
    assert ds.name == "fashion_mnist" and ds.shape == (4, 4, 1)
    np.testing.assert_array_equal(ds.x_train[..., 0], x_train / np.float32(255))
    np.testing.assert_array_equal(ds.x_test[..., 0], x_test / np.float32(255))
    assert ds.y_train.dtype == ds.y_test.dtype == np.int64
    np.testing.assert_array_equal(ds.split("test")[1], y_test)


# -- the Dataset ---------------------------------------------------------------


def test_dataset_defaults_are_not_a_table():
    ds = data.Dataset("x", np.zeros((2, 3), np.float32))
    assert ds.columns is None and ds.categories is None and ds.label_names is None
    assert ds.rows is None and not ds.is_table and not ds.is_image
    assert ds.shape == (3,)


def test_dataset_splits():
    x, y = np.zeros((4, 2), np.float32), np.arange(4)
    x_test, y_test = np.ones((2, 2), np.float32), np.arange(10, 12)
    ds = data.Dataset("d", x, y, x_test, y_test)
    assert ds.split("train") == (x, y)
    assert ds.split("test") == (x_test, y_test)
    all_x, all_y = ds.split("all")
    np.testing.assert_array_equal(all_x, np.concatenate([x, x_test]))
    np.testing.assert_array_equal(all_y, [0, 1, 2, 3, 10, 11])
    # labels for one split only: none for all
    assert data.Dataset("d", x, y, x_test).split("all")[1] is None
    alone = data.Dataset("d", x, y)
    assert alone.split("all") == (x, y)
    with pytest.raises(DataError) as info:
        alone.split("test")
    assert str(info.value) == (
        "data 'd' has no test split of its own: use the train or all split, or "
        "give data with a test split"
    )
    with pytest.raises(InvalidArgument, match="one of train, test, all"):
        alone.split("validation")


# -- load: tables, DataFrames, arrays -------------------------------------------


def test_dataset_of_a_csv_table_keeps_names_and_categories(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("w,colour,kind\n0.5,red,b\n1.5,blue,a\n,red,a\n2.5,blue,b\n")
    with pytest.warns(VaekitWarning, match="dropped 1 of 4 rows"):
        ds = data.load(path, "kind", columns=["colour", "w"], missing="drop")
    assert ds.name == str(path)
    assert ds.is_table and not ds.is_image and ds.shape == (2,)
    assert ds.columns == ("colour", "w")
    assert ds.categories == {"colour": ("blue", "red")}
    assert ds.label_names == ("a", "b")
    assert ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.x_train, [[1, 0.5], [0, 1.5], [0, 2.5]])
    assert ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.y_train, [1, 0, 1])
    np.testing.assert_array_equal(ds.rows, [0, 1, 3])
    x, y = ds.split("all")
    assert x is ds.x_train and y is ds.y_train
    schema = {"columns": list(ds.columns), "categories": ds.categories}
    with pytest.warns(VaekitWarning):
        again = data.load(path, "kind", missing="drop", schema=schema)
    np.testing.assert_array_equal(again.x_train, ds.x_train)


def test_all_numeric_table_has_no_categories(tmp_path):
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    ds = data.load(tmp_path / "t.csv")
    assert ds.columns == ("0", "1") and ds.categories == {}
    assert ds.label_names is None and ds.y_train is None
    np.testing.assert_array_equal(ds.x_train, [[1, 2], [3, 4]])


def mixed_frame():
    return pd.DataFrame(
        {
            "price": [10.5, 20.0, np.nan, 40.25, 50.0],
            "units": pd.array([1, 2, 3, 4, None], dtype="Int64"),
            "colour": ["red", "blue", "red", "green", "blue"],
            "size": pd.Categorical(["S", "L", "S", "M", "L"]),
            "sale": [True, False, True, False, True],
            "kind": ["a", "b", "a", "b", "a"],
        },
        index=[100, 101, 102, 103, 104],
    )


def test_load_a_dataframe():
    f = mixed_frame().drop(index=[102, 104])
    ds = data.load(f, label_column="kind")
    assert ds.name == "DataFrame" and ds.is_table and ds.shape == (5,)
    assert ds.columns == ("price", "units", "colour", "size", "sale")
    assert ds.categories == {
        "colour": ("blue", "green", "red"),
        "size": ("L", "M", "S"),
    }
    assert ds.label_names == ("a", "b")
    assert ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(
        ds.x_train,
        [[10.5, 1, 2, 2, 1], [20.0, 2, 0, 0, 0], [40.25, 4, 1, 1, 0]],
    )
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1])
    np.testing.assert_array_equal(ds.rows, [0, 1, 2])
    # the frame is not changed
    assert list(f.columns) == ["price", "units", "colour", "size", "sale", "kind"]


def test_load_a_dataframe_with_missing_values():
    f = mixed_frame()
    with pytest.raises(DataError) as info:
        data.load(f, label_column="kind")
    assert str(info.value) == (
        "DataFrame: row 102, column 'price': missing value 'nan'; fill it in or "
        "pass --missing drop to drop such rows"
    )
    with pytest.warns(VaekitWarning) as caught:
        ds = data.load(f, label_column="kind", missing="drop")
    assert [str(w.message) for w in caught] == [
        "DataFrame: dropped 2 of 5 rows with missing values"
    ]
    np.testing.assert_array_equal(ds.rows, [0, 1, 3])
    np.testing.assert_array_equal(ds.x_train[:, 0], [10.5, 20.0, 40.25])


def test_load_a_dataframe_with_a_schema():
    f = mixed_frame().drop(index=[102, 104])
    schema = {
        "columns": ["sale", "colour", "price"],
        "categories": {"colour": ["blue", "green", "red", "white"]},
    }
    ds = data.load(f, schema=schema)
    assert ds.columns == ("sale", "colour", "price")
    assert ds.categories == {"colour": ("blue", "green", "red", "white")}
    np.testing.assert_array_equal(
        ds.x_train, [[1, 2, 10.5], [0, 0, 20.0], [0, 1, 40.25]]
    )
    schema["categories"]["colour"] = ["blue", "red"]
    with pytest.raises(DataError, match="row 103, column 'colour': unknown category"):
        data.load(f, schema=schema)


def test_load_an_array_or_a_dataset():
    raw = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    ds = data.load(raw)
    assert ds.name == "array" and ds.shape == (2, 3, 1) and ds.is_image
    np.testing.assert_array_equal(ds.x_train[..., 0], raw / np.float32(255))
    assert ds.y_train is None and not ds.is_table
    floats = data.load([[0.5, -2.0], [1.0, 3.0]])  # anything array-like
    np.testing.assert_array_equal(floats.x_train, [[0.5, -2.0], [1.0, 3.0]])
    assert data.load(ds) is ds  # a Dataset is returned as it is
    with pytest.raises(DataError, match=r"^array: .*NaN or infinite"):
        data.load(np.array([[np.nan, 1.0]]))
    with pytest.raises(DataError, match="columns and a schema apply to tables"):
        data.load(raw, columns=["a"])
    with pytest.raises(DataError, match=r"^array: expected a non-empty array"):
        data.load(mixed_frame()["price"])  # a Series is one column, not a table
    with pytest.raises(DataError, match=r"^array: not an array of examples"):
        data.load([[1.0], [1.0, 2.0]])  # ragged rows


@pytest.mark.parametrize("name", ["mnist5k", "digits", "mnist", "fashion_mnist"])
def test_named_datasets_refuse_columns_and_schema(name):
    for kwargs in ({"columns": ["a"]}, {"schema": {"columns": ["a"]}}):
        with pytest.raises(DataError) as info:
            data.load(name, **kwargs)
        assert (
            str(info.value) == f"columns apply to tables (CSV files); {name} is not one"
        )


def test_unknown_specs_are_refused(tmp_path):
    with pytest.raises(DataError) as info:
        data.load(str(tmp_path / "nothing.npy"))
    assert str(info.value) == (
        f"data {str(tmp_path / 'nothing.npy')!r} is neither a known name (mnist5k, "
        "digits, mnist, fashion_mnist) nor an existing file or folder"
    )
    with pytest.raises(DataError, match="neither a known name"):
        data.load("MNIST")  # names are exact


def test_bad_missing_is_a_value_error(tmp_path):
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match="Received: missing='ignore'"):
        data.load(tmp_path / "t.csv", missing="ignore")
    with pytest.raises(InvalidArgument, match="Received: missing='ignore'"):
        data.load(mixed_frame(), missing="ignore")
    assert isinstance(InvalidArgument("x"), VaekitError)
