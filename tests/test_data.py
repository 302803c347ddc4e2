"""Tests of vaekit.data: the embedded sets, keras.datasets offline, scaling
and the checks for the model, the seeded splits and static binarization.
The file formats are tested in test_readers.py, the batches in
test_batches.py."""

import urllib.error

import numpy as np
import pytest

from vaekit import VaekitError, data

# -- embedded sets and keras.datasets --------------------------------------


def test_mnist5k():
    ds = data.load("mnist5k")
    assert ds.x_train.shape == (5000, 28, 28, 1)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0 and ds.x_train.max() == 1
    assert ds.shape == (28, 28, 1) and ds.is_image
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.x_test is None


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
    with pytest.raises(VaekitError) as info:
        data.load(name)
    message = str(info.value)
    assert "offline" in message
    assert "mnist5k" in message and "digits" in message
    assert "IDX" in message and ".npz" in message
    assert "\n" not in message


# -- scaling checks ---------------------------------------------------------


def test_bernoulli_needs_unit_interval():
    data.check_for_likelihood(np.array([[0.0, 1.0]]), "bernoulli", "x")
    data.check_for_likelihood(np.array([[-3.0, 7.0]]), "gaussian", "x")
    with pytest.raises(VaekitError, match="gaussian"):
        data.check_for_likelihood(np.array([[0.0, 1.5]]), "bernoulli", "x")


# -- binarization and splits --------------------------------------


def test_static_binarization_is_seeded_and_unbiased():
    x = np.random.default_rng(11).random((200, 50)).astype(np.float32)
    a, b = data.binarize(x, seed=3), data.binarize(x, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, data.binarize(x, seed=4))
    assert a.dtype == np.float32 and set(np.unique(a)) == {0.0, 1.0}
    # each value is a Bernoulli(x) draw: the mean's std is at most 0.5/sqrt(n)
    assert abs(a.mean() - x.mean()) < 5 * 0.5 / np.sqrt(x.size)
    # and the draws follow the pixel: 0 and 1 are kept
    edges = np.array([[0.0, 1.0, 0.0, 1.0]], np.float32)
    np.testing.assert_array_equal(data.binarize(edges, seed=0), edges)


def test_train_validation_split_is_seeded_and_disjoint():
    x = np.arange(100)[:, None].astype(np.float32)
    y = np.arange(100)
    (xt, yt), (xv, yv) = data.train_validation_split(x, y, 0.2, seed=5)
    (xt2, _), (xv2, _) = data.train_validation_split(x, y, 0.2, seed=5)
    np.testing.assert_array_equal(xt, xt2)
    np.testing.assert_array_equal(xv, xv2)
    assert len(xv) == 20 and len(xt) == 80
    assert set(yt).isdisjoint(yv) and set(yt) | set(yv) == set(range(100))
    np.testing.assert_array_equal(xt[:, 0], yt)  # rows and labels stay paired
    (_, _), (xv3, _) = data.train_validation_split(x, y, 0.2, seed=6)
    assert not np.array_equal(xv, xv3)
    (xt0, _), (xv0, _) = data.train_validation_split(x, None, 0.0, seed=5)
    assert len(xt0) == 100 and len(xv0) == 0
    with pytest.raises(VaekitError):
        data.train_validation_split(x[:1], None, 0.5, seed=0)


def test_fit_to_shape_reshapes_when_the_sizes_agree():
    flat = np.arange(24, dtype=np.float64).reshape(2, 12)
    images = data.fit_to_shape(flat, (2, 6, 1))
    assert images.shape == (2, 2, 6, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images.reshape(2, 12), flat)
    np.testing.assert_array_equal(data.fit_to_shape(images, (12,)), flat)
    with pytest.raises(VaekitError, match=r"shape \(12,\) but the model expects"):
        data.fit_to_shape(flat, (13,), "x.npy")
    with pytest.raises(VaekitError, match="non-empty"):
        data.fit_to_shape(np.zeros((0, 12)), (12,))


def test_bad_library_arguments_raise_value_error_naming_them():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="Received: fraction=1.0"):
        data.train_validation_split(x, None, 1.0, seed=0)
    with pytest.raises(ValueError, match="Received: likelihood='poisson'"):
        data.check_for_likelihood(x, "poisson", "x")
    with pytest.raises(ValueError, match="Received: which='val'"):
        data.Dataset("x", x).split("val")


# -- tables -----------------------------------------------------------------


def test_dataset_of_a_csv_table_keeps_names_and_categories(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("w,colour,kind\n0.5,red,b\n1.5,blue,a\n,red,a\n2.5,blue,b\n")
    ds = data.load(path, "kind", columns=["colour", "w"], missing="drop")
    assert ds.is_table and not ds.is_image and ds.shape == (2,)
    assert ds.columns == ("colour", "w")
    assert ds.categories == {"colour": ("blue", "red")}
    assert ds.label_names == ("a", "b")
    assert ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.x_train, [[1, 0.5], [0, 1.5], [0, 2.5]])
    assert ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.y_train, [1, 0, 1])
    x, y = ds.split("all")
    assert x is ds.x_train and y is ds.y_train
    schema = {"columns": list(ds.columns), "categories": ds.categories}
    again = data.load(path, "kind", missing="drop", schema=schema)
    np.testing.assert_array_equal(again.x_train, ds.x_train)


def test_all_numeric_table_has_no_categories(tmp_path):
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    ds = data.load(tmp_path / "t.csv")
    assert ds.columns == ("0", "1") and ds.categories == {}
    assert ds.label_names is None and ds.y_train is None


def test_dataset_defaults_are_not_a_table():
    ds = data.Dataset("x", np.zeros((2, 3), np.float32))
    assert ds.columns is None and ds.categories is None and ds.label_names is None
    assert not ds.is_table


@pytest.mark.parametrize("name", ["mnist5k", "digits", "mnist", "fashion_mnist"])
def test_named_datasets_refuse_columns_and_schema(name):
    for kwargs in ({"columns": ["a"]}, {"schema": {"columns": ["a"]}}):
        with pytest.raises(VaekitError) as info:
            data.load(name, **kwargs)
        assert str(info.value) == f"--columns applies to CSV tables; {name} is not one"


def test_bad_missing_is_a_value_error(tmp_path):
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match="Received: missing='ignore'"):
        data.load(tmp_path / "t.csv", missing="ignore")
