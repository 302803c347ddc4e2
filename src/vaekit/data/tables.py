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

import dataclasses
import warnings

import numpy as np

from vaekit import checks
from vaekit.data.columns import (
    CATEGORICAL,
    NUMERIC,
    Column,
    category_order,
    column_kind,
    drop_ids,
    forced_kinds,
)
from vaekit.data.schemas import (
    check_schema,
    schema_categories,
    schema_numeric,
    schema_of,
)
from vaekit.errors import DataError, VaekitWarning

__all__ = [
    "MISSING",
    "Column",
    "TableOptions",
    "frame_parts",
    "is_frame",
    "schema_of",
    "table_parts",
]

# What to do with a missing value in a column used: refuse it, or drop the row.
MISSING = checks.MISSING


@dataclasses.dataclass(frozen=True)
class TableOptions:
    """How a table is read (see `vaekit.data.csvfile.read_csv`)."""

    label_column: object = None
    columns: object = None
    missing: str = "error"
    schema: object = None
    categorical_columns: object = None
    numeric_columns: object = None
    id_column: object = None


def is_frame(data):
    """True for a pandas DataFrame (checked without importing pandas)."""
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def _column_index(path, key, names, what="label column"):
    """The index of the column `key` (a name, or a 0-based index, negative
    counting from the end)."""
    width = len(names)
    if isinstance(key, str) and key in names:
        index = names.index(key)
    elif str(key).lstrip("-").isdigit():
        index = int(key)
    else:
        raise DataError(f"{path}: no {what} {key!r}; columns are {names}")
    if not -width <= index < width:
        raise DataError(f"{path}: {what} {index} out of range 0..{width - 1}")
    return index % width


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
    """A categorical column of the training data as category indices, and
    its categories (see `vaekit.data.columns.category_order`)."""
    strings = column.strings()
    categories = category_order(strings)
    if len(categories) < 2:
        raise DataError(
            f"{path}: column {column.name!r} holds text with a single value "
            f"{categories[0]!r}; a categorical column needs at least two "
            "categories: drop it with --columns"
        )
    index = {category: i for i, category in enumerate(categories)}
    values = np.fromiter((index[s] for s in strings), np.float64, len(strings))
    return values, categories


