"""vaekit.io: atomic output and the CSV writer."""

import csv
import os

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit import io as files


def test_write_csv_round_trips_float32(tmp_path):
    rng = np.random.default_rng(0)
    table = (rng.normal(size=(50, 3)) * 10.0 ** rng.integers(-8, 8, (50, 3))).astype(
        np.float32
    )
    path = tmp_path / "t.csv"
    files.write_csv(path, ["a", "b", "c"], table)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["a", "b", "c"] and len(rows) == 51
    # 7 significant digits hold every float32 to within one part in 10^7
    back = np.array(rows[1:], dtype=np.float64)
    np.testing.assert_allclose(back, table, rtol=5e-7, atol=0)
    assert all(len(v) <= len("-1.234567e-08") for row in rows[1:] for v in row)
    assert path.read_bytes().endswith(b"\n") and b"\r" not in path.read_bytes()


def test_write_csv_quotes_awkward_names_and_accepts_lists(tmp_path):
    path = tmp_path / "t.csv"
    files.write_csv(path, ["x,1", 'say "hi"'], [[1, 0.5], (2.0, float("nan"))])
    with open(path, newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["x,1", 'say "hi"'],
            ["1", "0.5"],
            ["2", "nan"],
        ]


def test_a_failed_write_leaves_no_file(tmp_path):
    # A value that is neither text nor a number fails mid-write.
    path = tmp_path / "t.csv"
    with pytest.raises(TypeError, match="format"):
        files.write_csv(path, ["a"], [[1.0], [object()]])
    assert os.listdir(tmp_path) == []


def test_check_model_file(tmp_path):
    with pytest.raises(VaekitError, match="does not exist"):
        files.check_model_file(tmp_path / "missing.keras")
    with pytest.raises(VaekitError, match="is a folder"):
        files.check_model_file(tmp_path)
    (tmp_path / "text.keras").write_text("not a model")
    with pytest.raises(VaekitError, match="not a .keras archive"):
        files.check_model_file(tmp_path / "text.keras")
