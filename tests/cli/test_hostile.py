"""Hostile input to the command line (issue 18): run folders that are not
vaekit's, links, outputs that are inputs, two trainings racing for one
folder, a full disk mid-run, hand-edited run files, seeds out of range,
config values of the wrong type, missing backends, scores that are not
finite. Each case is one line and exit status 2 (or, where the input is
usable, a run that says what it did), and nothing of the user's is lost or
left half-written.

Most cases fail before any work and run `main` in this process; the race
and the missing backends need fresh processes.
"""

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.cli.conftest import refused, snapshot
from tests.helpers import TINY_RUN_ARGS
from vaekit import claims, io, runs

# Settings that train fast, with its pictures (the winner of a race) or
# without them (monkeypatched away where pictures are not the subject).
ONE_EPOCH = [*TINY_RUN_ARGS[: TINY_RUN_ARGS.index("--epochs")], "--epochs", "1"]
ONE_EPOCH += TINY_RUN_ARGS[TINY_RUN_ARGS.index("--epochs") + 2 :]


def error_line(result):
    """The error of a command that failed after it started: exit status 2,
    no traceback, the last line `vaekit: error: ...`, and before it only
    the lines the library logs or warns (no other error)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    *before, line = result.stderr.strip().splitlines()
    assert line.startswith("vaekit: error: "), result.stderr
    for text in before:
        assert text.startswith("vaekit: "), text
        assert not text.startswith("vaekit: error"), text
    return line


def no_pictures(monkeypatch):
    """`train` without its pictures and report (seconds of matplotlib)."""
    import importlib

    train = importlib.import_module("vaekit.training.train")
    monkeypatch.setattr(train, "write_run_pictures", lambda *a, **k: None)
    monkeypatch.setattr(train, "write_report", lambda *a, **k: None)


def disk_fills_up(monkeypatch, when):
    """From now on, the atomic writes (vaekit.io.atomic_path) of the files
    for which `when(path)` is true fail as a full disk does: half the file
    written, then ENOSPC. Returns the list of the paths that failed."""
    real = io.atomic_path
    failed = []

    @contextlib.contextmanager
    def full(path):
        with real(path) as tmp:
            yield tmp
            if when(os.fspath(path)):
                failed.append(os.fspath(path))
                with open(tmp, "r+b") as handle:
                    handle.truncate(os.path.getsize(tmp) // 2)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io, "atomic_path", full)
    return failed


def leftovers(folder):
    """Temporary files of atomic writes under `folder`."""
    return [
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if ".tmp" in name
    ]


def same_weights(path_a, path_b):
    from vaekit.model import load_model

    a = load_model(path_a).get_weights()
    b = load_model(path_b).get_weights()
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


# -- run folders that are not vaekit's, and links ------------------------------


def _project(folder):
    (folder / "src").mkdir(parents=True)
    (folder / "config.toml").write_text('title="site"\n')
    (folder / "src" / "main.py").write_text("keep\n")
    return folder


def test_overwrite_through_a_link_leaves_the_targets_files(cli, tmp_path):
    """`--output LINK --overwrite`, the link to a user's project or to a run
    folder holding a file of the user's: refused, naming the problem; the
    link and every file it leads to stay."""
    project = _project(tmp_path / "proj")
    (tmp_path / "link").symlink_to(project)
    run = tmp_path / "run"
    claims.claim(str(run))
    (run / runs.CONFIG).write_text("epochs = 1\n")
    (run / "notes.txt").write_text("mine\n")
    (tmp_path / "runlink").symlink_to(run)
    before = snapshot(tmp_path)
    train = ["train", "--data", "digits", "--epochs", "1", "--overwrite"]
    line = refused(cli([*train, "--output", "link"]))
    assert line.startswith("vaekit: error: 'link' is not a folder vaekit made")
    line = refused(cli([*train, "--output", "runlink"]))
    assert "holds 'notes.txt', which vaekit did not write" in line
    assert snapshot(tmp_path) == before
    assert os.readlink(tmp_path / "link") == str(project)


def test_an_output_under_a_file_is_one_line(cli, tmp_path):
    (tmp_path / "file").write_text("not a folder\n")
    for output in ("file/run", "file/sub/run"):
        line = refused(cli(["train", "--data", "digits", "--output", output]))
        assert line == (
            f"vaekit: error: output {output!r} is under "
            f"{str(tmp_path / 'file')!r}, not a folder"
        )
    assert os.listdir(tmp_path) == ["file"]


def test_a_read_only_output_is_one_line(user_cli, tmp_path):
    """An --output folder (empty) that one may not write: one line naming
    the path, nothing written (as a user: root's capabilities to ignore
    permissions dropped). An --output in such a folder: test_main.py."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = user_cli(["train", "--data", "digits", "--output", "ro"])
    finally:
        folder.chmod(0o755)
    assert refused(result) == (
        f"vaekit: error: cannot use 'ro/{runs.MARKER}': Permission denied"
    )
    assert os.listdir(folder) == []


