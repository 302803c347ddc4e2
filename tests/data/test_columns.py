"""vaekit.data.columns: cells read strictly as numbers (`1_000`, `inf`,
`0,5` are not), a column's kind (refused when mostly numbers with a few
other cells), forced kinds, and the columns that look like row IDs."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaekit.data import columns
from vaekit.data.columns import CATEGORICAL, NUMERIC, Column
from vaekit.errors import DataError, InvalidArgument

LINES = [f"line {i + 2}" for i in range(100)]


def kind(cells, forced=None, name="c"):
    return columns.column_kind("t.csv", Column(name, cells), forced, LINES)


def test_only_plain_ascii_decimals_are_numbers():
    cells = ["1", " 2.5 ", "-.5", "+3.", "1e3", "1E-2", "NA", "", " nan ", "-nan"]
    column = Column("c", cells)
    np.testing.assert_array_equal(
        column.values, [1, 2.5, -0.5, 3, 1000, 0.01, *[np.nan] * 4]
    )
    np.testing.assert_array_equal(column.missing, [False] * 6 + [True] * 4)
    # Python's float() reads each of these; vaekit does not
    for cell in ("1_000", "１２", "٣", "0,5", "1,234.5", "inf", "-Infinity", "1e999"):
        column = Column("c", ["1", cell])
        assert column.values is None, cell
        np.testing.assert_array_equal(column.not_numbers(), [1])
        assert not column.missing.any()


def test_a_typo_in_a_numeric_column_is_refused_naming_the_cells():
    """The issue's case: one `0.06x` among numbers made the column
    categorical."""
    cells = [f"0.0{i}" for i in range(10)]
    cells[6] = "0.06x"
    with pytest.raises(DataError) as info:
        kind(cells, name="rate")
    assert str(info.value) == (
        "t.csv: column 'rate' holds numbers, but 1 of its 10 cells is not a number: "
        "line 8 '0.06x'; fix it, or pass --categorical-columns rate to read the "
        "column as categories"
    )
    assert kind(cells, CATEGORICAL) == CATEGORICAL


def test_digit_separators_and_decimal_commas_are_refused_with_a_hint():
    with pytest.raises(DataError) as info:
        kind(["1_000", "2", "3", "4"], name="n")
    assert "1 of its 4 cells is not a number: line 2 '1_000'; digit separators" in str(
        info.value
    )
    assert "write 1000, not 1_000" in str(info.value)
    cells = ["0,5", "1,5", "2,25", "3,5", "4,75"]  # a whole column of them
    with pytest.raises(DataError) as info:
        kind(cells, name="p")
    message = str(info.value)
    assert message.startswith(
        "t.csv: column 'p' holds numbers, but 5 of its 5 cells are not numbers: "
        "line 2 '0,5', line 3 '1,5', line 4 '2,25' and 2 more; decimal commas"
    )


def test_non_finite_numbers_are_refused():
    with pytest.raises(DataError) as info:
        kind(["1", "inf", "3", "-inf", "1e400"], name="x")
    assert str(info.value) == (
        "t.csv: column 'x' holds non-finite numbers: line 3 'inf', line 5 '-inf', "
        "line 6 '1e400'; replace each with a finite number, or leave the cell empty "
        "(a missing value)"
    )
    # a DataFrame's float column too
    column = Column.of_numbers("x", [1.0, np.inf, np.nan])
    with pytest.raises(DataError, match="non-finite numbers: line 3 'inf'"):
        columns.column_kind("DataFrame", column, None, LINES)
    assert column.missing.tolist() == [False, False, True]


def test_mostly_text_is_categorical_and_forcing_a_kind():
    assert kind(["S", "M", "L", "10"]) == CATEGORICAL
    assert kind(["1", "2", "NA", "3"]) == NUMERIC
    assert kind(["1", "2", "3"], CATEGORICAL) == CATEGORICAL
    with pytest.raises(DataError) as info:
        kind(["1", "x", "y", "z", "w"], NUMERIC, name="n")
    assert str(info.value) == (
        "t.csv: column 'n' is in numeric_columns, but 4 of its 5 cells are not "
        "numbers: line 3 'x', line 4 'y', line 5 'z' and 1 more; fix them"
    )
    declared = Column("c", ["1", "2"], declared=CATEGORICAL)  # a pandas category
    assert columns.column_kind("f", declared, None, LINES) == CATEGORICAL


def test_category_order_is_numeric_for_numbers():
    assert columns.category_order(["10", "2", "1.5", "2"]) == ("1.5", "2", "10")
    assert columns.category_order(["10", "2", "big"]) == ("10", "2", "big")


@pytest.mark.parametrize(
    "name, cells, reason",
    [
        ("id", [f"c{i}" for i in range(12)], "12 distinct text values, one per row"),
        ("n", [str(i) for i in range(5, 17)], "a running index 5..16"),
        ("", ["0", "1", "2"], "unnamed: a running index 0..2"),
        ("Unnamed: 0", ["4", "9", "1"], "unnamed: distinct numbers"),
        ("id", [f"c{i}" for i in range(9)], None),  # too few rows to tell
        ("id", [f"c{i % 11}" for i in range(12)], None),  # a repeated value
        ("n", [str(2 * i) for i in range(12)], None),  # not a running index
        ("x", [f"{i}.5" for i in range(12)], None),
        ("Unnamed: 3", ["a", "a", "b"], None),
    ],
)
def test_id_reason(name, cells, reason):
    assert columns.id_reason(Column(name, cells), None) == reason
    assert columns.id_reason(Column(name, cells), NUMERIC) is None  # forced


def test_forced_kinds_are_checked():
    names = ["a", "b", "c"]
    forced = columns.forced_kinds("t.csv", names, ["a"], ("b",))
    assert forced == {"a": CATEGORICAL, "b": NUMERIC}
    with pytest.raises(DataError, match=r"no column 'z' \(in numeric_columns\)"):
        columns.forced_kinds("t.csv", names, None, ["z"])
    with pytest.raises(InvalidArgument, match="not in categorical_columns too"):
        columns.forced_kinds("t.csv", names, ["a"], ["a"])
    with pytest.raises(InvalidArgument, match="categorical_columns"):
        columns.forced_kinds("t.csv", names, "a", None)


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MISSING = {"", "na", "n/a", "nan", "-nan", "+nan", "null"}
cells = st.lists(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(10**6), 10**6).map(str),
        st.sampled_from(["1_000", "0,5", "１", " 7 ", "NA", "", "inf", "x", "1e999"]),
        st.text("0123456789.eE+-_ ", max_size=6),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(cells=cells)
def test_values_match_a_reference_reader(cells):
    """200 examples: a column's values are float(cell) where every present
    cell is a plain finite decimal, else None; the fast path (float() on
    every cell) and the slow one agree with this reference."""
    stripped = [c.strip() for c in cells]
    missing = [c.lower() in _MISSING for c in stripped]
    plain = all(
        m or (_NUMBER.fullmatch(c) and np.isfinite(float(c)))
        for c, m in zip(stripped, missing, strict=True)
    )
    column = Column("c", cells)
    np.testing.assert_array_equal(column.missing, missing)
    if not plain:
        assert column.values is None
        return
    expected = [
        np.nan if m else float(c) for c, m in zip(stripped, missing, strict=True)
    ]
    np.testing.assert_array_equal(column.values, expected)
