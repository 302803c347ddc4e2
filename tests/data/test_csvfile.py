"""vaekit.data.csvfile: the CSV format itself (header or not, ragged rows,
blank lines, a byte-order mark); what is done with the columns is tested in
test_tables.py."""

import numpy as np
import pytest

from vaekit.data.csvfile import read_csv
from vaekit.errors import DataError


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