# -- an output that is an input ------------------------------------------------


@pytest.fixture
def inputs(tmp_path, digits_x, table_csv):
    """Inputs in the test's folder: x.npy (digits), t.csv (the mixed
    table), imgs/ (a folder of images) and a link to x.npy."""
    np.save(tmp_path / "x.npy", digits_x[:5])
    shutil.copy(table_csv, tmp_path / "t.csv")
    (tmp_path / "imgs").mkdir()
    from PIL import Image

    for i in range(2):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "imgs" / f"{i}.png")
    (tmp_path / "link.npy").symlink_to(tmp_path / "x.npy")
    (tmp_path / "sub").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "argv, what",
    [
        (["reconstruct", "M", "--data", "x.npy", "--output", "x.npy"], "the data"),
        (
            ["reconstruct", "M", "--data", "x.npy", "--output", "sub/../x.npy"],
            "the data",
        ),
        (["reconstruct", "M", "--data", "link.npy", "--output", "x.npy"], "the data"),
        (["reconstruct", "M", "--data", "x.npy", "--output", "link.npy"], "the data"),
        (["encode", "M", "--data", "x.npy", "--output", "x.npy"], "the data"),
        (["score", "M", "--data", "t.csv", "--output", "t.csv"], "the data"),
        (["reconstruct", "M", "--data", "imgs", "--output", "imgs/0.png"], "inside"),
        (["reconstruct", "M", "--data", "imgs", "--output", "imgs/new.png"], "inside"),
        (["sample", "M", "--output", "M"], "the model file"),
        (["train", "--data", "x.npy", "--output", "x.npy"], "the data"),
        (["train", "--data", "imgs", "--output", "imgs/run"], "inside"),
        (["train", "--config", "t.csv", "--output", "t.csv"], "the config file"),
    ],
)
def test_an_output_that_is_an_input_is_refused(
    cli, inputs, tiny_model_path, argv, what
):
    """Before anything is read or written: the inputs stay as they were."""
    model = inputs / "model.keras"
    shutil.copy(tiny_model_path, model)
    argv = [str(model) if a == "M" else a for a in argv]
    before = snapshot(inputs)
    line = refused(cli(argv))
    assert what in line and "vaekit does not write over or into" in line, line
    assert snapshot(inputs) == before


# -- two trainings, one folder -------------------------------------------------

RACE = """
    import os, sys, time
    import vaekit.training  # keras and the library loaded before the start
    from vaekit.cli.main import main
    go = sys.argv[1]
    while not os.path.exists(go):
        time.sleep(0.0005)
    sys.exit(main(sys.argv[2:]))
"""


def test_two_trainings_racing_for_one_output(tmp_path):
    """Two `vaekit train --output RUN` start at the same instant for one
    empty folder: exactly one trains, the other gets one line and exit
    status 2, and the winner's run is complete. (`claim` itself is raced by
    four processes for 300 folders in tests/test_runs.py.)"""
    run, go = tmp_path / "RUN", tmp_path / "go"
    run.mkdir()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(RACE),
                str(go),
                "train",
                *ONE_EPOCH,
                "--output",
                str(run),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, KERAS_BACKEND="jax"),
        )
        for _ in range(2)
    ]
    go.touch()  # both start together
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, err))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(err for code, err in results if code == 2)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"vaekit: error: run folder {str(run)!r} ")
    assert "another training" in lines[0] or "already exists" in lines[0]
    names = set(os.listdir(run))
    assert {runs.MARKER, runs.MODEL, runs.METRICS, runs.REPORT} <= names
    assert runs.INCOMPLETE not in names
    assert leftovers(run) == []


