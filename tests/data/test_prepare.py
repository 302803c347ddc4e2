"""vaekit.data.prepare: scaling to float32, the checks for a likelihood,
reshaping to a model's examples, seeded static binarization, the seeded
train/validation split, and the splits of a training run."""

import numpy as np
import pytest

from vaekit import VaekitError, data
from vaekit.data import prepare
from vaekit.errors import DataError, InvalidArgument

# -- scaling -------------------------------------------------------------------


def test_to_float_scales_bytes_and_keeps_floats():
    raw = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_array_equal(
        data.to_float(raw, "x"), np.array([[0, 0.2, 1]], np.float32)
    )
    assert data.to_float(raw, "x").dtype == np.float32
    ints = np.array([[3, 200]], np.int64)  # any integer type in 0..255
    expected = (np.array([[3, 200]], np.float32) / np.float32(255)).astype(np.float32)
    np.testing.assert_array_equal(data.to_float(ints, "x"), expected)
    floats = np.array([[-3.5, 1e6]], np.float64)
    np.testing.assert_array_equal(data.to_float(floats, "x"), floats.astype(np.float32))
    flags = np.array([[True, False]])
    np.testing.assert_array_equal(data.to_float(flags, "x"), [[1.0, 0.0]])
    assert data.to_float([[1.0, 2.0]], "x").dtype == np.float32  # a list too


@pytest.mark.parametrize(
    "x, words",
    [
        (np.array([["a", "b"]]), "must be numeric, got dtype <U1"),
        (np.array([[1, None]], dtype=object), "must be numeric, got dtype object"),
        (np.zeros((0, 3)), r"non-empty array of examples \(rows\), got shape \(0, 3\)"),
        (np.zeros(5), r"got shape \(5,\)"),
        (np.zeros((2, 3, 4, 5, 6)), r"\(H, W, C\), got an array of shape"),
        (np.array([[-1, 3]]), "integer data must lie in 0..255.*got -1..3"),
        (np.array([[0, 256]], np.int32), "got 0..256"),
        (np.array([[np.nan, 1.0, np.inf]]), "2 values are NaN or infinite"),
        (np.array([[1e300, 0.0]]), "1 values are NaN or infinite"),  # float32 inf
    ],
)
def test_to_float_refuses_what_a_model_cannot_take(x, words):
    with pytest.raises(DataError, match=words) as info:
        data.to_float(x, "source.npy")
    assert str(info.value).startswith("source.npy: ")


def test_as_images_adds_a_channel_to_greyscale_only():
    grey = np.zeros((2, 5, 6))
    assert data.as_images(grey).shape == (2, 5, 6, 1)
    for shape in ((2, 7), (2, 5, 6, 3)):
        x = np.zeros(shape)
        assert data.as_images(x) is x


# -- checks and shapes -----------------------------------------------------------


def test_bernoulli_needs_unit_interval():
    data.check_for_likelihood(np.array([[0.0, 1.0]]), "bernoulli", "x")
    data.check_for_likelihood(np.array([[-3.0, 7.0]]), "gaussian", "x")
    with pytest.raises(DataError) as info:
        data.check_for_likelihood(np.array([[-0.5, 1.5]]), "bernoulli", "x.npy")
    assert str(info.value) == (
        "x.npy: the bernoulli likelihood needs values in [0, 1], got -0.5..1.5; "
        "rescale the data or use --likelihood gaussian"
    )


def test_fit_to_shape_reshapes_when_the_sizes_agree():
    flat = np.arange(24, dtype=np.float64).reshape(2, 12)
    images = data.fit_to_shape(flat, (2, 6, 1))
    assert images.shape == (2, 2, 6, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images.reshape(2, 12), flat)
    np.testing.assert_array_equal(data.fit_to_shape(images, (12,)), flat)
    same = np.zeros((3, 4), np.float32)
    assert data.fit_to_shape(same, [4]) is same  # nothing to do
    with pytest.raises(DataError, match=r"shape \(12,\) but the model expects"):
        data.fit_to_shape(flat, (13,), "x.npy")
    with pytest.raises(DataError, match="non-empty"):
        data.fit_to_shape(np.zeros((0, 12)), (12,))


