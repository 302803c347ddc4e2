"""The columns of a table: cells read strictly as numbers, a column's kind
(numeric or categorical), and columns that are IDs rather than features.

A cell is a number only when it is a plain decimal in ASCII, like `3`,
`-0.5`, `.25` or `1e-3` (spaces around it aside): Python's `float` also
takes `1_000`, `１２`, `inf` and `nan`, and reading those as numbers would
hide typos. An empty cell, `NA`, `N/A`, `NaN` (any sign) or `null` (any
case) is missing; `inf`, `-inf`, `infinity` and numbers beyond float64
(`1e999`) are non-finite and refused in a numeric column.

A column is numeric when every present cell is a number, categorical when
most are text. A column mostly of numbers with a few other cells (`0.06x`,
`1_000`, `0,5`) is refused naming those cells, unless its kind is forced
(`categorical_columns`, `numeric_columns`); a forced numeric column with
text is refused likewise.
"""

import re
import warnings

import numpy as np

from vaekit import checks
from vaekit.errors import DataError, VaekitWarning

__all__ = [
    "CATEGORICAL",
    "ID_MIN_ROWS",
    "NUMERIC",
    "Column",
    "category_order",
    "column_kind",
    "drop_ids",
    "forced_kinds",
    "id_reason",
    "looks_numeric",
]

NUMERIC, CATEGORICAL = "numeric", "categorical"
# Cells that hold no value (compared stripped and lower-cased).
MISSING_CELLS = frozenset(("", "na", "n/a", "nan", "-nan", "+nan", "null"))
_INFINITE = frozenset(
    sign + word for sign in ("", "+", "-") for word in ("inf", "infinity")
)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# The kind of each cell.
_NUM, _MISSING, _INF, _LOOKALIKE, _TEXT = range(5)
# A column of at least this many rows whose values are all distinct (text,
# or a running index of integers) is an ID, not a feature.
ID_MIN_ROWS = 10
_UNNAMED = re.compile(r"(?:Unnamed: \d+)?")
# Cells named in a message.
_SHOWN = 3


def looks_numeric(cell):
    """True for a cell that reads as a number to Python or to a
    spreadsheet: plain numbers, `nan`, `inf`, and also `1_000`, `１２`,
    `0,5`, `1,234.5`."""
    cell = cell.strip()
    for text in (cell, cell.replace(",", "."), cell.replace(",", "")):
        try:
            float(text)
        except ValueError:
            continue
        return True
    return False


def _cell_kind(cell):
    """`(kind, value)` of a stripped cell."""
    lower = cell.lower()
    if lower in MISSING_CELLS:
        return _MISSING, np.nan
    if lower in _INFINITE:
        return _INF, np.nan
    if _NUMBER.fullmatch(cell):
        value = float(cell)
        return (_NUM, value) if np.isfinite(value) else (_INF, np.nan)
    return (_LOOKALIKE if looks_numeric(cell) else _TEXT), np.nan


def _parse(cells):
    """`(kinds, values)` of string cells: int8 cell kinds and float64 values
    (NaN where not a finite number)."""
    n = len(cells)
    joined = "".join(cells)
    if joined.isascii() and "_" not in joined:
        try:  # the fast path: every cell a number, NaN or inf
            values = np.fromiter(map(float, cells), np.float64, count=n)
        except ValueError:
            pass
        else:
            kinds = np.full(n, _NUM, np.int8)
            kinds[np.isnan(values)] = _MISSING
            kinds[np.isinf(values)] = _INF
            values[kinds == _INF] = np.nan
            return kinds, values
    stripped = [cell.strip() for cell in cells]
    lookup = {cell: _cell_kind(cell) for cell in set(stripped)}
    kinds = np.fromiter((lookup[c][0] for c in stripped), np.int8, count=n)
    values = np.fromiter((lookup[c][1] for c in stripped), np.float64, count=n)
    return kinds, values