# -- a full disk ---------------------------------------------------------------


def test_a_full_disk_while_checkpointing_keeps_the_run_resumable(
    cli, tmp_path, monkeypatch, tiny_model_path
):
    """The disk fills up while the checkpoint of epoch 2 is written: one
    line naming the file; the checkpoint of epoch 1 is whole, nothing is
    half-written, and `--resume` ends with the weights of the session's
    uninterrupted tiny run (the same settings)."""
    no_pictures(monkeypatch)
    checkpoints = []

    def third_checkpoint(path):
        # The checkpoint at the start, then epoch 1's, then epoch 2's fails.
        if path.endswith(runs.CHECKPOINT):
            checkpoints.append(path)
        return len(checkpoints) == 3 and checkpoints[-1] == path

    failed = disk_fills_up(monkeypatch, third_checkpoint)
    run = str(tmp_path / "run")
    result = cli(["train", *TINY_RUN_ARGS, "--output", run])
    checkpoint = runs.path(run, runs.CHECKPOINT)
    assert error_line(result) == (
        f"vaekit: error: cannot use {checkpoint!r}: No space left on device"
    )
    assert failed == [checkpoint]
    assert leftovers(run) == []
    with np.load(checkpoint) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
    assert (meta["epoch"], meta["step"]) == (1, 0)
    assert os.path.isfile(runs.path(run, runs.INCOMPLETE))
    assert not os.path.exists(runs.path(run, runs.MODEL))
    monkeypatch.undo()
    no_pictures(monkeypatch)
    result = cli(["train", "--resume", run, "--quiet"])
    assert result.returncode == 0, result.stderr
    assert "resuming run" in result.stderr and "at epoch 2 of 2" in result.stderr
    assert not os.path.exists(runs.path(run, runs.INCOMPLETE))
    same_weights(runs.path(run, runs.MODEL), tiny_model_path)


def test_a_full_disk_while_drawing_leaves_a_run_marked_incomplete(
    cli, tiny_run, copy_run, monkeypatch
):
    """The final phase of a finished run is redone (`--resume` with its own
    epochs) and the disk fills up at its third picture: one line; the run
    is marked INCOMPLETE, and what it holds of the final phase is all new
    (no picture, metrics or scores of the earlier phase beside the new
    model); its report says it is incomplete; a second `--resume`
    completes it."""
    run = copy_run(tiny_run)
    plots = runs.path(run, runs.PLOTS)
    drawn = []

    def third_picture(path):
        if os.path.dirname(path) == plots:
            drawn.append(path)
        return len(drawn) == 3 and drawn[-1] == path

    failed = disk_fills_up(monkeypatch, third_picture)
    result = cli(["train", "--resume", run, "--quiet"])
    assert error_line(result) == (
        f"vaekit: error: cannot use {failed[0]!r}: No space left on device"
    )
    assert "has trained all its 2 epochs: redoing its final phase" in result.stderr
    monkeypatch.undo()
    assert leftovers(run) == []
    assert os.path.isfile(runs.path(run, runs.INCOMPLETE))
    model_time = os.stat(runs.path(run, runs.MODEL)).st_mtime_ns
    results = [runs.path(run, n) for n in (runs.METRICS, runs.TRAIN_SCORES)]
    results += [os.path.join(plots, n) for n in os.listdir(plots)]
    present = [p for p in results if os.path.exists(p)]
    assert sorted(os.listdir(plots)) == sorted(os.path.basename(p) for p in drawn[:2])
    assert not os.path.exists(runs.path(run, runs.TRAIN_SCORES))
    assert not os.path.exists(runs.path(run, runs.REPORT))
    assert all(os.stat(p).st_mtime_ns >= model_time for p in present)
    assert cli(["report", run]).returncode == 0
    with open(runs.path(run, runs.REPORT)) as handle:
        assert "This run is incomplete" in handle.read()
    result = cli(["train", "--resume", run, "--quiet"])
    assert result.returncode == 0, result.stderr
    assert set(os.listdir(run)) == set(os.listdir(tiny_run))
    assert sorted(os.listdir(plots)) == sorted(
        os.listdir(runs.path(tiny_run, runs.PLOTS))
    )
    with open(runs.path(run, runs.REPORT)) as handle:
        assert "This run is incomplete" not in handle.read()
    same_weights(runs.path(run, runs.MODEL), runs.path(tiny_run, runs.MODEL))


