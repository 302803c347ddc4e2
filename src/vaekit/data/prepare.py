"""Preparing data for a model: scaling, checks, reshaping, binarization and
the splits a training run uses.

Everything here takes numpy arrays or `vaekit.data.DiskArray`s (a `.npy`
read a batch at a time) and keeps the latter on disk.
"""

import math

import numpy as np

from vaekit import checks
from vaekit.data.diskarray import DiskArray
from vaekit.errors import DataError

__all__ = [
    "EVAL_SEED",
    "Splits",
    "as_images",
    "binarize",
    "check_for_likelihood",
    "fit_to_shape",
    "split_for_training",
    "to_float",
    "train_validation_split",
]

EVAL_SEED = 0  # one fixed binarization and importance-sample draw for evaluation


def to_float(x, source):
    """Scales an array to float32: integers 0..255 (uint8 images) by 1/255,
    floats as they are. Refuses non-numeric, empty and non-finite data. A
    `DiskArray` (a `.npy` read a batch at a time) is checked in one pass over
    its file and stays on disk."""
    if not isinstance(x, DiskArray):
        x = np.asarray(x)
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise DataError(
            f"{source}: data must be numeric, got dtype {x.dtype}; convert it to "
            "numbers first"
        )
    if x.ndim < 2 or x.shape[0] == 0 or x.size == 0:
        raise DataError(
            f"{source}: expected a non-empty array of examples (rows), got shape "
            f"{x.shape}"
        )
    if x.ndim > 4:
        raise DataError(
            f"{source}: expected examples of shape (D,), (H, W) or (H, W, C), got "
            f"an array of shape {x.shape}; reshape it first"
        )
    if isinstance(x, DiskArray):
        return x.check(source)
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    if x.dtype.kind in "iu":
        if x.min() < 0 or x.max() > 255:
            raise DataError(
                f"{source}: integer data must lie in 0..255 (8-bit images), got "
                f"{x.min()}..{x.max()}; scale it to floats yourself"
            )
        return (x.astype(np.float32) / 255.0).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        # float64 beyond float32's range becomes inf, refused just below
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise DataError(
            f"{source}: {bad} values are NaN or infinite; remove or impute them"
        )
    return x


def as_images(x):
    """`(n, H, W)` greyscale becomes `(n, H, W, 1)`; other shapes stay."""
    if x.ndim != 3:
        return x
    return x.reshape((*x.shape, 1)) if isinstance(x, DiskArray) else x[..., None]


def check_for_likelihood(x, likelihood, source):
    """The Bernoulli likelihood needs data in [0, 1].

    Raises:
        InvalidArgument: for an unknown `likelihood`.
        DataError: if `x` (named `source`) does not suit it.
    """
    checks.one_of(likelihood, "likelihood", checks.LIKELIHOODS)
    if likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
        raise DataError(
            f"{source}: the bernoulli likelihood needs values in [0, 1], got "
            f"{x.min():.4g}..{x.max():.4g}; rescale the data or use --likelihood "
            "gaussian"
        )


def fit_to_shape(x, shape, source="data"):
    """Returns `x` as float32 examples of `shape`, reshaping flat vectors to
    images (or back) when the sizes agree, as the tutorial's 784-vectors and
    28x28x1 images do.

    Raises:
        DataError: if `x` holds no examples or their size differs.
    """
    if not isinstance(x, DiskArray):
        x = np.asarray(x, dtype=np.float32)
    shape = tuple(shape)
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{source}: expected a non-empty batch of examples")
    if tuple(x.shape[1:]) != shape:
        if math.prod(x.shape[1:]) != math.prod(shape):
            raise DataError(
                f"{source} has examples of shape {tuple(x.shape[1:])} but the model "
                f"expects {shape}: use the data the model was trained on"
            )
        x = x.reshape((len(x), *shape))
    return x


def binarize(x, seed):
    """Static binarization: one Bernoulli draw of each value, seeded (of a
    `DiskArray`: drawn as its rows are read, seeded by `(seed, row)`)."""
    if isinstance(x, DiskArray):
        return x.binarized(seed)
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def train_validation_split(x, y, fraction, seed):
    """A seeded random split of the training data into train and validation:
    `((x_train, y_train), (x_val, y_val))`, with `round(n * fraction)`
    validation examples (at least one if `fraction > 0`).

    Raises:
        InvalidArgument: if `fraction` is not in [0, 1).
        DataError: if no training example would be left.
    """
    checks.number(fraction, "fraction", 0, 1, exclusive=("maximum",))
    n = len(x)
    n_val = int(round(n * fraction))
    if fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise DataError(
            f"{n} examples are too few for a validation split of {fraction}"
        )
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    y_train = None if y is None else y[train]
    y_val = None if y is None else y[val]
    if isinstance(x, DiskArray):
        return (x.take(train), y_train), (x.take(val), y_val)
    return (x[train], y_train), (x[val], y_val)


class Splits:
    """The data of a training run: `train` and `validation` as `(x, y)`,
    and `evaluation` as `(x, y)` with its name (`evaluation_split`): the
    data's own test split when it has one, else the validation split;
    `label_names`, the class names of labels given as their indices (see
    `Dataset`), or None."""

    def __init__(
        self, train, validation, evaluation, evaluation_split, label_names=None
    ):
        self.train = train
        self.validation = validation
        self.evaluation = evaluation
        self.evaluation_split = evaluation_split
        self.label_names = label_names


def split_for_training(dataset, likelihood, binarize_rule, validation_split, seed):
    """Checks a dataset for the likelihood, splits off the validation data
    and binarizes what is binarized once: statically binarized training
    data, and the validation and test data of a binarized run (with
    `EVAL_SEED`, so that every evaluation sees the same draw).

    Args:
        dataset: A `vaekit.data.Dataset`.
        likelihood: `"bernoulli"` or `"gaussian"`.
        binarize_rule: `"none"`, `"static"` or `"dynamic"`.
        validation_split: The fraction of the training data held out.
        seed: The run's seed (of the split and the static draw).

    Returns:
        A `Splits`.

    Raises:
        DataError: if the data does not suit the likelihood, or is too
            small to split.
    """
    x, y = dataset.x_train, dataset.y_train
    check_for_likelihood(x, likelihood, dataset.name)
    (x_train, y_train), (x_val, y_val) = train_validation_split(
        x, y, validation_split, seed
    )
    if binarize_rule == "static":
        x_train = binarize(x_train, seed)
    if binarize_rule != "none" and len(x_val):
        x_val = binarize(x_val, EVAL_SEED)
    if dataset.x_test is None:
        return Splits(
            (x_train, y_train),
            (x_val, y_val),
            (x_val, y_val),
            "validation",
            dataset.label_names,
        )
    x_eval = dataset.x_test
    check_for_likelihood(x_eval, likelihood, f"{dataset.name} (test)")
    if binarize_rule != "none":
        x_eval = binarize(x_eval, EVAL_SEED)
    return Splits(
        (x_train, y_train),
        (x_val, y_val),
        (x_eval, dataset.y_test),
        "test",
        dataset.label_names,
    )
