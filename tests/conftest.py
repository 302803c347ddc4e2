"""Shared pytest set-up and fixtures.

The JAX backend is picked before anything imports keras, and JAX's
compilation cache is shared by the tests and their subprocesses: most tests
train a tiny model, and compiling its steps costs more than running them.
The cache lives in a fresh temporary folder per session (set through the
environment, so every `vaekit` subprocess a test starts shares it).

Session fixtures make what many tests read once per test process (each
pytest-xdist worker makes its own): small trained run folders (`tiny_run`,
an image model; `table_run`, a mixed table with text columns and labels)
and the data they came from. A test that changes a run folder copies it
first (`copy_run`).
"""

import os
import shutil
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="vaekit-jax-")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import pytest  # noqa: E402

from tests.helpers import (  # noqa: E402
    TABLE_FEATURES,
    TABLE_TRAIN,
    TINY_RUN_ARGS,
    table_rows,
    write_rows,
)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run folder trained by `vaekit train` on digits (read it, do not
    change it: see `copy_run`)."""
    from vaekit.cli.main import main

    run = tmp_path_factory.mktemp("tiny") / "RUN"
    assert main(["train", *TINY_RUN_ARGS, "--output", str(run)]) == 0
    return str(run)


@pytest.fixture(scope="session")
def tiny_model_path(tiny_run):
    return os.path.join(tiny_run, "model.keras")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    from vaekit.model import load_model

    return load_model(tiny_model_path)


@pytest.fixture(scope="session")
def digits_x():
    """scikit-learn's digits as vaekit loads them, `(1797, 8, 8, 1)` in [0, 1]."""
    from vaekit import data

    return data.load("digits").x_train


@pytest.fixture(scope="session")
def table_csv(tmp_path_factory):
    """The path of the mixed table's CSV file (label column `kind`)."""
    root = tmp_path_factory.mktemp("table")
    return write_rows(root / "t.csv", [*TABLE_FEATURES, "kind"], table_rows())


@pytest.fixture(scope="session")
def table_run(table_csv, tmp_path_factory):
    """A run folder of the `tabular` preset on the mixed table."""
    from vaekit.cli.main import main

    run = tmp_path_factory.mktemp("table_run") / "RUN"
    argv = [*TABLE_TRAIN, "--data", table_csv, "--label-column", "kind"]
    assert main([*argv, "--epochs", "3", "--output", str(run)]) == 0
    return str(run)


@pytest.fixture
def copy_run(tmp_path):
    """`copy_run(run)`: a copy of a run folder that a test may change."""

    def copy(run):
        target = tmp_path / "copy"
        shutil.copytree(run, target)
        return str(target)

    return copy
