"""A trained model's schema of a table: its feature columns, in order, and
the categories of its categorical ones; new tables are read in its terms
(see `vaekit.data.tables`)."""

import numpy as np

from vaekit import checks
from vaekit.errors import DataError

__all__ = ["check_schema", "schema_categories", "schema_numeric", "schema_of"]


def schema_of(columns, categories):
    """The schema a model keeps of a table: `{"columns": [names],
    "categories": {name: [strings]}}`."""
    return {
        "columns": list(columns),
        "categories": {name: list(cats) for name, cats in categories.items()},
    }


def check_schema(schema):
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


def schema_categories(path, column, categories, lines):
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


def schema_numeric(path, column, lines):
    """A column the model took as numeric; refuses text and non-finite
    numbers."""
    if column.values is None:
        row = column.not_numbers()[0]
        raise DataError(
            f"{path}: {lines[row]}, column {column.name!r}: "
            f"{'text' if column.is_text(row) else 'non-finite number'} "
            f"{column.cells[row].strip()!r} in a column the model was trained on "
            "as numeric; replace it with a number"
        )
    return column.values
