"""Fixtures and helpers of the command-line tests.

Commands run in this process (`main([...])`) with file descriptors 1 and 2
captured, as a user's terminal would show them: starting Python and Keras
for each command would cost seconds. Models come from the session's runs
(`tiny_run`, `table_run`); the few more this package needs are made once
per session here.
"""

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers import TABLE_FEATURES, table_rows, write_rows
from vaekit.cli.main import main

TABLE_CATEGORIES = {"colour": {"red", "green", "blue"}, "size": {"S", "M", "L"}}


@pytest.fixture
def cli(capfd, monkeypatch, tmp_path):
    """`cli(args, cwd=tmp_path)`: `main(args)` in this process, from folder
    `cwd`, reported as a subprocess would be: `returncode`, `stdout` and
    `stderr` (file descriptors 1 and 2, so that what Keras, JAX or C++ code
    writes is seen too). A Python warning that reaches the warnings module
    fails the test (a user's terminal would show it); vaekit's own warnings
    are printed by the CLI as `vaekit: warning: ...` lines."""

    def run(args, cwd=None):
        monkeypatch.chdir(cwd or tmp_path)
        capfd.readouterr()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = main([str(a) for a in args])
        out, err = capfd.readouterr()
        shown = [
            w
            for w in caught
            if not issubclass(
                w.category, (DeprecationWarning, PendingDeprecationWarning)
            )
        ]
        assert not shown, [str(w.message) for w in shown]
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return run


def refused(result, cwd=None):
    """The one error line of a refused command: exit status 2, one line on
    stderr, no traceback, and (with `cwd`) nothing half-written there."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vaekit: error: ")
    if cwd is not None:
        assert sorted(os.listdir(cwd)) == [], os.listdir(cwd)
    return lines[0]


def vaekit_command():
    """The installed `vaekit` script beside this interpreter, else `-m`."""
    script = os.path.join(os.path.dirname(sys.executable), "vaekit")
    if os.path.isfile(script):
        return [script]
    found = shutil.which("vaekit")
    return [found] if found else [sys.executable, "-m", "vaekit.cli.main"]


def run_process(command, cwd=None, **env):
    """A command in a fresh process (JAX backend), its output as text."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=dict(os.environ, KERAS_BACKEND="jax", **env),
    )


def snapshot(path):
    """Every file under `path` with the hash of its bytes; None if absent."""
    if not os.path.exists(path):
        return None
    if os.path.isfile(path):
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    return {
        os.path.relpath(os.path.join(folder, name), path): snapshot(
            os.path.join(folder, name)
        )
        for folder, _, names in os.walk(path)
        for name in names
    }


