"""The data a trained model applies to, read in the model's own terms.

Every library call that applies a model to data (encode, reconstruct,
evaluate, score, the pictures) takes the data as a spec (a name or a path),
a pandas DataFrame or an array, and reads it here: a table by the model's
columns and categories, examples reshaped to the model's input, and the
labels of a conditional model mapped to its classes.
"""

import dataclasses
import os

import numpy as np

from vaekit import data as data_lib
from vaekit.data.tables import is_frame
from vaekit.errors import DataError
from vaekit.model.conditions import condition_values

__all__ = ["Inputs", "class_indices", "named_labels", "read_inputs"]


@dataclasses.dataclass
class Inputs:
    """Data read for a model.

    Attributes:
        x: The examples, `(n, *model.data_shape)` float32 (or a
            `vaekit.data.DiskArray`).
        y: The labels as the data has them (numbers, or indices into
            `label_names`), or None.
        condition: For a conditional model, each example's condition value
            (class indices of the model's classes, or numbers); else None.
        split: The split read (`train`, `test` or `all`).
        rows: Each example's 0-based place among the data's rows (a table's
            row dropped for a missing value leaves a gap).
        label_names: The class names of text labels, else None.
        name: What the data was, for messages.
    """

    x: object
    y: object = None
    condition: object = None
    split: str = "all"
    rows: object = None
    label_names: tuple | None = None
    name: str = "data"

    @property
    def labels(self):
        """The labels as the data names them (see `named_labels`), or None."""
        return named_labels(self.y, self.label_names)


def _name(data):
    if isinstance(data, (str, os.PathLike)):
        return repr(os.fspath(data))
    return type(data).__name__


def read_inputs(
    model, data, label_column=None, split=None, missing="error", labels=None
):
    """Reads `data` for `model`.

    Args:
        model: A `vaekit.VAE`.
        data: A dataset spec (see `vaekit.data.load`), a pandas DataFrame, an
            array of examples, or a `vaekit.data.Dataset`.
        label_column: For a table: the column of the labels, or None.
        split: "train", "test" or "all" (default: "test" if the data has a
            test split, else "all").
        missing: For a table: what to do with a row with a missing value,
            "error" or "drop".
        labels: For a conditional model, the labels of the examples (read
            by `VAE.condition_values`) instead of the data's own: how an
            array's examples get theirs.

    Returns:
        `Inputs`.

    Raises:
        DataError: for bad data, a missing split, data that does not fit the
            model, or a conditional model without labels.
    """
    name = _name(data)
    schema = model.schema if _is_table(data) else None
    dataset = data_lib.load(data, label_column, missing=missing, schema=schema)
    if split is None:
        split = "test" if dataset.x_test is not None else "all"
    x, y = dataset.split(split)
    x = data_lib.fit_to_shape(x, model.data_shape, f"data {name}")
    condition = None
    if model.conditional and labels is not None:
        condition = model.condition_values(labels)
        if len(condition) != len(x):
            raise DataError(
                f"data {name} has {len(x)} examples but {len(condition)} labels"
            )
    elif model.conditional:
        if y is None:
            raise DataError(
                f"the model is a conditional VAE: it needs the labels of data "
                f"{name} (for a table, name its label column)"
            )
        condition = class_indices(
            model, y, dataset.label_names, f"the labels of data {name}"
        )
    rows = dataset.rows if dataset.rows is not None and split != "test" else None
    return Inputs(
        x=x,
        y=y,
        condition=condition,
        split=split,
        rows=np.arange(len(x)) if rows is None else rows,
        label_names=dataset.label_names,
        name=name,
    )


def _is_table(data):
    """True for data read as a table: a DataFrame or a `.csv` path."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data).lower().endswith(".csv")
    return is_frame(data)


def class_indices(model, y, label_names=None, source="labels"):
    """The labels `y` as a conditional model's condition values: numbers
    checked against its classes, text labels (indices into `label_names`)
    mapped to its class names (see `vaekit.model.conditions`).

    Raises:
        DataError: for a non-finite label, or one the model does not know.
    """
    return condition_values(model, y, label_names, source)


def named_labels(y, label_names=None):
    """Labels as outputs show them: the names of labels given as indices
    into `label_names` (an image folder's sub-folders, a table's text
    labels), else the numbers as they are; None stays None."""
    if y is None:
        return None
    y = np.asarray(y).reshape(-1)
    if label_names is None:
        return y
    return np.asarray(label_names, dtype=object)[y.astype(np.int64)]
