"""Tables: columns of numbers and text, read into numbers a model takes.

A table has numeric columns and text (categorical) columns. A categorical
column becomes category indices (0.0, 1.0, ...), its categories being its
sorted distinct strings; a model keeps the column names and categories
(its schema), so that new rows are read in its terms and its outputs are
written back in the table's own. A CSV file (`vaekit.data.csvfile`) and a
pandas DataFrame (`frame_parts`) go the same way: each column is read into
a `Column` (its cells as strings, or its numbers), then `table_parts`
picks the feature and label columns, handles missing values and maps the
categories.

The result is the parts of a dataset as `vaekit.data.readers` returns
them (`x_train`, `y_train` as `(array, source)`), plus the names of the
feature columns (`columns`), the categories of the categorical ones
(`categories`), for text labels the class names (`label_names`), and each
row's place among the table's rows (`rows`).
"""

import warnings

import numpy as np

from vaekit import checks
from vaekit.errors import DataError, VaekitWarning

__all__ = ["MISSING", "Column", "frame_parts", "is_frame", "schema_of", "table_parts"]

# What to do with a missing value in a column used: refuse it, or drop the row.
MISSING = checks.MISSING
# Cells that hold no value (compared stripped and lower-cased); a cell that
# parses as a NaN float ("-nan", ...) is missing too.
_MISSING_CELLS = frozenset(("", "na", "n/a", "nan", "null"))


def is_frame(data):
    """True for a pandas DataFrame (checked without importing pandas)."""
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def schema_of(columns, categories):
    """The schema a model keeps of a table: `{"columns": [names],
    "categories": {name: [strings]}}`."""
    return {
        "columns": list(columns),
        "categories": {name: list(cats) for name, cats in categories.items()},
    }


def _floats(cells):
    """`cells` as float64, or None if one does not parse as a float."""
    try:
        return np.fromiter(map(float, cells), np.float64, count=len(cells))
    except ValueError:
        return None


class Column:
    """One column of a table: its name, its cells (strings) and which of
    them are missing; `values` holds the floats of a numeric column (NaN
    where missing) and is None if a present cell is text. With
    `numbers=False` the cells are text whatever they hold (a DataFrame's
    text column)."""

    def __init__(self, name, cells, numbers=True):
        self.name = name
        self.cells = cells
        self.values = _floats(cells) if numbers else None
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
        if present is not None and numbers:
            self.values = np.full(len(cells), np.nan)
            self.values[~self.missing] = present
            self.missing |= np.isnan(self.values)

    @classmethod
    def of_numbers(cls, name, values):
        """A numeric column of float64 `values` (NaN where missing)."""
        column = cls.__new__(cls)
        column.name = name
        column.values = np.asarray(values, np.float64)
        column.missing = np.isnan(column.values)
        column.cells = [repr(v) for v in column.values.tolist()]
        return column

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
        raise DataError(
            f"{path}: no label column {label_column!r}; columns are {names}"
        )
    if not -width <= index < width:
        raise DataError(f"{path}: label column {index} out of range 0..{width - 1}")
    return index % width