# -- values out of range, of the wrong type, backends not installed ------------


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", "digits", "--seed", "4294967296"],
        ["evaluate", "M", "--data", "digits", "--seed", "4294967296"],
        ["score", "M", "--data", "digits", "--output", "s.csv", "--seed", "-1"],
        ["sample", "M", "--output", "s.npy", "--seed", str(2**64)],
    ],
    ids=["train", "evaluate", "score", "sample"],
)
def test_a_seed_out_of_range_is_one_line(cli, tiny_model_path, tmp_path, argv):
    argv = [tiny_model_path if a == "M" else a for a in argv]
    line = refused(cli(argv), cwd=tmp_path)
    assert "--seed" in line and "expected an integer in [0, " in line


@pytest.mark.parametrize(
    "toml, key",
    [
        ("data = 5", "data"),
        ('epochs = "ten"', "epochs"),
        ("hidden_dims = 5", "hidden_dims"),
        ("latent_dim = 2.5", "latent_dim"),
        ("learning_rate = true", "learning_rate"),
        ("[data]\nx = 1", "data"),
        ("columns = [1, 2]", "columns"),
        ("backend = 5", "backend"),
        ("epochs = 1e400", "epochs"),
    ],
)
def test_a_config_value_of_the_wrong_type_is_one_line(cli, tmp_path, toml, key):
    (tmp_path / "c.toml").write_text(toml + "\n")
    line = refused(cli(["train", "--config", "c.toml", "--output", "run"]))
    assert line.startswith(
        f"vaekit: error: config file 'c.toml': Invalid value for argument `{key}`"
    ), line
    assert os.listdir(tmp_path) == ["c.toml"]


# Made unimportable: the meta path finder a user without the extra has, in
# effect (find_spec answers None, import raises ModuleNotFoundError).
BLOCKED = """
    import contextlib, io, json, os, sys

    class Missing:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "tensorflow"):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Missing())
    for name in list(sys.modules):
        if name.split(".")[0] in ("torch", "tensorflow"):
            del sys.modules[name]
    from vaekit.cli.main import main
    results = []
    for argv, env in json.loads(sys.argv[1]):
        os.environ.update(env)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(argv)
        results.append([code, err.getvalue(), "keras" in sys.modules])
    print(json.dumps(results))
"""


def test_a_backend_that_is_not_installed_is_one_line(tmp_path, tiny_model_path):
    """`--backend torch` or `tensorflow` (a flag, a config file's backend,
    KERAS_BACKEND) without the extra that installs it: one line saying how
    to install it, before keras is imported."""
    (tmp_path / "c.toml").write_text('backend = "torch"\n')
    sample = ["sample", tiny_model_path, "-n", "2", "--output", "s.npy"]
    cases = [
        (["train", "--data", "digits", "--backend", "torch"], {}),
        ([*sample, "--backend", "tensorflow"], {}),
        (["train", "--config", "c.toml"], {}),
        (sample, {"KERAS_BACKEND": "torch"}),
    ]
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BLOCKED), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
    )
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    for (argv, _), (code, err, keras_loaded) in zip(cases, outcomes, strict=True):
        assert code == 2 and err.count("\n") == 1, (argv, err)
        backend = "tensorflow" if "tensorflow" in argv else "torch"
        package = "TensorFlow" if backend == "tensorflow" else "PyTorch"
        assert err == (
            f"vaekit: error: the {backend} backend needs {package}, which is not "
            f'installed: pip install "vaekit[{backend}]", or choose another '
            "backend (jax is vaekit's default)\n"
        )
        assert not keras_loaded
    assert sorted(os.listdir(tmp_path)) == ["c.toml"]