class Column:
    """One column of a table: its name, its cells (strings), the kind of
    each cell and the values of its numbers.

    Attributes:
        name: The column's name.
        cells: Its cells as strings.
        missing: Boolean mask of the missing cells.
        declared: The kind the data itself declares (a DataFrame's numeric
            or `category` dtype), or None for text to be read.
    """

    def __init__(self, name, cells, declared=None):
        self.name = name
        self.cells = list(cells)
        self.declared = declared
        self._kinds, self._values = _parse(self.cells)
        self.missing = self._kinds == _MISSING

    @classmethod
    def of_numbers(cls, name, values, cells=None):
        """A numeric column of float64 `values` (NaN where missing), with
        the text of each value (`cells`, default its repr)."""
        column = cls.__new__(cls)
        column.name = name
        column.declared = NUMERIC
        values = np.array(values, np.float64)
        column._kinds = np.full(len(values), _NUM, np.int8)
        column._kinds[np.isnan(values)] = _MISSING
        column._kinds[np.isinf(values)] = _INF
        column._values = values
        column.missing = column._kinds == _MISSING
        if cells is None:
            cells = [repr(v) for v in values.tolist()]
        column.cells = list(cells)
        return column

    @property
    def values(self):
        """float64 values (NaN where missing) if every present cell is a
        finite number, else None."""
        if np.isin(self._kinds, (_INF, _LOOKALIKE, _TEXT)).any():
            return None
        return self._values

    def keep(self, rows):
        """Keeps the rows in the boolean mask `rows` (or all, for None)."""
        if rows is not None:
            self.cells = [
                cell for cell, kept in zip(self.cells, rows, strict=True) if kept
            ]
            self.missing = self.missing[rows]
            self._kinds = self._kinds[rows]
            self._values = self._values[rows]

    def strings(self):
        return [cell.strip() for cell in self.cells]

    def rows_of(self, *kinds):
        """The indices of the cells of the given kinds."""
        return np.flatnonzero(np.isin(self._kinds, kinds))

    def not_numbers(self):
        """The indices of the present cells that are not finite numbers."""
        return self.rows_of(_INF, _LOOKALIKE, _TEXT)

    def is_text(self, row):
        """True unless cell `row` is a non-finite number."""
        return self._kinds[row] != _INF

    def numbers_and_text(self):
        """`(number-like, other)`: how many present cells are numbers (or
        look like them, or are non-finite) and how many are text."""
        text = int((self._kinds == _TEXT).sum())
        present = int((~self.missing).sum())
        return present - text, text


def _cells_text(column, rows, lines):
    shown = ", ".join(
        f"{lines[row]} {column.cells[row].strip()!r}" for row in rows[:_SHOWN]
    )
    more = len(rows) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _not_numbers(path, column, lines, forced):
    """The DataError of a numeric column with cells that are not finite
    numbers."""
    infinite = column.rows_of(_INF)
    if len(infinite) and not len(column.rows_of(_LOOKALIKE, _TEXT)):
        return DataError(
            f"{path}: column {column.name!r} holds non-finite numbers: "
            f"{_cells_text(column, infinite, lines)}; replace each with a finite "
            "number, or leave the cell empty (a missing value)"
        )
    bad = column.rows_of(_INF, _LOOKALIKE, _TEXT)
    cells = [column.cells[row] for row in bad]
    hints = []
    if any("," in cell for cell in cells):
        hints.append("decimal commas and thousands separators are not read: write 0.5")
    if any("_" in cell for cell in cells):
        hints.append("digit separators are not read: write 1000, not 1_000")
    present = int((~column.missing).sum())
    what = "is in numeric_columns" if forced else "holds numbers"
    fix = "fix them" if len(bad) > 1 else "fix it"
    if not forced:
        fix += (
            f", or pass --categorical-columns {column.name} to read the column as "
            "categories"
        )
    are = "is not a number" if len(bad) == 1 else "are not numbers"
    return DataError(
        f"{path}: column {column.name!r} {what}, but {len(bad)} of its {present} "
        f"cells {are}: {_cells_text(column, bad, lines)}; "
        + "".join(hint + "; " for hint in hints)
        + fix
    )


def column_kind(path, column, forced, lines):
    """`NUMERIC` or `CATEGORICAL`: the kind of a column, `forced` (one of
    them, or None) or read from its cells; `lines` names each row.

    Raises:
        DataError: for a numeric column (forced, or mostly numbers) with a
            cell that is not a finite number, naming such cells.
    """
    kind = forced or column.declared
    if kind == CATEGORICAL:
        return CATEGORICAL
    numbers, text = column.numbers_and_text()
    if kind is None:
        kind = NUMERIC if numbers > text else CATEGORICAL
        if kind == CATEGORICAL:
            return kind
    if column.values is None:
        raise _not_numbers(path, column, lines, forced == NUMERIC)
    return NUMERIC


