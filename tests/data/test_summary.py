"""vaekit.data.summary: the one-screen summary of what was read."""

import warnings

import numpy as np
import pandas as pd

from vaekit import data
from vaekit.data.summary import MAX_LISTED


def test_a_table_summary_names_each_column_and_its_kind():
    frame = pd.DataFrame(
        {
            "Unnamed: 0": range(12),
            "name": [f"p{i}" for i in range(12)],
            "age": np.linspace(20, 70, 12),
            "colour": ["red", "blue", "green"] * 4,
            "kind": ["a", "b"] * 6,
            "note": ["x"] * 12,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load(frame, "kind", columns=["age", "colour"], id_column="name")
    assert ds.summary() == "\n".join(
        [
            "data DataFrame: 12 rows, 2 feature columns (1 numeric, 1 categorical)",
            "  'age'         numeric",
            "  'colour'      categorical, 3 categories",
            "  'kind'        label: 2 classes (a, b)",
            "  'Unnamed: 0'  left out: not selected",
            "  'name'        the ID column, passed through",
            "  'note'        left out: not selected",
        ]
    )
    frame = frame.drop(columns="note")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lines = data.load(frame, "age").summary().splitlines()
    assert lines[1:] == [
        "  'colour'      categorical, 3 categories",
        "  'kind'        categorical, 2 categories",
        "  'age'         label: numbers, 12 distinct in [20, 70]",
        "  'Unnamed: 0'  left out: an index (unnamed: a running index 0..11)",
        "  'name'        left out: looks like row IDs (12 distinct text values, one "
        "per row)",
    ]


def test_a_wide_table_is_summarised_on_one_screen():
    frame = pd.DataFrame(np.eye(40)[:30], columns=[f"c{i}" for i in range(40)])
    text = data.load(frame).summary()
    lines = text.splitlines()
    assert len(lines) == 1 + MAX_LISTED + 1
    assert (
        lines[0]
        == "data DataFrame: 30 rows, 40 feature columns (40 numeric, 0 categorical)"
    )
    assert lines[-1] == "  ... and 20 more feature columns: 20 numeric, 0 categorical"


def test_images_and_arrays():
    assert data.load("digits").summary() == (
        "data digits: 1797 rows, images of shape 8x8x1\n"
        "  labels: whole numbers, 10 distinct in [0, 9]"
    )
    ds = data.Dataset("x", np.zeros((3, 2), np.float32), x_test=np.zeros((1, 2)))
    assert ds.summary() == (
        "data x: 3 rows (and a test split of 1), examples of shape 2\n  labels: none"
    )
