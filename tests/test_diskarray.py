"""vaekit.data.diskarray: a `.npy` read a batch at a time.

Every read is checked against `numpy.load` of the same file; training,
evaluation and scoring from a `.npy` must give what the same data in memory
gives, without ever reading the file whole (`__array__` is made to fail).
"""

import math

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit import data as data_lib
from vaekit.config import Config
from vaekit.data.diskarray import DiskArray, open_npy
from vaekit.evaluation.likelihood import evaluate, per_example
from vaekit.evaluation.scores import score
from vaekit.training.train import build_model, train


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


def _digits_npy(tmp_path):
    """scikit-learn's digits (in [0, 1]) as a .npy, and the array."""
    x = data_lib.load("digits").x_train[:600]
    np.save(tmp_path / "digits.npy", x)
    return tmp_path / "digits.npy", x


def test_training_from_a_npy_matches_training_in_memory(tmp_path, never_whole):
    path, x = _digits_npy(tmp_path)
    config = Config(
        data=str(path),
        epochs=2,
        hidden_dims=(32,),
        latent_dim=3,
        batch_size=50,
        binarize="dynamic",
        validation_split=0.1,
        eval_iw_samples=5,
        output_bias="data-mean",
        seed=3,
    )
    disk_run, disk_metrics = train(config, output=tmp_path / "disk", verbose=0)
    # The same data in memory: the same batches, hence the same weights.
    memory = data_lib.Dataset("digits.npy", x)
    memory_run, _ = train(config, output=tmp_path / "memory", verbose=0, dataset=memory)
    from vaekit.runs import load_model

    for a, b in zip(
        load_model(disk_run).get_weights(),
        load_model(memory_run).get_weights(),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert disk_metrics["n"] == 60 and np.isfinite(disk_metrics["log_likelihood"])


def test_evaluate_and_score_read_a_npy_by_batches(tmp_path, never_whole):
    path, x = _digits_npy(tmp_path)
    model = build_model(Config(hidden_dims=(16,), latent_dim=2), x.shape[1:])
    disk = data_lib.load(path).x_train
    kwargs = {"iw_samples": 30, "seed": 4, "max_memory": 200 * 30 * 2**12}
    a = per_example(model, disk, **kwargs)
    b = per_example(model, x, **kwargs)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert evaluate(model, disk, **kwargs) == evaluate(model, x, **kwargs)
    scores_disk = score(model, disk, iw_samples=10)
    scores_memory = score(model, x, iw_samples=10)
    for key in scores_disk:
        np.testing.assert_array_equal(scores_disk[key], scores_memory[key])