# -- hand-edited run files -----------------------------------------------------


def _edit_checkpoint(run, change):
    path = runs.path(run, runs.CHECKPOINT)
    with np.load(path) as archive:
        arrays = dict(archive)
    meta = json.loads(arrays["meta"].tobytes().decode())
    change(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "change, text",
    [
        (lambda m: m.update(epoch="2"), "'epoch' is \"2\", not a number of epochs"),
        (lambda m: m.pop("step"), "'step' is missing"),
        (lambda m: m.update(rows=[{"loss": "low"}]), "'rows' entry 0 is"),
        (lambda m: m.update(n_model=-1), "'n_model' is -1, not a number of"),
    ],
    ids=["epoch", "step", "rows", "n_model"],
)
def test_a_hand_edited_checkpoint_is_one_line(cli, tiny_run, copy_run, change, text):
    run = copy_run(tiny_run)
    path = _edit_checkpoint(run, change)
    before = snapshot(run)
    line = error_line(cli(["train", "--resume", run, "--quiet"]))
    assert line.startswith(f"vaekit: error: checkpoint {path!r} is damaged: ")
    assert text in line, line
    assert snapshot(run) == before


def test_a_number_where_a_title_belongs_in_the_plots_index(cli, tiny_run, copy_run):
    """`plots/index.json` edited by hand: the report takes the defaults of
    the bad fields and of a bad file, never a traceback."""
    run = copy_run(tiny_run)
    index = os.path.join(runs.path(run, runs.PLOTS), runs.PLOTS_INDEX)
    for text in (
        '{"pictures": [{"file": "samples.png", "title": 5, "caption": [7]}, 3]}',
        '{"pictures": 5}',
        "[1, 2]",
        "{not json",
    ):
        with open(index, "w") as handle:
            handle.write(text)
        result = cli(["report", run])
        assert result.returncode == 0 and result.stderr == "", result.stderr
        with open(runs.path(run, runs.REPORT)) as handle:
            page = handle.read()
        assert "<b>samples</b>" in page  # the default title, from the name


def test_training_scores_without_a_key_are_one_line(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    path = runs.path(run, runs.TRAIN_SCORES)
    with np.load(path) as archive:
        kept = {k: archive[k] for k in archive.files if k != "neg_log_likelihood"}
    np.savez(path, **kept)
    model = runs.path(run, runs.MODEL)
    argv = ["score", model, "--data", "digits", "--output", "s.csv"]
    line = refused(cli([*argv, "--threshold-quantile", "0.9"]))
    assert line == (
        f"vaekit: error: training scores {path!r} cannot be read (it holds no "
        f"'neg_log_likelihood'): `vaekit train --resume {run}` writes them again, "
        "or pass --threshold"
    )


# -- runs that would do nothing, and scores at another k ----------------------


def test_scores_at_another_k_than_the_training_scores_warn(
    cli, tiny_run, tiny_model_path, tmp_path
):
    """The tiny run stored its training scores with k=5: scoring with k=10
    against their quantile says so (once), and still scores."""
    argv = ["score", tiny_model_path, "--data", "digits", "--output", "s.csv"]
    result = cli([*argv, "--iw-samples", "10", "--threshold-quantile", "0.9"])
    assert result.returncode == 0, result.stderr
    warnings = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("vaekit: warning:")
    ]
    assert warnings == [
        "vaekit: warning: the threshold is a quantile of the training scores "
        "estimated with k=5 importance samples, and these scores are estimated "
        "with k=10: the estimate of -log p(x) falls as k rises, so rows are "
        "flagged less often than the quantile says; score with k=5 to compare "
        "like with like"
    ]
    assert "k=10)" in result.stdout
    # With the stored k (the default): no warning.
    result = cli([*argv, "--threshold-quantile", "0.9"])
    assert "warning" not in result.stderr