def category_order(strings):
    """The sorted distinct strings of a categorical column: by value when
    all are numbers (`2` before `10`), else as text."""
    distinct = set(strings)
    if all(_NUMBER.fullmatch(s) for s in distinct):
        return tuple(sorted(distinct, key=lambda s: (float(s), s)))
    return tuple(sorted(distinct))


def id_reason(column, forced):
    """Why a feature column looks like row IDs rather than a feature, or
    None: an unnamed column (pandas' index written by `to_csv`) of distinct
    values, or a column of at least `ID_MIN_ROWS` rows whose values are all
    distinct text or a running index of integers. A column whose kind is
    `forced` is a feature."""
    if forced is not None or column.declared == CATEGORICAL:
        return None
    present = ~column.missing
    n = int(present.sum())
    unnamed = _UNNAMED.fullmatch(column.name.strip()) is not None
    if n < (2 if unnamed else ID_MIN_ROWS):
        return None
    numbers, text = column.numbers_and_text()
    values = column.values
    if values is not None:
        v = values[present]
        if np.array_equal(v, np.round(v)) and np.all(np.diff(v) == 1):
            what = f"a running index {v[0]:.0f}..{v[-1]:.0f}"
            return f"unnamed: {what}" if unnamed else what
        if unnamed and len(np.unique(v)) == n:
            return "unnamed: distinct numbers"
        return None
    if numbers > text:
        return None  # mostly numbers: refused as such, not an ID
    strings = [s for s, p in zip(column.strings(), present, strict=True) if p]
    if len(set(strings)) == n:
        return f"{n} distinct text values, one per row"
    return None


def forced_kinds(path, names, categorical_columns, numeric_columns):
    """`{name: NUMERIC or CATEGORICAL}` of the columns whose kind is forced
    (`categorical_columns`, `numeric_columns`: names or None).

    Raises:
        InvalidArgument: for a name in both, or names that are not a list.
        DataError: for a name that is not a column of the table (`names`).
    """
    forced = {}
    for kind, given in (
        (CATEGORICAL, categorical_columns),
        (NUMERIC, numeric_columns),
    ):
        if given is None:
            continue
        if isinstance(given, (str, bytes)):
            raise checks.invalid(f"{kind}_columns", "a sequence of column names", given)
        for name in map(str, given):
            if name not in names:
                raise DataError(
                    f"{path}: no column {name!r} (in {kind}_columns); columns are "
                    f"{names}"
                )
            if forced.get(name, kind) != kind:
                raise checks.invalid(
                    "numeric_columns",
                    f"names that are not in categorical_columns too ({name!r} is)",
                    numeric_columns,
                )
            forced[name] = kind
    return forced


def drop_ids(path, table, features, forced):
    """The feature columns (indices into `table`, a dict of `Column`s)
    without those that look like row IDs (see `id_reason`), each left out
    with a `VaekitWarning`, and `{name: why}` of those left out.

    Raises:
        DataError: if every feature column looks like IDs.
    """
    kept, ignored = [], {}
    for i in features:
        column = table[i]
        reason = id_reason(column, forced.get(column.name))
        if reason is None:
            kept.append(i)
            continue
        if reason.startswith("unnamed"):
            ignored[column.name] = f"left out: an index ({reason})"
            advice = (
                "is an index written with the table (pandas' to_csv without "
                "index=False), not a feature: it is left out"
            )
        else:
            ignored[column.name] = f"left out: looks like row IDs ({reason})"
            advice = (
                f"looks like row IDs, not a feature: it is left out; pass "
                f"--id-column {column.name} to write it beside the outputs, or name "
                "it in --categorical-columns or --numeric-columns to keep it as a "
                "feature"
            )
        warnings.warn(
            f"{path}: column {column.name!r} ({reason}) {advice}",
            VaekitWarning,
            stacklevel=5,
        )
    if not kept:
        raise DataError(
            f"{path}: every feature column looks like row IDs "
            f"({', '.join(map(repr, ignored))}); name the ones to keep in "
            "--categorical-columns or --numeric-columns"
        )
    return kept, ignored