def _features_and_label(path, names, options, schema_columns, id_index):
    """`(features, label)`: the indices of the feature columns and of the
    label column (or None), checked."""
    label = None
    if options.label_column is not None:
        label = _column_index(path, options.label_column, names)
    if id_index is not None and id_index == label:
        raise DataError(
            f"{path}: column {names[label]!r} is the label column; it cannot also "
            "be the ID column"
        )
    features = _feature_indices(path, names, options.columns, schema_columns)
    if features is None:
        features = [i for i in range(len(names)) if i not in (label, id_index)]
    elif label in features or (schema_columns is None and id_index in features):
        what = "label" if label in features else "ID"
        raise DataError(
            f"{path}: column {names[label if what == 'label' else id_index]!r} is "
            f"the {what} column; it cannot also be a feature column"
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


def _feature_values(path, column, model_categories, lines, forced):
    """`(values, categories or None)` of a feature column: mapped with the
    model's categories where a schema is given, else by its kind (forced,
    or read from its cells)."""
    if model_categories is not None:
        if column.name in model_categories:
            cats = model_categories[column.name]
            return schema_categories(path, column, cats, lines), cats
        return schema_numeric(path, column, lines), None
    if column_kind(path, column, forced, lines) == CATEGORICAL:
        return _categories(path, column)
    return column.values, None


def _label_parts(path, column, forced, lines):
    """The parts of a label column: numbers as they are, text (or a column
    forced categorical) as class indices in the order of the class names
    (`label_names`)."""
    if column_kind(path, column, forced, lines) == NUMERIC:
        return {"y_train": (column.values, path)}
    strings = column.strings()
    label_names = category_order(strings)
    index = {name: i for i, name in enumerate(label_names)}
    y = np.fromiter((index[s] for s in strings), np.int64, len(strings))
    return {"y_train": (y, path), "label_names": (label_names, path)}


def _left_out(names, used, ignored, id_index):
    """`{name: why}` of every column that is not read: `ignored` (IDs), the
    ID column, and those not selected."""
    left = {}
    for i, name in enumerate(names):
        if name in ignored:
            left[name] = ignored[name]
        elif i == id_index:
            left[name] = "the ID column, passed through"
        elif i not in used:
            left[name] = "left out: not selected"
    return left


def table_parts(path, names, make_column, lines, options):
    """The parts of a table (see the module docstring) from its column
    names, a function `make_column(i, forced_kind)` giving column i as a
    `Column`, the location of each row for messages (`lines`) and the
    `TableOptions`."""
    checks.one_of(options.missing, "missing", MISSING)
    schema_columns, model_categories = (
        (None, None) if options.schema is None else check_schema(options.schema)
    )
    forced = {}
    if options.schema is None:
        forced = forced_kinds(
            path, names, options.categorical_columns, options.numeric_columns
        )
    id_index = None
    if options.id_column is not None:
        id_index = _column_index(path, options.id_column, names, "ID column")
    features, label = _features_and_label(
        path, names, options, schema_columns, id_index
    )
    used = features + ([] if label is None else [label])
    table = {i: make_column(i, forced.get(names[i])) for i in sorted(used)}
    ignored = {}
    if options.columns is None and schema_columns is None:
        features, ignored = drop_ids(path, table, features, forced)
        used = features + ([] if label is None else [label])
    keep = _drop_missing(path, [table[i] for i in used], lines, options.missing)
    if keep is not None:
        lines = [line for line, kept in zip(lines, keep, strict=True) if kept]
    x = np.empty((len(lines), len(features)), np.float64)
    categories = {}
    for j, i in enumerate(features):
        table[i].keep(keep)
        x[:, j], cats = _feature_values(
            path, table[i], model_categories, lines, forced.get(names[i])
        )
        if cats is not None:
            categories[table[i].name] = cats
    parts = {
        "x_train": (x, path),
        # Each row's place among the table's rows (0-based), kept or not.
        "rows": (np.arange(len(x)) if keep is None else np.flatnonzero(keep), path),
        "columns": (tuple(names[i] for i in features), path),
        "categories": (categories, path),
        "ignored": (_left_out(names, used, ignored, id_index), path),
    }
    if label is not None:
        table[label].keep(keep)
        parts.update(_label_parts(path, table[label], forced.get(names[label]), lines))
        parts["label_column"] = (names[label], path)
    if id_index is not None:
        ids = make_column(id_index, CATEGORICAL)
        ids.keep(keep)
        parts["id_column"] = (names[id_index], path)
        parts["ids"] = (np.array(ids.strings(), dtype=object), path)
    return parts


def _frame_column(frame, name, forced=None):
    """Column `name` of a DataFrame as a `Column`: numbers (and booleans)
    as they are, unless `forced` categorical; a `category` column as
    categorical; any other as text cells, read as a CSV file's are
    (missing values as empty)."""
    series = frame[name]
    kind = getattr(series.dtype, "kind", "O")
    if kind in "biuf" and forced != CATEGORICAL:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return Column.of_numbers(str(name), values)
    missing = series.isna().to_numpy()
    cells = ["" if m else str(v) for v, m in zip(series.tolist(), missing, strict=True)]
    declared = CATEGORICAL if str(series.dtype) == "category" else None
    return Column(str(name), cells, declared)


def frame_parts(
    frame,
    label_column=None,
    columns=None,
    missing="error",
    schema=None,
    source=None,
    *,
    categorical_columns=None,
    numeric_columns=None,
    id_column=None,
):
    """A pandas DataFrame read as `vaekit.data.csvfile.read_csv` reads a
    file: numeric columns (numbers and booleans) as numbers, `category`
    columns as categorical, text (object, string) columns as a CSV file's
    cells; the same arguments, results and errors, with rows named by the
    frame's index in messages."""
    source = source or "DataFrame"
    names = [str(name) for name in frame.columns]
    if len(frame) == 0 or not names:
        raise DataError(f"{source}: the table has no rows or no columns")
    options = TableOptions(
        label_column,
        columns,
        missing,
        schema,
        categorical_columns,
        numeric_columns,
        id_column,
    )
    return table_parts(
        source,
        names,
        lambda i, forced: _frame_column(frame, frame.columns[i], forced),
        [f"row {label!r}" for label in frame.index],
        options,
    )