def table_with_ids(folder, sep=","):
    """The mixed table with an `id` column (`r0`, `r1`, ...) first, written
    to `folder` with delimiter `sep`; returns its path."""
    header = ["id", *TABLE_FEATURES, "kind"]
    lines = [sep.join(header)]
    lines += [sep.join([f"r{i}", *row]) for i, row in enumerate(table_rows())]
    path = os.path.join(folder, "ids.csv")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def read_table(path):
    """`(header, rows)` of a CSV file, as strings."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def check_table_csv(path, n, columns=TABLE_FEATURES, training_rows=None, label=None):
    """A CSV of examples written by a table model: `n` rows, the feature
    header (and a conditional model's label column `kind` last, every cell
    `label`), valid categories, finite numbers in a plausible range."""
    header, rows = read_table(path)
    assert header == list(columns) + ([] if label is None else ["kind"])
    if label is not None:
        assert {row[-1] for row in rows} == {label}
    assert len(rows) == n
    for j, name in enumerate(columns):
        cells = [row[j] for row in rows]
        if name in TABLE_CATEGORIES:
            assert set(cells) <= TABLE_CATEGORIES[name], (name, set(cells))
            continue
        values = np.array([float(c) for c in cells])
        assert np.isfinite(values).all()
        if training_rows is not None:
            train = np.array(
                [float(r[TABLE_FEATURES.index(name)]) for r in training_rows]
            )
            low, high = train.min(), train.max()
            spread = high - low
            assert (values > low - spread).all() and (values < high + spread).all(), (
                name,
                values.min(),
                values.max(),
            )
    return rows


def _edited(rows, row, column, value):
    """A copy of `rows` with one cell replaced (`column`: a feature name or
    `kind`)."""
    rows = [list(r) for r in rows]
    rows[row][[*TABLE_FEATURES, "kind"].index(column)] = value
    return rows


@pytest.fixture(scope="session")
def table(table_csv, tmp_path_factory):
    """The mixed table (`t`, the session's `table_csv`), variants of it, its
    rows (strings) and the folder holding them (`root`)."""
    root = tmp_path_factory.mktemp("tables")
    header = [*TABLE_FEATURES, "kind"]
    rows = table_rows()
    paths = {"rows": rows, "root": root, "t": table_csv}
    # the same rows, the columns in another order and an unused text column
    order = [2, 4, 3, 0, 1]
    paths["shuffled"] = write_rows(
        root / "shuffled.csv",
        ["income", "note", "kind", "size", "age", "colour"],
        [
            [row[order[0]], f"n{i}", *(row[j] for j in order[1:])]
            for i, row in enumerate(rows)
        ],
    )
    # data row 3 (line 5: the header is line 1) has a colour never seen
    paths["unknown"] = write_rows(
        root / "unknown.csv", header, _edited(rows, 3, "colour", "purple")
    )
    # missing values: age on data row 5 (line 7), income on row 9 (line 11),
    # and colour on row 12, a column that --columns age,income leaves out
    na = _edited(rows, 5, "age", "NA")
    na = _edited(na, 9, "income", "")
    paths["na"] = write_rows(root / "na.csv", header, _edited(na, 12, "colour", "NA"))
    # data row 7 (line 9) has one cell too many
    ragged = [list(r) for r in rows]
    ragged[7].append("7")
    paths["ragged"] = write_rows(root / "ragged.csv", header, ragged)
    paths["single"] = write_rows(
        root / "single.csv", [*header, "const"], [[*r, "a"] for r in rows]
    )
    return paths


@pytest.fixture(scope="session")
def conditional_model(table_csv, tmp_path_factory):
    """The path of a conditional VAE of the mixed table on its text labels x
    and y, fitted for two epochs through the library (`vaekit train
    --conditional` fails in its final evaluation, see test_train.py)."""
    import keras
    import pandas as pd

    from vaekit.model import VAE

    frame = pd.read_csv(table_csv)
    keras.utils.set_random_seed(0)
    model = VAE(
        likelihood="gaussian",
        decoder_std="learned-per-feature",
        latent_dim=2,
        hidden_dims=(8,),
        conditional=True,
        seed=0,
    )
    model.compile(optimizer="adam")
    model.fit(
        frame.drop(columns="kind"), frame["kind"], epochs=2, batch_size=16, verbose=0
    )
    path = str(tmp_path_factory.mktemp("conditional") / "model.keras")
    model.save(path)
    return path


@pytest.fixture(scope="session")
def nonfinite_model(tiny_model_path, tmp_path_factory):
    """A copy of the tiny model whose encoder multiplies pixel 5 by 1e38:
    the scores of every digit with ink there are not finite (NaN), the
    others' are. Returns `(path, bad)`, `bad` a boolean mask of the digits
    with non-finite scores."""
    from vaekit import data
    from vaekit.model import load_model

    model = load_model(tiny_model_path)
    weights = model.encoder.get_weights()
    weights[0][5, :] = 1e38
    model.encoder.set_weights(weights)
    path = str(tmp_path_factory.mktemp("nonfinite") / "model.keras")
    model.save(path)
    x = data.load("digits").x_train.reshape(-1, 64)
    return path, x[:, 5] > 0


@pytest.fixture(scope="session")
def model5_path(tmp_path_factory):
    """An untrained VAE of the 8x8 digits with 5 latent units, saved:
    principal components and traversals."""
    from tests.viz.conftest import untrained

    path = str(tmp_path_factory.mktemp("model5") / "m5.keras")
    untrained((8, 8, 1), 5).save(path)
    return path


# Run by a child process of root before it runs a command: drops the
# capabilities that let root read and write whatever the permissions
# (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from the bounding set, so that the
# command meets permissions as a user does. (A preexec_fn would fork this
# multithreaded process.)
_AS_A_USER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2):
    if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
os.execv(sys.argv[1], sys.argv[1:])
"""


@pytest.fixture
def user_cli(cli, tmp_path):
    """`user_cli(args, cwd=tmp_path)`: the CLI as a user without root's
    powers over permissions: `cli` for a user; for root (as CI runs), the
    installed script in a child process whose capabilities to ignore
    permissions are dropped."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return cli
    launcher = [sys.executable, "-c", _AS_A_USER]
    check = subprocess.run([*launcher, "/bin/true"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(f"cannot drop root's permission overrides: {check.stderr}")

    def run(args, cwd=None):
        return subprocess.run(
            [*launcher, *vaekit_command(), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=cwd or tmp_path,
            env=dict(os.environ, KERAS_BACKEND="jax"),
        )

    return run