def _check_schema(schema):
    """Returns the feature names and the categories of a `schema`.

    Raises:
        InvalidArgument: if it is not a dict of column names and categories.
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
            raise DataError(
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
        raise DataError(f"{path}: no feature columns selected; name at least one")
    for name in wanted:
        if name not in names:
            raise DataError(f"{path}: no column {name!r}; columns are {names}")
        if wanted.count(name) > 1:
            raise DataError(f"{path}: column {name!r} is selected twice")
    return [names.index(name) for name in wanted]


def _drop_missing(path, used, lines, missing):
    """The mask of the rows to keep (None for all) given the missing cells
    of the `used` columns, or a DataError for the first one."""
    absent = np.zeros(len(lines), bool)
    for column in used:
        absent |= column.missing
    if not absent.any():
        return None
    if missing == "error":
        row = int(np.argmax(absent))
        column = next(column for column in used if column.missing[row])
        raise DataError(
            f"{path}: {lines[row]}, column {column.name!r}: missing value "
            f"{column.cells[row].strip()!r}; fill it in or pass --missing drop to "
            "drop such rows"
        )
    dropped, n = int(absent.sum()), len(lines)
    if dropped == n:
        raise DataError(
            f"{path}: all {n} rows have missing values in the columns used; fill "
            "them in or choose other columns with --columns"
        )
    warnings.warn(
        f"{path}: dropped {dropped} of {n} rows with missing values",
        VaekitWarning,
        stacklevel=4,
    )
    return ~absent


def _categories(path, column):
    """A text column of the training data as category indices, and its
    categories (the sorted distinct strings)."""
    strings = column.strings()
    categories = tuple(sorted(set(strings)))
    if len(categories) < 2:
        raise DataError(
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
            raise DataError(
                f"{path}: {lines[row]}, column {column.name!r}: unknown "
                f"category {string!r}; the model knows {list(categories)}: map "
                "the value to one of them or drop the row"
            )
    return np.fromiter((index[s] for s in strings), np.float64, len(strings))


def _schema_numeric(path, column, lines):
    """A column the model took as numeric; refuses text."""
    if column.values is None:
        for row, string in enumerate(column.strings()):
            if _floats([string]) is None:
                raise DataError(
                    f"{path}: {lines[row]}, column {column.name!r}: text "
                    f"{string!r} in a column the model was trained on as numeric; "
                    "replace it with a number"
                )
    return column.values


def _features_and_label(path, names, label_column, columns, schema_columns):
    """`(features, label)`: the indices of the feature columns and of the
    label column (or None), checked."""
    label = None
    if label_column is not None:
        label = _label_index(path, label_column, names)
    features = _feature_indices(path, names, columns, schema_columns)
    if features is None:
        features = [i for i in range(len(names)) if i != label]
    elif label in features:
        raise DataError(
            f"{path}: column {names[label]!r} is the label column; it cannot also "
            "be a feature column"
        )
    if not features:
        raise DataError(f"{path}: no feature columns besides the label")
    for i in features + ([] if label is None else [label]):
        if names.count(names[i]) > 1:
            raise DataError(
                f"{path}: the header names {names.count(names[i])} columns "
                f"{names[i]!r}; give each column its own name"
            )
    return features, label


def _feature_values(path, column, schema_categories, lines):
    """`(values, categories or None)` of a feature column: mapped with the
    model's categories where a schema is given, else numeric, or
    categorical when it holds text."""
    if schema_categories is not None:
        if column.name in schema_categories:
            cats = schema_categories[column.name]
            return _schema_categories(path, column, cats, lines), cats
        return _schema_numeric(path, column, lines), None
    if column.values is None:
        return _categories(path, column)
    return column.values, None


def _label_parts(path, column):
    """The parts of a label column: numbers as they are, text as class
    indices in the sorted order of the class names (`label_names`)."""
    if column.values is not None:
        return {"y_train": (column.values, path)}
    strings = column.strings()
    label_names = tuple(sorted(set(strings)))
    index = {name: i for i, name in enumerate(label_names)}
    y = np.fromiter((index[s] for s in strings), np.int64, len(strings))
    return {"y_train": (y, path), "label_names": (label_names, path)}


def table_parts(path, names, make_column, lines, options):
    """The parts of a table (see the module docstring) from its column
    names, a function `make_column(i)` giving column i as a `Column`, and
    the location of each row for messages (`lines`)."""
    label_column, columns, missing, schema = options
    checks.one_of(missing, "missing", MISSING)
    schema_columns, schema_categories = (
        (None, None) if schema is None else _check_schema(schema)
    )
    features, label = _features_and_label(
        path, names, label_column, columns, schema_columns
    )
    used = features + ([] if label is None else [label])
    table = {i: make_column(i) for i in sorted(used)}
    keep = _drop_missing(path, list(table.values()), lines, missing)
    if keep is not None:
        lines = [line for line, kept in zip(lines, keep, strict=True) if kept]
    for column in table.values():
        column.keep(keep)
    x = np.empty((len(lines), len(features)), np.float64)
    categories = {}
    for j, i in enumerate(features):
        x[:, j], cats = _feature_values(path, table[i], schema_categories, lines)
        if cats is not None:
            categories[table[i].name] = cats
    parts = {
        "x_train": (x, path),
        # Each row's place among the table's rows (0-based), kept or not.
        "rows": (np.arange(len(x)) if keep is None else np.flatnonzero(keep), path),
        "columns": (tuple(names[i] for i in features), path),
        "categories": (categories, path),
    }
    if label is not None:
        parts.update(_label_parts(path, table[label]))
    return parts


def _frame_column(frame, name):
    """Column `name` of a DataFrame as a `Column`: numbers (and booleans)
    as they are, anything else as strings (missing values as empty)."""
    series = frame[name]
    kind = getattr(series.dtype, "kind", "O")
    if kind in "biuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return Column.of_numbers(str(name), values)
    missing = series.isna().to_numpy()
    cells = ["" if m else str(v) for v, m in zip(series.tolist(), missing, strict=True)]
    return Column(str(name), cells, numbers=False)


def frame_parts(
    frame, label_column=None, columns=None, missing="error", schema=None, source=None
):
    """A pandas DataFrame read as `vaekit.data.csvfile.read_csv` reads a file: numeric columns
    (numbers and booleans) as numbers, any other column (text, categories)
    as categorical; the same arguments, results and errors, with rows
    named by the frame's index in messages."""
    source = source or "DataFrame"
    names = [str(name) for name in frame.columns]
    if len(frame) == 0 or not names:
        raise DataError(f"{source}: the table has no rows or no columns")
    return table_parts(
        source,
        names,
        lambda i: _frame_column(frame, frame.columns[i]),
        [f"row {label!r}" for label in frame.index],
        (label_column, columns, missing, schema),
    )
