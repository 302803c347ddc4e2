"""vaekit.data.csvfile: the CSV format itself (header or not, ragged rows,
blank lines, a byte-order mark, the delimiter detected or given, UTF-8);
what is done with the columns is tested in test_tables.py and
test_columns.py."""

import csv
import io
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaekit import VaekitWarning
from vaekit.data.csvfile import read_column, read_csv
from vaekit.errors import DataError, InvalidArgument


def write_text(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_without_header_names_columns_by_index(tmp_path):
    path = write_text(tmp_path, "1,0.5,7\n0,0.25,8\n2,0.75,9\n")
    for label in ("0", 0, "-3", -3):
        parts = read_csv(path, label_column=label)
        assert parts["columns"][0] == ("1", "2")
        np.testing.assert_array_equal(parts["y_train"][0], [1, 0, 2])
        assert parts["y_train"][0].dtype == np.float64
    parts = read_csv(path, columns=["2", 1])
    np.testing.assert_array_equal(parts["x_train"][0], [[7, 0.5], [8, 0.25], [9, 0.75]])
    assert parts["categories"][0] == {}
    with pytest.raises(DataError, match=r"no label column 'y'; columns are \['0', '1'"):
        read_csv(path, label_column="y")
    with pytest.raises(DataError, match="out of range 0..2"):
        read_csv(path, label_column=3)


def test_csv_ragged_rows_name_the_line_of_the_file(tmp_path):
    path = write_text(tmp_path, "a,b\n1,2\n\n3\n")
    with pytest.raises(DataError, match=r"line 4 has 1 columns, expected 2 \(ragged"):
        read_csv(path)
    path = write_text(tmp_path, "a,b,c\n1,2\n3,4\n")
    with pytest.raises(DataError, match="the header has 3 columns but the rows have 2"):
        read_csv(path)


def test_csv_header_only_or_empty(tmp_path):
    with pytest.raises(DataError, match="has a header but no data rows"):
        read_csv(write_text(tmp_path, "a,b\n"))
    with pytest.raises(DataError, match="the CSV file is empty"):
        read_csv(write_text(tmp_path, "\n\n", "blank.csv"))


def test_csv_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbfa,y\n1,0\n2,1\n")
    parts = read_csv(str(tmp_path / "t.csv"), label_column="a")
    assert parts["columns"][0] == ("y",)


# -- delimiters ----------------------------------------------------------------


def semicolon_table(n=300):
    """A table as a European spreadsheet exports it: semicolons, and a text
    column whose cells hold commas."""
    rng = np.random.default_rng(3)
    lines = ["age;income;note"]
    lines += [
        f"{rng.integers(20, 70)};{rng.normal(4e4, 8e3):.2f};a, {'bc'[i % 2]}"
        for i in range(n)
    ]
    return "\n".join(lines) + "\n", n


def test_a_semicolon_file_reads_as_its_columns(tmp_path):
    """The issue's case: a semicolon-separated file was one text column with
    hundreds of categories."""
    text, n = semicolon_table()
    path = write_text(tmp_path, text)
    parts = read_csv(path)
    assert parts["columns"][0] == ("age", "income", "note")
    assert parts["categories"][0] == {"note": ("a, b", "a, c")}
    x = parts["x_train"][0]
    assert x.shape == (n, 3)
    first = text.splitlines()[1].split(";")
    np.testing.assert_array_equal(x[0, :2], [float(first[0]), float(first[1])])
    # forced, the same; forced wrong, refused with the delimiter to pass
    for sep in (";", "auto"):
        np.testing.assert_array_equal(read_csv(path, sep=sep)["x_train"][0], x)
    with pytest.raises(DataError, match=r"holding semicolons: .* pass --sep ';'$"):
        read_csv(path, sep="|")


@pytest.mark.parametrize("sep, name", [("\t", "tab"), ("|", "|"), (",", ",")])
def test_tab_pipe_and_comma_are_detected(tmp_path, sep, name):
    text = f'a{sep}b{sep}c\n1{sep}"x;y,z|w"{sep}3\n\n4{sep}"p"{sep}6\n'
    path = write_text(tmp_path, text)
    for option in ("auto", name):
        parts = read_csv(path, sep=option, categorical_columns=["b"])
        assert parts["columns"][0] == ("a", "b", "c")
        assert parts["categories"][0] == {"b": ("p", "x;y,z|w")}
        np.testing.assert_array_equal(parts["x_train"][0], [[1, 1, 3], [4, 0, 6]])


def test_rows_split_by_the_wrong_delimiter_are_refused(tmp_path):
    path = write_text(tmp_path, "a;b\n1;2\n3;4\n")
    with pytest.raises(DataError) as info:
        read_csv(path, sep=",")
    assert str(info.value) == (
        f"{path}: every row is one cell holding semicolons: the file is not split "
        "by comma (the delimiter given); pass --sep ';'"
    )
    path = write_text(tmp_path, "a\tb\n1\t2\n", "tab.csv")
    with pytest.raises(DataError, match="holding tabs.*pass --sep tab$"):
        read_csv(path, sep=";")
    # a table of one column is one column
    path = write_text(tmp_path, "a\n1\n2\n", "one.csv")
    np.testing.assert_array_equal(read_csv(path)["x_train"][0], [[1], [2]])


def test_ragged_rows_suggest_the_delimiter(tmp_path):
    path = write_text(tmp_path, "a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == (
        f"{path}: line 3 has 3 columns, expected 2 (ragged rows; the delimiter read "
        "is comma: if that is wrong, pass --sep)"
    )


@pytest.mark.parametrize("sep", ["ab", "a", '"', " ", "\n", 1])
def test_a_bad_sep_is_a_bad_argument(tmp_path, sep):
    path = write_text(tmp_path, "a,b\n1,2\n")
    with pytest.raises(InvalidArgument, match="Invalid value for argument `sep`"):
        read_csv(path, sep=sep)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / "t.csv").write_bytes("name,x\nJos\xe9,1\nAna,2\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        read_csv(str(tmp_path / "t.csv"))
    assert str(info.value) == (
        f"{tmp_path / 't.csv'}: not UTF-8 text (byte 10); save the CSV file as UTF-8"
    )


def test_read_column(tmp_path):
    path = write_text(tmp_path, "id;x\n r1 ;1\n\nr2;2\n")
    assert read_column(path, "id") == ["r1", "r2"]
    assert read_column(path, 1) == ["1", "2"]
    with pytest.raises(DataError, match=r"no column 'y'; columns are \['id', 'x'\]"):
        read_column(path, "y")


# -- property tests --------------------------------------------------------------

WORDS = st.text("bcxyz", min_size=1, max_size=4)
PADDED = st.tuples(st.sampled_from(["", " "]), st.text(";,|\t\"' ", max_size=2))


@st.composite
def tables(draw):
    """A table of numeric and text columns (names: letters; text cells:
    letters with delimiters, quotes and spaces in them) and its text."""
    n = draw(st.integers(2, 8))
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=4))
    names = [f"{'xyz'[j % 3]}{j}" for j in range(len(kinds))]
    cols = []
    for numeric in kinds:
        if numeric:
            number = st.floats(allow_nan=False, allow_infinity=False, width=64)
            cols.append(draw(st.lists(number, min_size=n, max_size=n)))
        else:
            cores = draw(st.lists(WORDS, min_size=2, max_size=3, unique=True))
            cells = [cores[0], cores[1]] + [
                draw(st.sampled_from(cores)) for _ in range(n - 2)
            ]
            pads = [draw(PADDED) for _ in range(n)]
            cols.append([p + c + s for (p, s), c in zip(pads, cells, strict=True)])
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    blank = st.sampled_from(["", "", "  ", "\t"])
    text = io.StringIO()
    writer = csv.writer(text, delimiter=sep, quoting=quoting, lineterminator="\n")
    writer.writerow(names)
    for row in zip(*cols, strict=True):
        text.write(draw(blank) + "\n" if draw(st.booleans()) else "")
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return names, kinds, cols, text.getvalue()


