"""Helpers the tests share: fixture data, argument lists, small writers."""

import os

import numpy as np

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

# fmt: off
# The tiny image run: scikit-learn's 8x8 digits, a 64-8-2 MLP.
TINY_RUN_ARGS = [
    "--data", "digits", "--epochs", "2", "--hidden-dims", "8", "--latent-dim", "2",
    "--iw-samples", "1", "--eval-iw-samples", "5", "--validation-split", "0.1",
    "--quiet",
]
# The mixed table: two numeric and two text feature columns, a text label.
TABLE_FEATURES = ("age", "colour", "income", "size")
TABLE_ROWS = 60
TABLE_TRAIN = [
    "train", "--preset", "tabular", "--hidden-dims", "8", "--latent-dim", "2",
    "--batch-size", "16", "--eval-iw-samples", "5", "--quiet",
]
# fmt: on


def write_rows(path, header, rows):
    """Writes a CSV file of string cells; returns its path as a string."""
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def table_rows(n=TABLE_ROWS, seed=0):
    """Rows (strings) of the mixed table: age, colour, income, size, kind."""
    rng = np.random.default_rng(seed)
    return [
        [
            f"{rng.uniform(20, 70):.1f}",
            str(rng.choice(["red", "green", "blue"])),
            f"{rng.normal(40000, 8000):.2f}",
            str(rng.choice(["S", "M", "L"])),
            "x" if i % 2 else "y",
        ]
        for i in range(n)
    ]
