"""CSV files read as tables (see `vaekit.data.tables`).

The file is read with the standard `csv` module: the rows and the line each
starts on (for messages), a header if the first row is not all numbers, and
each column as a `vaekit.data.tables.Column` of its cells.
"""

import csv

from vaekit import checks
from vaekit.data import tables
from vaekit.errors import DataError

__all__ = ["read_csv"]

MISSING = tables.MISSING


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
        raise DataError(f"{path}: cannot read CSV ({exc})") from None
    return rows, lines


def _is_numeric_row(row):
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


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
            features and the label); `"drop"` drops such rows and warns
            (`VaekitWarning`) how many.
        schema: None, or what a trained model expects: `{"columns": [names],
            "categories": {name: [strings]}}` (see `schema_of`). The
            features are then its columns, in its order, and its categorical
            columns are mapped with its categories.

    Returns:
        The parts (see the module docstring): `x_train` (float64 `(n, D)`),
        `columns`, `categories`, `rows`, and with a label column `y_train`
        and, for text labels, `label_names`.

    Raises:
        InvalidArgument: for a `missing` not in `MISSING`, or a malformed
            `schema`.
        DataError: if the file is unreadable, ragged, has a missing value
            (with `missing="error"`) or does not fit the arguments.
    """
    checks.one_of(missing, "missing", MISSING)
    rows, lines = _read_rows(path)
    if not rows:
        raise DataError(f"{path}: the CSV file is empty")
    header = None
    if not _is_numeric_row(rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise DataError(f"{path}: the CSV file has a header but no data rows")
    width = len(rows[0])
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise DataError(
                f"{path}: line {line} has {len(row)} columns, expected {width} "
                "(ragged rows)"
            )
    if header is not None and len(header) != width:
        raise DataError(
            f"{path}: the header has {len(header)} columns but the rows have "
            f"{width}; give every column one name"
        )
    names = header if header is not None else [str(i) for i in range(width)]
    cells = list(zip(*rows, strict=True))
    return tables.table_parts(
        path,
        names,
        lambda i: tables.Column(names[i], list(cells[i])),
        [f"line {line}" for line in lines],
        (label_column, columns, missing, schema),
    )