@settings(max_examples=150, deadline=None)
@given(table=tables())
def test_random_tables_read_back_exactly(table):
    """150 examples: tables with a random delimiter, quoting and blank
    lines, their text cells holding delimiters, quotes and spaces, read
    back as written (the delimiter detected). Only a table of one column,
    most of whose cells hold one delimiter, may be refused instead: it
    cannot be told from a ragged table split by that delimiter."""
    names, kinds, cols, text = table
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.csv")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        try:
            parts = read_csv(path, columns=names)
        except DataError:
            assert len(names) == 1
            return
    assert parts["columns"][0] == tuple(names)
    x = parts["x_train"][0]
    for j, (numeric, cells) in enumerate(zip(kinds, cols, strict=True)):
        if numeric:
            np.testing.assert_array_equal(x[:, j], cells)
            continue
        stripped = [cell.strip() for cell in cells]
        categories = tuple(sorted(set(stripped)))
        assert parts["categories"][0][names[j]] == categories
        np.testing.assert_array_equal(x[:, j], [categories.index(s) for s in stripped])


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(list("ab01.,;|\t\"' \n\r_-e") + ["\x00", "é", "inf", "NA"]),
        max_size=60,
    ).map("".join),
    label=st.sampled_from([None, 0, -1, "a"]),
)
def test_any_text_reads_or_is_refused_with_a_data_error(text, label):
    """200 examples: any text, read with or without a label column, is a
    table or a DataError; never another exception."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.csv")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VaekitWarning)
            try:
                parts = read_csv(path, label_column=label)
            except DataError:
                return
    x = parts["x_train"][0]
    assert x.ndim == 2 and np.isfinite(x).all()
