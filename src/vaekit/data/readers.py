"""Readers of the user's data files: `.npy`, `.npz`, `.csv`, a folder of
MNIST-style IDX files, a folder of PNG/JPEG images.

Each reader returns the raw arrays it found, as a dict that maps the parts
of a dataset (`x_train`, `y_train`, `x_test`, `y_test`) to `(array,
source)`, where `source` names the file (or archive member) for messages;
`vaekit.data` scales and checks them. A CSV table also returns, as
`(value, source)` too, the names of its feature columns (`columns`), the
categories of its text columns (`categories`) and, for text labels, the
class names (`label_names`). Every way a file can be unreadable, truncated
or corrupt ends in a `VaekitError` that names it; nothing is ever
unpickled.
"""

import csv
import gzip
import math
import os
import sys
import zipfile
import zlib

import numpy as np

from vaekit import VaekitError, checks
from vaekit.data.diskarray import open_npy

__all__ = [
    "IDX_NAMES",
    "IMAGE_SUFFIXES",
    "MISSING",
    "read_csv",
    "read_idx",
    "read_idx_folder",
    "read_image_folder",
    "read_npy",
    "read_npz",
    "read_path",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_NPY_MAGIC = b"\x93NUMPY"
# What `read_csv` does with a missing value in a column it uses.
MISSING = checks.MISSING


# -- IDX ------------------------------------------------------------------


def _open_maybe_gz(path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Reads one IDX file (optionally gzipped) into a numpy array."""
    try:
        with _open_maybe_gz(path) as handle:
            raw = handle.read()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise VaekitError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise VaekitError(
            f"{path}: not an IDX file of unsigned bytes (bad magic number)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise VaekitError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = math.prod(dims)
    if len(raw) - header != size:
        raise VaekitError(
            f"{path}: IDX payload has {len(raw) - header} bytes, header says {size} "
            f"(shape {dims}); the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(folder, stem):
    # Some mirrors spell the names with a dot: train-images.idx3-ubyte.
    for base in (stem, stem.replace("-idx", ".idx")):
        for name in (base, base + ".gz"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def read_idx_folder(folder):
    """A folder with MNIST-style IDX files: train images (required), train
    labels, t10k images and labels (optional). None if it has no train
    images."""
    paths = {key: _find_idx(folder, stem) for key, stem in IDX_NAMES.items()}
    if paths["x_train"] is None:
        return None
    return {key: (read_idx(path), path) for key, path in paths.items() if path}


# -- image folders ------------------------------------------------------------


def _read_image(path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = "L" if img.mode in ("L", "1", "I;16", "I", "LA") else "RGB"
            return np.asarray(img.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise VaekitError(f"{path}: cannot read image ({exc})") from None
    # Pillow's decoders raise many other types on corrupt bytes
    # (DecompressionBombError, struct.error, zlib.error, ...)
    except Exception as exc:  # noqa: BLE001
        raise VaekitError(
            f"{path}: cannot read image ({type(exc).__name__}: {exc})"
        ) from None


def read_image_folder(folder):
    """A folder of PNG/JPEG images, flat or with one sub-folder per class
    (labels 0, 1, ... in the sorted order of the sub-folders). All images
    must have the same size; greyscale stays one channel unless mixed with
    colour. None if it holds no images."""
    entries = sorted(os.listdir(folder))
    classes = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    paths, labels = [], []
    if classes:
        for label, cls in enumerate(classes):
            for name in sorted(os.listdir(os.path.join(folder, cls))):
                if name.lower().endswith(IMAGE_SUFFIXES):
                    paths.append(os.path.join(folder, cls, name))
                    labels.append(label)
    else:
        paths = [
            os.path.join(folder, e)
            for e in entries
            if e.lower().endswith(IMAGE_SUFFIXES)
        ]
    if not paths:
        return None
    images = [_read_image(path) for path in paths]
    if any(im.ndim == 3 for im in images):
        images = [
            np.repeat(im[..., None], 3, -1) if im.ndim == 2 else im for im in images
        ]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise VaekitError(
            f"{folder}: images have different sizes {sorted(shapes)[:3]}; resize them "
            "to one size first"
        )
    parts = {"x_train": (np.stack(images), folder)}
    if classes:
        parts["y_train"] = (np.asarray(labels, dtype=np.int64), folder)
    return parts


# -- numpy files --------------------------------------------------------------


def _read_array(read, path, what):
    """Runs `read()` (an `np.load` or an npz member access) and turns every
    way a corrupt file fails inside numpy into a VaekitError."""
    try:
        x = read()
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise VaekitError(
                f"{path}: holds pickled Python objects, which vaekit never loads "
                f"(unsafe); save {what} instead"
            ) from None
        raise VaekitError(f"{path}: corrupt or truncated ({exc})") from None
    except MemoryError:
        raise VaekitError(
            f"{path}: the header declares an array too large for memory; the file "
            "is corrupt"
        ) from None
    # numpy's header parser and zlib raise many types on corrupt bytes
    except Exception as exc:  # noqa: BLE001
        raise VaekitError(
            f"{path}: corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(x, np.ndarray):
        raise VaekitError(f"{path}: corrupt: a member is not a .npy array")
    return x


def read_npy(path):
    """A `.npy` file: one array of examples."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise VaekitError(f"{path}: cannot read .npy file ({exc})") from None
    if magic != _NPY_MAGIC:
        raise VaekitError(
            f"{path}: not a .npy file (no NUMPY magic bytes); save arrays with "
            "numpy.save"
        )
    x = open_npy(path)  # read a batch at a time, never whole
    if x is None:
        x = _read_array(
            lambda: np.load(path, allow_pickle=False), path, "a numeric array"
        )
    return {"x_train": (x, path)}


def read_npz(path):
    """A `.npz` archive with `x_train` (and `x_test`, `y_train`, `y_test`),
    or `x` (and `y`)."""
    if not zipfile.is_zipfile(path):
        raise VaekitError(
            f"{path}: not a .npz file (not a zip archive, or truncated); save "
            "arrays with numpy.savez"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    # zipfile raises many types on corrupt archives (NotImplementedError for
    # a garbled version field, ...)
    except Exception as exc:  # noqa: BLE001
        raise VaekitError(
            f"{path}: not a valid .npz file ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise VaekitError(f"{path}: not a valid .npz file (no archive of arrays)")
    with archive:
        keys = set(archive.files)
        if "x_train" in keys:
            names = {k: k for k in IDX_NAMES if k in keys}
        elif "x" in keys:
            names = (
                {"x_train": "x", "y_train": "y"} if "y" in keys else {"x_train": "x"}
            )
        else:
            raise VaekitError(
                f"{path}: expected arrays x_train (and x_test, y_train, y_test) or "
                f"x (and y); found {sorted(keys)}"
            )
        parts = {}
        for key, name in names.items():
            source = f"{path}[{name}]"
            member = _read_array(
                lambda name=name: archive[name], source, "numeric arrays"
            )
            parts[key] = (member, source)
    return parts


# -- CSV ----------------------------------------------------------------------

# Cells that hold no value (compared stripped and lower-cased); a cell that
# parses as a NaN float ("-nan", ...) is missing too.
_MISSING_CELLS = frozenset(("", "na", "n/a", "nan", "null"))


def _read_rows(path):
    """The non-blank rows of a CSV file and the 1-based line of the file on
    which each starts (blank lines and multi-line quoted cells counted)."""
    rows, lines = [], []
    try:
        # utf-8-sig: spreadsheets often start their CSV exports with a BOM
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            start = 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VaekitError(f"{path}: cannot read CSV ({exc})") from None
    return rows, lines


def _is_numeric_row(row):
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def _floats(cells):
    """`cells` as float64, or None if one does not parse as a float."""
    try:
        return np.fromiter(map(float, cells), np.float64, count=len(cells))
    except ValueError:
        return None


class _Column:
    """One column of a CSV table: its name, its cells and which of them are
    missing; `values` holds the floats of a numeric column (NaN where
    missing) and is None if a present cell is text."""

    def __init__(self, name, cells):
        self.name = name
        self.cells = cells
        self.values = _floats(cells)
        if self.values is not None:
            self.missing = np.isnan(self.values)
            return
        stripped = [cell.strip() for cell in cells]
        self.missing = np.fromiter(
            (cell.lower() in _MISSING_CELLS for cell in stripped), bool, len(cells)
        )
        present = _floats(
            [c for c, m in zip(stripped, self.missing, strict=True) if not m]
        )
        if present is not None:
            self.values = np.full(len(cells), np.nan)
            self.values[~self.missing] = present
            self.missing |= np.isnan(self.values)

    def keep(self, rows):
        """Keeps the rows in the boolean mask `rows` (or all, for None)."""
        if rows is not None:
            self.cells = [
                cell for cell, kept in zip(self.cells, rows, strict=True) if kept
            ]
            self.missing = self.missing[rows]
            if self.values is not None:
                self.values = self.values[rows]

    def strings(self):
        return [cell.strip() for cell in self.cells]


def _label_index(path, label_column, names):
    width = len(names)
    if isinstance(label_column, str) and label_column in names:
        index = names.index(label_column)
    elif str(label_column).lstrip("-").isdigit():
        index = int(label_column)
    else:
        raise VaekitError(
            f"{path}: no label column {label_column!r}; columns are {names}"
        )
    if not -width <= index < width:
        raise VaekitError(f"{path}: label column {index} out of range 0..{width - 1}")
    return index % width


def _check_schema(schema):
    """Returns the feature names and the categories of a `schema`.

    Raises:
        ValueError: if it is not a dict of column names and categories.
    """
    expected = (
        'a dict {"columns": [names, ...], "categories": {name: [strings, ...]}} '
        "whose categorical columns are among its columns"
    )
    if not isinstance(schema, dict):
        raise checks.invalid("schema", expected, schema)
    columns, categories = schema.get("columns"), schema.get("categories", {})
    ok = (
        isinstance(columns, (list, tuple))
        and len(columns) > 0
        and all(isinstance(name, str) for name in columns)
        and isinstance(categories, dict)
        and all(
            name in columns
            and isinstance(cats, (list, tuple))
            and len(cats) > 0
            and all(isinstance(cat, str) for cat in cats)
            for name, cats in categories.items()
        )
    )
    if not ok:
        raise checks.invalid("schema", expected, schema)
    return list(columns), {name: tuple(cats) for name, cats in categories.items()}


def _feature_indices(path, names, columns, schema_columns):
    """The indices of the feature columns: the schema's, the selected
    `columns`, or None for every column but the label."""
    if schema_columns is not None:
        absent = [name for name in schema_columns if name not in names]
        if absent:
            raise VaekitError(
                f"{path}: no column {', '.join(map(repr, absent))}; the model was "
                f"trained on the columns {schema_columns}, and this file has "
                f"{names}"
            )
        return [names.index(name) for name in schema_columns]
    if columns is None:
        return None
    if isinstance(columns, (str, bytes)):
        raise checks.invalid("columns", "a sequence of column names", columns)
    wanted = [str(name) for name in columns]
    if not wanted:
        raise VaekitError(f"{path}: no feature columns selected; name at least one")
    for name in wanted:
        if name not in names:
            raise VaekitError(f"{path}: no column {name!r}; columns are {names}")
        if wanted.count(name) > 1:
            raise VaekitError(f"{path}: column {name!r} is selected twice")
    return [names.index(name) for name in wanted]


def _drop_missing(path, used, lines, missing):
    """The mask of the rows to keep (None for all) given the missing cells
    of the `used` columns, or a VaekitError for the first one."""
    absent = np.zeros(len(lines), bool)
    for column in used:
        absent |= column.missing
    if not absent.any():
        return None
    if missing == "error":
        row = int(np.argmax(absent))
        column = next(column for column in used if column.missing[row])
        raise VaekitError(
            f"{path}: line {lines[row]}, column {column.name!r}: missing value "
            f"{column.cells[row].strip()!r}; fill it in or pass --missing drop to "
            "drop such rows"
        )
    dropped, n = int(absent.sum()), len(lines)
    if dropped == n:
        raise VaekitError(
            f"{path}: all {n} rows have missing values in the columns used; fill "
            "them in or choose other columns with --columns"
        )
    print(
        f"vaekit: {path}: dropped {dropped} of {n} rows with missing values",
        file=sys.stderr,
        flush=True,
    )
    return ~absent


def _categories(path, column):
    """A text column of the training data as category indices, and its
    categories (the sorted distinct strings)."""
    strings = column.strings()
    categories = tuple(sorted(set(strings)))
    if len(categories) < 2:
        raise VaekitError(
            f"{path}: column {column.name!r} holds text with a single value "
            f"{categories[0]!r}; a categorical column needs at least two "
            "categories: drop it with --columns"
        )
    index = {category: i for i, category in enumerate(categories)}
    values = np.fromiter((index[s] for s in strings), np.float64, len(strings))
    return values, categories


def _schema_categories(path, column, categories, lines):
    """A column the model took as categorical, mapped with its categories."""
    index = {category: i for i, category in enumerate(categories)}
    strings = column.strings()
    for row, string in enumerate(strings):
        if string not in index:
            raise VaekitError(
                f"{path}: line {lines[row]}, column {column.name!r}: unknown "
                f"category {string!r}; the model knows {list(categories)}: map "
                "the value to one of them or drop the row"
            )
    return np.fromiter((index[s] for s in strings), np.float64, len(strings))


def _schema_numeric(path, column, lines):
    """A column the model took as numeric; refuses text."""
    if column.values is None:
        for row, string in enumerate(column.strings()):
            if _floats([string]) is None:
                raise VaekitError(
                    f"{path}: line {lines[row]}, column {column.name!r}: text "
                    f"{string!r} in a column the model was trained on as numeric; "
                    "replace it with a number"
                )
    return column.values


def read_csv(path, label_column=None, columns=None, missing="error", schema=None):
    """A table in a CSV file: numbers and text (categorical) columns.

    The first row is a header if one of its cells is not a number; a table
    with text columns therefore needs one. Without a header the columns are
    named `"0"`, `"1"`, .... A feature column with text in it is
    categorical: its categories are its sorted distinct strings, and the
    returned table holds their indices (0.0, 1.0, ...). An empty cell, or
    `NA`, `N/A`, `NaN`, `null` (any case), is a missing value.

    Args:
        path: The file.
        label_column: A header name or a 0-based index (negative counts from
            the end): the column taken out as labels. Numbers stay float64;
            text becomes int64 class indices in the sorted order of the class
            names.
        columns: None for every column but the label, or the names of the
            feature columns (index strings for a file without header), in
            the order wanted. Ignored with a `schema`.
        missing: `"error"` refuses a missing value in a column used (the
            features and the label); `"drop"` drops such rows and says on
            stderr how many.
        schema: None, or what a trained model expects: `{"columns": [names],
            "categories": {name: [strings]}}`. The features are then its
            columns, in its order, and its categorical columns are mapped
            with its categories.

    Returns:
        The parts (see the module docstring): `x_train` (float64 `(n, D)`),
        `columns` (the feature names), `categories` (`{name: categories}` of
        the categorical features), and with a label column `y_train` and, for
        text labels, `label_names`.

    Raises:
        ValueError: for a `missing` not in `MISSING`, or a malformed
            `schema`.
        VaekitError: if the file is unreadable, ragged, has a missing value
            (with `missing="error"`) or does not fit the arguments.
    """
    checks.one_of(missing, "missing", MISSING)
    schema_columns, schema_categories = (
        (None, None) if schema is None else _check_schema(schema)
    )
    rows, lines = _read_rows(path)
    if not rows:
        raise VaekitError(f"{path}: the CSV file is empty")
    header = None
    if not _is_numeric_row(rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise VaekitError(f"{path}: the CSV file has a header but no data rows")
    width = len(rows[0])
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise VaekitError(
                f"{path}: line {line} has {len(row)} columns, expected {width} "
                "(ragged rows)"
            )
    if header is not None and len(header) != width:
        raise VaekitError(
            f"{path}: the header has {len(header)} columns but the rows have "
            f"{width}; give every column one name"
        )
    names = header if header is not None else [str(i) for i in range(width)]

    label = None
    if label_column is not None:
        label = _label_index(path, label_column, names)
    features = _feature_indices(path, names, columns, schema_columns)
    if features is None:
        features = [i for i in range(width) if i != label]
    elif label in features:
        raise VaekitError(
            f"{path}: column {names[label]!r} is the label column; it cannot also "
            "be a feature column"
        )
    if not features:
        raise VaekitError(f"{path}: no feature columns besides the label")
    used = features + ([] if label is None else [label])
    for i in used:
        if names.count(names[i]) > 1:
            raise VaekitError(
                f"{path}: the header names {names.count(names[i])} columns "
                f"{names[i]!r}; give each column its own name"
            )

    cells = list(zip(*rows, strict=True))
    table = {i: _Column(names[i], list(cells[i])) for i in sorted(used)}
    keep = _drop_missing(path, list(table.values()), lines, missing)
    if keep is not None:
        lines = [line for line, kept in zip(lines, keep, strict=True) if kept]
    for column in table.values():
        column.keep(keep)

    x = np.empty((len(lines), len(features)), np.float64)
    categories = {}
    for j, i in enumerate(features):
        column = table[i]
        if schema is not None and column.name in schema_categories:
            categories[column.name] = schema_categories[column.name]
            x[:, j] = _schema_categories(path, column, categories[column.name], lines)
        elif schema is not None:
            x[:, j] = _schema_numeric(path, column, lines)
        elif column.values is None:
            x[:, j], categories[column.name] = _categories(path, column)
        else:
            x[:, j] = column.values
    parts = {
        "x_train": (x, path),
        # Each row's place among the file's data rows (0-based), kept or not.
        "rows": (
            np.arange(len(lines)) if keep is None else np.flatnonzero(keep),
            path,
        ),
        "columns": (tuple(names[i] for i in features), path),
        "categories": (categories, path),
    }
    if label is not None:
        column = table[label]
        if column.values is not None:
            parts["y_train"] = (column.values, path)
        else:
            strings = column.strings()
            label_names = tuple(sorted(set(strings)))
            index = {name: i for i, name in enumerate(label_names)}
            y = np.fromiter((index[s] for s in strings), np.int64, len(strings))
            parts["y_train"] = (y, path)
            parts["label_names"] = (label_names, path)
    return parts


# -- any path -----------------------------------------------------------------


def _not_a_table(path):
    return VaekitError(f"--columns applies to CSV tables; {path} is not one")


def read_path(path, label_column=None, columns=None, missing="error", schema=None):
    """Reads an existing file or folder by its kind (see the module
    docstring). `label_column`, `columns`, `missing` and `schema` are
    `read_csv`'s; other formats ignore `missing` and refuse the others
    (`label_column` aside).

    Raises:
        VaekitError: if it is unreadable, of an unknown kind, or corrupt, or
            if `columns` or `schema` is given for something else than a CSV
            file.
    """
    table_only = columns is not None or schema is not None
    if os.path.isdir(path):
        if table_only:
            raise _not_a_table(path)
        parts = read_idx_folder(path) or read_image_folder(path)
        if parts is None:
            raise VaekitError(
                f"folder {path!r} holds neither MNIST-style IDX files "
                "(train-images-idx3-ubyte[.gz], ...) nor PNG/JPEG images"
            )
        return parts
    if not os.access(path, os.R_OK):
        raise VaekitError(f"data file {path!r} is not readable (permissions)")
    if os.path.getsize(path) == 0:
        raise VaekitError(f"data file {path!r} is empty")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        return read_csv(path, label_column, columns, missing, schema)
    if table_only:
        raise _not_a_table(path)
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        return read_npz(path)
    if suffix in IMAGE_SUFFIXES or suffix == ".gz" or "idx" in os.path.basename(path):
        raise VaekitError(
            f"data {path!r}: pass the folder that holds the images or IDX files"
        )
    raise VaekitError(
        f"data file {path!r} has an unknown format: use .npy, .npz, .csv, a folder of "
        "IDX files or a folder of images"
    )
