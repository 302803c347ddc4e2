"""vaekit.data.diskarray: a `.npy` read a batch at a time.

Every read is checked against `numpy.load` of the same file; loading,
splitting and reshaping keep it on disk, without ever reading the file
whole (`__array__` is made to fail). Training, evaluating and scoring from
a `.npy` are tested with training and evaluation.
"""

import math

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit import data as data_lib
from vaekit.data.diskarray import DiskArray, open_npy


def _scaled(a):
    """What `vaekit.data.to_float` makes of `a`."""
    if a.dtype.kind in "iu":
        return (a.astype(np.float32) / 255.0).astype(np.float32)
    return a.astype(np.float32)


@pytest.mark.parametrize(
    "dtype, shape",
    [
        (np.uint8, (50, 6, 5)),
        (np.float32, (50, 7)),
        (np.float64, (50, 3, 4, 2)),
        (bool, (50, 9)),
        (np.int16, (50, 4, 4, 1)),
    ],
)
def test_reads_match_numpy_load(tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    a = (rng.random(shape) * 255).astype(dtype)
    np.save(tmp_path / "a.npy", a)
    x = open_npy(tmp_path / "a.npy").check("a")
    ref = _scaled(np.load(tmp_path / "a.npy"))
    assert x.shape == ref.shape and len(x) == 50 and x.dtype == np.float32
    assert x.min() == ref.min() and x.max() == ref.max()
    np.testing.assert_array_equal(np.asarray(x), ref)
    np.testing.assert_array_equal(x[3], ref[3])
    np.testing.assert_array_equal(x[-1], ref[-1])
    np.testing.assert_array_equal(x[5:41:3], ref[5:41:3])
    np.testing.assert_array_equal(x[::-2], ref[::-2])
    rows = rng.permutation(50)[:20]
    rows[5] = rows[6]  # a repeated row
    np.testing.assert_array_equal(x[rows], ref[rows])
    mask = rng.random(50) < 0.3
    np.testing.assert_array_equal(x[mask], ref[mask])
    np.testing.assert_array_equal(x[..., 0], ref[..., 0])
    np.testing.assert_array_equal(x[2:9, 1], ref[2:9, 1])
    subset = x.take(rows)
    np.testing.assert_array_equal(subset[4:12], ref[rows][4:12])
    np.testing.assert_array_equal(subset[[3, 0]], ref[rows][[3, 0]])
    flat = x.reshape((-1, math.prod(shape[1:])))
    np.testing.assert_array_equal(flat[7:9], ref[7:9].reshape(2, -1))
    chunks = list(x.chunks(rows=16))
    assert [start for start, _ in chunks] == [0, 16, 32, 48]
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), ref)
    with pytest.raises(IndexError):
        x[50]
    with pytest.raises(IndexError):
        x[np.array([0, 50])]