def test_resuming_a_run_for_fewer_epochs_than_it_trained_is_one_line(
    cli, tiny_run, copy_run
):
    run = copy_run(tiny_run)
    before = snapshot(run)
    line = error_line(cli(["train", "--resume", run, "--epochs", "1", "--quiet"]))
    assert line == (
        f"vaekit: error: run {run!r} has trained 2 epochs, more than epochs=1: "
        "epochs is the run's total number of epochs, so pass 2 or more"
    )
    assert snapshot(run) == before


# -- scores that are not finite: the table -----------------------------


@pytest.fixture(scope="module")
def three_columns(tmp_path_factory):
    """A gaussian VAE of a 3-column table of standard normal values (fitted
    for two epochs through the library), its training CSV, and a CSV of
    five such rows and two with a value 1000 times the training spread."""
    import keras
    import pandas as pd

    from vaekit.model import VAE

    root = tmp_path_factory.mktemp("three")
    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    keras.utils.set_random_seed(0)
    model = VAE(likelihood="gaussian", latent_dim=2, hidden_dims=(8,), seed=0)
    model.compile(optimizer="adam")
    model.fit(train, epochs=2, batch_size=32, verbose=0)
    model.save(root / "model.keras")
    spread = float((train.max() - train.min()).max())
    new = train.iloc[:5].copy()
    new.loc[5] = [1000 * spread, 0.1, 0.2]
    new.loc[6] = [0.1, -1000 * spread, 0.2]
    new.to_csv(root / "new.csv", index=False)
    return str(root / "model.keras"), str(root / "new.csv")


def test_rows_whose_scores_overflow_are_flagged_and_counted(
    cli, three_columns, tmp_path
):
    """The issue's example: the two rows 1000 times outside the training
    spread score NaN, are outliers and are counted, as rows whose scores
    are not finite; `evaluate --json` is strict JSON, null with the reason."""
    model, new = three_columns
    argv = ["score", model, "--data", new, "--iw-samples", "10"]
    result = cli([*argv, "--threshold", "1e30", "--output", "s.csv"])
    assert result.returncode == 0, result.stderr
    import pandas as pd

    scores = pd.read_csv(tmp_path / "s.csv")
    bad = ~np.isfinite(scores["neg_log_likelihood"].to_numpy())
    np.testing.assert_array_equal(bad, [0, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(scores["is_outlier"], [0, 0, 0, 0, 0, 1, 1])
    assert result.stdout.endswith(
        "2 flagged, 2 of them for a score that is not finite\n"
    )
    result = cli([*argv, "--output", "s.csv"])  # no threshold: still counted
    assert result.stdout.endswith("; 2 with a score that is not finite\n")

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    result = cli(["evaluate", model, "--data", new, "--iw-samples", "10", "--json"])
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout, parse_constant=refuse)
    assert parsed["log_likelihood"] is None and parsed["n"] == 7
    assert parsed["not_finite"]["log_likelihood"] == "nan"


# -- requests larger than memory ----------------------------------------------


@pytest.mark.parametrize(
    "argv, needs",
    [
        (["sample", "{model}", "-n", "2000000000"], "2000000000 samples of shape"),
        (
            ["plot", "manifold", "{image}", "--grid", "100000"],
            "manifold of grid 100000",
        ),
    ],
)
def test_a_request_larger_than_memory_is_one_line(cli, tmp_path, argv, needs):
    """Two billion samples, or a manifold of 10^10 tiles: refused before any
    allocation, with how much memory it would need, and nothing written."""
    from tests.helpers import FIXTURES

    models = os.path.join(FIXTURES, "models")
    paths = {
        "model": os.path.join(models, "mlp_bernoulli.keras"),
        "image": os.path.join(models, "mlp_gaussian_image.keras"),
    }
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(**paths) for a in argv] + ["--output", str(out / "x.png")]
    if argv[0] == "sample":
        argv[-1] = str(out / "x.npy")
    line = refused(cli(argv), cwd=out)
    assert needs in line and "would need" in line and "this machine has" in line