def test_bad_library_arguments_raise_value_error_naming_them():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="Received: fraction=1.0"):
        data.train_validation_split(x, None, 1.0, seed=0)
    with pytest.raises(InvalidArgument, match="Received: likelihood='poisson'"):
        data.check_for_likelihood(x, "poisson", "x")
    with pytest.raises(ValueError, match="Received: which='val'"):
        data.Dataset("x", x).split("val")


# -- binarization and splits ------------------------------------------------


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
    # a pixel of 0.25 is on in a quarter of 20000 draws (4 standard errors)
    quarter = data.binarize(np.full((20000, 1), 0.25, np.float32), seed=1)
    assert abs(quarter.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 20000)


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
    # the split is numpy's permutation of the seed: validation first
    order = np.random.default_rng(5).permutation(100)
    np.testing.assert_array_equal(yv, order[:20])
    np.testing.assert_array_equal(yt, order[20:])
    (_, _), (xv3, _) = data.train_validation_split(x, y, 0.2, seed=6)
    assert not np.array_equal(xv, xv3)
    (xt0, yt0), (xv0, yv0) = data.train_validation_split(x, None, 0.0, seed=5)
    assert len(xt0) == 100 and len(xv0) == 0 and yt0 is None and yv0 is None
    # a tiny fraction still holds out one example
    (_, _), (xv1, _) = data.train_validation_split(x, None, 0.001, seed=5)
    assert len(xv1) == 1
    with pytest.raises(VaekitError, match="1 examples are too few"):
        data.train_validation_split(x[:1], None, 0.5, seed=0)


def dataset(with_test):
    rng = np.random.default_rng(0)
    x = rng.random((50, 6)).astype(np.float32)
    y = np.arange(50)
    if not with_test:
        return data.Dataset("d", x, y)
    x_test = rng.random((10, 6)).astype(np.float32)
    return data.Dataset("d", x, y, x_test, np.arange(100, 110))


@pytest.mark.parametrize("rule", ["none", "static", "dynamic"])
@pytest.mark.parametrize("with_test", [False, True])
def test_split_for_training(rule, with_test):
    ds = dataset(with_test)
    splits = data.split_for_training(ds, "bernoulli", rule, 0.2, seed=7)
    (x_train, y_train), (x_val, y_val) = data.train_validation_split(
        ds.x_train, ds.y_train, 0.2, 7
    )
    np.testing.assert_array_equal(splits.train[1], y_train)
    np.testing.assert_array_equal(splits.validation[1], y_val)
    # static: the training data drawn once with the run's seed; dynamic: left
    # grey for a fresh draw each epoch
    expected_train = data.binarize(x_train, 7) if rule == "static" else x_train
    np.testing.assert_array_equal(splits.train[0], expected_train)
    # held-out data of a binarized run: one fixed draw (EVAL_SEED)
    held = (lambda x: x) if rule == "none" else (lambda x: data.binarize(x, 0))
    assert data.EVAL_SEED == 0
    np.testing.assert_array_equal(splits.validation[0], held(x_val))
    if with_test:
        assert splits.evaluation_split == "test"
        np.testing.assert_array_equal(splits.evaluation[0], held(ds.x_test))
        np.testing.assert_array_equal(splits.evaluation[1], ds.y_test)
    else:
        assert splits.evaluation_split == "validation"
        np.testing.assert_array_equal(splits.evaluation[0], splits.validation[0])


def test_split_for_training_checks_both_splits_for_the_likelihood():
    ds = dataset(True)
    ds.x_test[0, 0] = 2.0
    with pytest.raises(DataError, match=r"^d \(test\): the bernoulli likelihood"):
        data.split_for_training(ds, "bernoulli", "none", 0.1, seed=0)
    splits = data.split_for_training(ds, "gaussian", "none", 0.1, seed=0)
    assert splits.evaluation[0][0, 0] == 2.0
    ds.x_train[3, 1] = -1.0
    with pytest.raises(DataError, match="^d: the bernoulli likelihood"):
        data.split_for_training(ds, "bernoulli", "none", 0.1, seed=0)
    assert isinstance(splits, prepare.Splits)