def test_binarized_rows_do_not_depend_on_what_is_read_with_them(tmp_path):
    a = np.random.default_rng(1).random((40, 6)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    x = open_npy(tmp_path / "a.npy").check("a").binarized(7)
    whole = x[:]
    assert set(np.unique(whole)) <= {0.0, 1.0}
    np.testing.assert_array_equal(x[[9, 3, 30]], whole[[9, 3, 30]])
    np.testing.assert_array_equal(x.take(np.arange(10, 20))[2:4], whole[12:14])
    np.testing.assert_array_equal(x[:], whole)  # the same draws every time
    other = open_npy(tmp_path / "a.npy").binarized(8)[:]
    assert not np.array_equal(other, whole)
    # A fair draw: the mean of the draws is the mean of the values.
    big = np.full((4000, 25), 0.3, np.float32)
    np.save(tmp_path / "b.npy", big)
    draws = open_npy(tmp_path / "b.npy").binarized(0)[:]
    assert abs(draws.mean() - 0.3) < 4 * math.sqrt(0.3 * 0.7 / draws.size)
    assert x.min() == 0.0 and x.max() == 1.0


def test_bad_files(tmp_path):
    a = np.arange(60, dtype=np.float32).reshape(20, 3)
    np.save(tmp_path / "a.npy", a)
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(raw[:-5])
    with pytest.raises(VaekitError, match="truncated"):
        open_npy(tmp_path / "short.npy")
    a[4, 1] = np.nan
    a[7, 0] = np.inf
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(VaekitError, match="2 values are NaN or infinite"):
        data_lib.load(tmp_path / "nan.npy")
    np.save(tmp_path / "int.npy", np.array([[0, 256], [3, 4]], np.int32))
    with pytest.raises(VaekitError, match="0..255"):
        data_lib.load(tmp_path / "int.npy")
    np.save(tmp_path / "big.npy", np.array([[1e300, 0.0]]))
    with pytest.raises(VaekitError, match="NaN or infinite|float32"):
        data_lib.load(tmp_path / "big.npy")
    # Files that cannot be read by rows are numpy's to load (and refuse).
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.ones((4, 3))))
    assert open_npy(tmp_path / "fortran.npy") is None
    assert data_lib.load(tmp_path / "fortran.npy").x_train.shape == (4, 3)
    np.save(tmp_path / "obj.npy", np.array([[1, "a"]], dtype=object))
    assert open_npy(tmp_path / "obj.npy") is None
    with pytest.raises(VaekitError, match="pickled"):
        data_lib.load(tmp_path / "obj.npy")


@pytest.fixture
def never_whole(monkeypatch):
    """Makes reading a `DiskArray` whole fail the test."""

    def whole(self, dtype=None, copy=None):
        raise AssertionError(f"{self!r} was read whole")

    monkeypatch.setattr(DiskArray, "__array__", whole)


def test_load_keeps_a_npy_on_disk(tmp_path, never_whole):
    images = (np.random.default_rng(2).random((30, 8, 8)) * 255).astype(np.uint8)
    np.save(tmp_path / "x.npy", images)
    dataset = data_lib.load(tmp_path / "x.npy")
    assert isinstance(dataset.x_train, DiskArray)
    assert dataset.shape == (8, 8, 1) and dataset.is_image
    x = dataset.x_train
    np.testing.assert_array_equal(x[0:30], _scaled(images)[..., None])
    fitted = data_lib.fit_to_shape(x, (64,))
    assert isinstance(fitted, DiskArray) and fitted.shape == (30, 64)
    (train_part, _), (val_part, _) = data_lib.train_validation_split(x, None, 0.2, 0)
    assert isinstance(train_part, DiskArray) and len(train_part) == 24
    assert len(val_part) == 6


def test_a_training_split_of_a_npy_stays_on_disk(tmp_path, never_whole):
    x = np.random.default_rng(3).random((40, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    dataset = data_lib.load(tmp_path / "x.npy")
    in_memory = data_lib.Dataset("x", x)
    plain = data_lib.split_for_training(dataset, "bernoulli", "none", 0.25, seed=2)
    expected = data_lib.split_for_training(in_memory, "bernoulli", "none", 0.25, 2)
    for part in ("train", "validation"):
        on_disk = getattr(plain, part)[0]
        assert isinstance(on_disk, DiskArray)
        np.testing.assert_array_equal(on_disk[:], getattr(expected, part)[0])
    static = data_lib.split_for_training(dataset, "bernoulli", "static", 0.25, seed=2)
    train = static.train[0]
    assert isinstance(train, DiskArray) and train.binarize_seed == 2
    # each row drawn with (seed, its row in the file): the same draws as the
    # file's binarized rows, wherever the split puts them
    rows = train.rows
    np.testing.assert_array_equal(
        train[:], open_npy(tmp_path / "x.npy").binarized(2)[rows]
    )
    assert static.validation[0].binarize_seed == data_lib.EVAL_SEED
    with pytest.raises(ValueError, match="already binarized"):
        train.binarized(3)
    with pytest.raises(ValueError, match="cannot reshape"):
        dataset.x_train.reshape((40, 4))
