"""Fixtures of the training tests.

Most tests train tiny models in this process with the library's pieces
(see `tests.training.common.fit_run`); runs that only need to be read come
from the session's `tiny_run` and `table_run`. A few tests need fresh
processes (signals, SIGKILL, several JAX processes, several CPU devices):
their scripts are files in this folder.
"""

import numpy as np
import pytest

from tests.cli.conftest import cli  # noqa: F401 (the command line, run in-process)
from tests.training.common import TRAIN, prototypes


@pytest.fixture(scope="session")
def prototypes_npy(tmp_path_factory):
    """A `.npy` of 240 examples of 16 values in [0, 1] (see
    `common.prototypes`): small enough to train in a second, with a
    validation split of 24 rows."""
    path = tmp_path_factory.mktemp("prototypes") / "x.npy"
    np.save(path, prototypes(240, 16))
    return str(path)


@pytest.fixture
def no_pictures(monkeypatch):
    """`train` without the run's pictures and report (seconds of matplotlib
    per run; tests/viz checks them), for tests whose subject is training."""
    monkeypatch.setattr(TRAIN, "write_run_pictures", lambda *args, **kwargs: None)
    monkeypatch.setattr(TRAIN, "write_report", lambda *args, **kwargs: None)
