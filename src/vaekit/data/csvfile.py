"""CSV files read as tables (see `vaekit.data.tables`).

The file is UTF-8 text (a byte-order mark is skipped) read with the
standard `csv` module. Its delimiter is the one given (`sep`), or detected:
of comma, semicolon, tab and pipe, the one that splits the most rows of the
first `SAMPLE_ROWS` into the same number of cells (more than one; then
the most cells), ties going to the earlier; a file that no delimiter splits
is one column, read with the delimiter that leaves the most rows whole. Then
come the rows and the line each starts on (for messages), a header if the
first row is not all numbers (as Python or a spreadsheet reads them), and each column as a
`vaekit.data.columns.Column` of its cells. A file whose every row is one
cell holding another delimiter was split with the wrong one and is
refused.
"""

import csv
import io
import itertools

from vaekit import checks
from vaekit.data import tables
from vaekit.data.columns import Column, looks_numeric
from vaekit.errors import DataError

__all__ = ["SAMPLE_ROWS", "SEPARATORS", "delimiter_of", "read_column", "read_csv"]

MISSING = tables.MISSING
# The delimiters detected, in order of preference.
SEPARATORS = (",", ";", "\t", "|")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# The rows that decide the delimiter.
SAMPLE_ROWS = 1000


def _sep_name(sep):
    return _NAMES.get(sep, repr(sep))


def _read_text(path):
    try:
        # utf-8-sig: spreadsheets often start their CSV exports with a BOM
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the CSV file as UTF-8"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read CSV ({exc})") from None


def _is_blank(row):
    return not any(cell.strip() for cell in row)


def _sample_widths(text, sep):
    """The number of cells of each non-blank row among the first
    `SAMPLE_ROWS`, split by `sep`; None if the csv module cannot."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        rows = itertools.islice((r for r in reader if not _is_blank(r)), SAMPLE_ROWS)
        return [len(row) for row in rows]
    except csv.Error:
        return None


def delimiter_of(text):
    """The delimiter of CSV `text` (see the module docstring)."""
    best, best_score = ",", (False, 0, 0)
    for sep in SEPARATORS:
        widths = _sample_widths(text, sep)
        if not widths:
            continue
        width = max(set(widths), key=lambda w: (widths.count(w), w))
        score = (width > 1, widths.count(width), width)
        if score > best_score:
            best, best_score = sep, score
    return best


def _rows(path, text, sep):
    """The non-blank rows of CSV `text` and the 1-based line of the file on
    which each starts (blank lines and multi-line quoted cells counted)."""
    rows, lines = [], []
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    start = 1
    try:
        for row in reader:
            if not _is_blank(row):
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}: cannot read CSV, line {start} ({exc})") from None
    return rows, lines


def _check_split(path, rows, sep, given):
    """Refuses rows that `sep` did not split: every row one cell that holds
    another delimiter."""
    if any(len(row) > 1 for row in rows):
        return
    for other in SEPARATORS:
        if other != sep and all(other in row[0] for row in rows):
            how = "the delimiter given" if given else "detected"
            flag = "tab" if other == "\t" else repr(other)
            raise DataError(
                f"{path}: every row is one cell holding {_sep_name(other)}s: the "
                f"file is not split by {_sep_name(sep)} ({how}); pass --sep {flag}"
            )


def _table(path, sep="auto"):
    """`(names, rows, lines, header, sep)` of a CSV file."""
    given = checks.separator(sep)
    text = _read_text(path)
    sep = given or delimiter_of(text)
    rows, lines = _rows(path, text, sep)
    if not rows:
        raise DataError(f"{path}: the CSV file is empty")
    _check_split(path, rows, sep, given is not None)
    header = None
    if not all(looks_numeric(cell) for cell in rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise DataError(f"{path}: the CSV file has a header but no data rows")
    width = len(rows[0])
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise DataError(
                f"{path}: line {line} has {len(row)} columns, expected {width} "
                f"(ragged rows; the delimiter read is {_sep_name(sep)}: if that is "
                "wrong, pass --sep)"
            )
    if header is not None and len(header) != width:
        raise DataError(
            f"{path}: the header has {len(header)} columns but the rows have "
            f"{width}; give every column one name (the delimiter read is "
            f"{_sep_name(sep)}: if that is wrong, pass --sep)"
        )
    names = header if header is not None else [str(i) for i in range(width)]
    return names, rows, lines


def read_csv(
    path,
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
    """A table in a CSV file: numbers and text (categorical) columns.

    The first row is a header if one of its cells is not a number; a table
    with text columns therefore needs one. Without a header the columns are
    named `"0"`, `"1"`, .... A feature column of numbers is numeric; a
    column mostly of text is categorical: its categories are its sorted
    distinct strings, and the returned table holds their indices (0.0,
    1.0, ...). A column mostly of numbers with a few other cells is refused
    naming them (see `vaekit.data.columns`). An empty cell, or `NA`, `N/A`,
    `NaN`, `null` (any case), is a missing value. Unless `columns` are
    given, a column that looks like row IDs (see
    `vaekit.data.columns.id_reason`) is left out with a `VaekitWarning`.

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
        sep: The delimiter: `"auto"` (detected), `"tab"`, or one character.
        categorical_columns: Names of columns read as categories whatever
            they hold (the label too: classes). Ignored with a `schema`.
        numeric_columns: Names of columns that must hold numbers. Ignored
            with a `schema`.
        id_column: A name or index: a column of row IDs, not a feature,
            returned as strings (`ids`).

    Returns:
        The parts (see `vaekit.data.tables`): `x_train` (float64 `(n, D)`),
        `columns`, `categories`, `rows`, `ignored` (`{name: why}` of the
        columns not read), with a label column `y_train`, `label_column`
        and, for text labels, `label_names`; with an ID column `id_column`
        and `ids`.

    Raises:
        InvalidArgument: for a `missing` not in `MISSING`, a bad `sep`, or a
            malformed `schema`.
        DataError: if the file is unreadable, ragged, not split by its
            delimiter, has a missing value (with `missing="error"`), a
            mostly numeric column with other cells, or does not fit the
            arguments.
    """
    checks.one_of(missing, "missing", MISSING)
    names, rows, lines = _table(path, sep)
    cells = list(zip(*rows, strict=True))
    return tables.table_parts(
        path,
        names,
        lambda i, forced: Column(names[i], cells[i]),
        [f"line {line}" for line in lines],
        tables.TableOptions(
            label_column,
            columns,
            missing,
            schema,
            categorical_columns,
            numeric_columns,
            id_column,
        ),
    )


def read_column(path, name, sep="auto"):
    """The cells (stripped strings) of column `name` (a header name or a
    0-based index) of each data row of a CSV file, in order.

    Raises:
        DataError: if the file cannot be read or has no such column.
    """
    names, rows, _ = _table(path, sep)
    key = str(name)
    if key in names:
        index = names.index(key)
    elif key.lstrip("-").isdigit() and -len(names) <= int(key) < len(names):
        index = int(key) % len(names)
    else:
        raise DataError(f"{path}: no column {key!r}; columns are {names}")
    return [row[index].strip() for row in rows]
