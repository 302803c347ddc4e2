"""Readers of the user's data files: `.npy`, `.npz`, `.csv`, a folder of
MNIST-style IDX files, a folder of PNG/JPEG images.

Each reader returns the raw arrays it found, as a dict that maps the parts
of a dataset (`x_train`, `y_train`, `x_test`, `y_test`) to `(array,
source)`, where `source` names the file (or archive member) for messages;
`vaekit.data.datasets` scales and checks them. CSV tables are read by
`vaekit.data.tables`; IDX, `.npy` and `.npz` files by
`vaekit.data.arrayfiles` (bounded before they are read); image folders by
`vaekit.data.images`. Every way a file
can be unreadable, truncated or corrupt ends in a `DataError` that names
it; nothing is ever unpickled.
"""

import os

from vaekit.data.arrayfiles import (
    IDX_NAMES,
    read_idx,
    read_idx_folder,
    read_npy,
    read_npz,
)
from vaekit.data.csvfile import read_csv
from vaekit.data.images import IMAGE_SUFFIXES, read_image_folder
from vaekit.errors import DataError

__all__ = [
    "IDX_NAMES",
    "IMAGE_SUFFIXES",
    "read_idx",
    "read_idx_folder",
    "read_image_folder",
    "read_npy",
    "read_npz",
    "read_path",
]


# -- any path -----------------------------------------------------------------


def _not_a_table(path):
    return DataError(f"columns apply to tables (CSV files); {path} is not one")


def read_path(
    path, label_column=None, columns=None, missing="error", schema=None, **table
):
    """Reads an existing file or folder by its kind (see the module
    docstring). `label_column`, `columns`, `missing`, `schema` and the
    keyword arguments `table` (`sep`, `categorical_columns`,
    `numeric_columns`, `id_column`) are `read_csv`'s; other formats ignore
    `missing` and a `sep` of `"auto"`, and refuse the others (`label_column`
    aside).

    Raises:
        DataError: if it is unreadable, of an unknown kind, or corrupt, or
            if `columns`, `schema` or another table option is given for
            something else than a CSV file.
    """
    table_only = (
        columns is not None
        or schema is not None
        or any(v not in (None, "auto") for v in table.values())
    )
    if os.path.isdir(path):
        if table_only:
            raise _not_a_table(path)
        parts = read_idx_folder(path) or read_image_folder(path)
        if parts is None:
            raise DataError(
                f"folder {path!r} holds neither MNIST-style IDX files "
                "(train-images-idx3-ubyte[.gz], ...) nor PNG/JPEG images"
            )
        return parts
    if not os.access(path, os.R_OK):
        raise DataError(f"data file {path!r} is not readable (permissions)")
    if os.path.getsize(path) == 0:
        raise DataError(f"data file {path!r} is empty")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        return read_csv(path, label_column, columns, missing, schema, **table)
    if table_only:
        raise _not_a_table(path)
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        return read_npz(path)
    if suffix in IMAGE_SUFFIXES or suffix == ".gz" or "idx" in os.path.basename(path):
        raise DataError(
            f"data {path!r}: pass the folder that holds the images or IDX files"
        )
    raise DataError(
        f"data file {path!r} has an unknown format: use .npy, .npz, .csv, a folder of "
        "IDX files or a folder of images"
    )