def test_a_traversal_of_many_values_labels_a_few_rows(tmp_path):
    """A traversal of 5000 values per unit draws in seconds: the heatmap
    labels at most `MAX_TICKS` rows, not one per value."""
    from tests.helpers import FIXTURES
    from vaekit.viz import decoded, figures

    model = os.path.join(FIXTURES, "models", "mlp_bernoulli.keras")
    fig = decoded.manifold(model, grid=5000)
    for ax in fig.axes[:-1]:  # the last is the colour bar
        assert 2 <= len(ax.get_yticks()) <= figures.MAX_TICKS
    figures.pyplot().close(fig)


# -- labels -------------------------------------------------------------------


def _class_folders(root, names=("zero", "one"), per_class=12):
    """A folder of PNG images in one sub-folder per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = (rng.random((8, 8)) * 60 + 150 * k).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_image_folder_class_names_reach_every_output(cli, tmp_path, monkeypatch):
    """Class sub-folders `zero` and `one`: the names, not 0 and 1, in the
    scores and codes the CLI writes and in the latent scatter's legend."""
    from vaekit.viz import figures

    no_pictures(monkeypatch)
    data = _class_folders(tmp_path / "images")
    run = tmp_path / "RUN"
    argv = ["train", *ONE_EPOCH, "--output", run]
    argv[argv.index("digits")] = data
    result = cli([*argv, "--validation-split", "0.2"])
    assert result.returncode == 0, result.stderr
    model = run / "model.keras"
    for command in ("score", "encode"):
        out = tmp_path / f"{command}.csv"
        result = cli([command, model, "--data", data, "--output", out])
        assert result.returncode == 0, result.stderr
        header, *rows = out.read_text().splitlines()
        column = header.split(",").index("label")
        assert {row.split(",")[column] for row in rows} == {"zero", "one"}
    fig = figures.latent_scatter(str(model), str(data))
    legend = fig.axes[0].get_legend()
    assert sorted(t.get_text() for t in legend.get_texts()) == ["one", "zero"]
    figures.pyplot().close(fig)


def test_encode_of_a_conditional_model_reads_the_labels(cli, tmp_path):
    """`vaekit encode` of a conditional model encodes each example under its
    own label (the data's), as the library does with `condition=`; data
    without labels is one line that says what to pass on the command line
    (no Python argument names)."""
    import vaekit
    from tests.helpers import FIXTURES

    model = os.path.join(FIXTURES, "models", "conditional_classes.keras")
    out = tmp_path / "z.csv"
    result = cli(["encode", model, "--data", "digits", "--output", out])
    assert result.returncode == 0, result.stderr
    header, *rows = out.read_text().splitlines()
    assert header.split(",")[-1] == "label"
    table = np.array([r.split(",")[:4] for r in rows], dtype=float)
    codes = vaekit.encode(model, "digits")
    np.testing.assert_allclose(table[:, :2], codes["z_mean"], rtol=1e-5, atol=1e-6)
    bare = tmp_path / "x.npy"
    np.save(
        bare, np.load(os.path.join(FIXTURES, "models", "conditional_classes.npz"))["x"]
    )
    line = refused(
        cli(["encode", model, "--data", bare, "--output", tmp_path / "y.csv"])
    )
    assert "label" in line and "condition=" not in line


def test_a_long_evaluation_says_how_long_then_where_it_stands(
    cli, tiny_model_path, monkeypatch
):
    """The issue's `evaluate --iw-samples 1000000000` printed nothing for
    minutes: a long evaluation says how long it will take, then its
    progress (here with lines every 0.2 s, and the evaluation cut short)."""
    import time

    from vaekit.cli import progress

    monkeypatch.setattr(progress, "EVERY", 0.2)
    started = []
    real = progress.Progress.__call__

    def count(self, done, total):
        started.append(started[0] if started else time.monotonic())
        real(self, done, total)
        if time.monotonic() - started[0] > 1.5:
            raise KeyboardInterrupt  # enough: stop as Ctrl-C would

    monkeypatch.setattr(progress.Progress, "__call__", count)
    argv = ["evaluate", tiny_model_path, "--data", "digits", "--iw-samples", "200000"]
    result = cli(argv)
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("vaekit: evaluating ") and "at this rate" in line
        for line in lines
    ), result.stderr
    assert any("to go" in line for line in lines), result.stderr
    assert result.returncode == 130  # stopped as Ctrl-C stops it
