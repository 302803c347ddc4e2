"""vaekit.runs: the run folder's names and reading a run back."""

import json
import math
import os

import numpy as np
import pytest

from vaekit import VaekitError, io, runs
from vaekit.config import Config, to_toml
from vaekit.errors import RunFolderError


@pytest.fixture
def run(tmp_path):
    """A run folder with a config, a history and metrics (no model)."""
    folder = tmp_path / "RUN"
    folder.mkdir()
    (folder / runs.CONFIG).write_text(to_toml(Config(epochs=3, latent_dim=4)))
    (folder / runs.HISTORY).write_text(
        "epoch,loss,val_loss,seconds\n1,10.5,11.0,0.5\n2,9.5,,0.25\n"
    )
    (folder / runs.METRICS).write_text(json.dumps({"elbo": -90.5, "n": 10}))
    return str(folder)


def test_file_names():
    # Users, scripts and older runs rely on these names.
    assert (runs.CONFIG, runs.HISTORY, runs.METRICS) == (
        "config.toml",
        "history.csv",
        "metrics.json",
    )
    assert (runs.MODEL, runs.PLOTS, runs.REPORT, runs.CHECKPOINT) == (
        "model.keras",
        "plots",
        "report.html",
        "checkpoint.npz",
    )
    assert (runs.TRAIN_SCORES, runs.PLOTS_INDEX) == ("train_scores.npz", "index.json")
    assert (runs.MARKER, runs.INCOMPLETE) == (".vaekit-run", "INCOMPLETE")
    assert set(runs.OWN_FILES) == {
        runs.INCOMPLETE,
        runs.CONFIG,
        runs.HISTORY,
        runs.CHECKPOINT,
        runs.MODEL,
        runs.METRICS,
        runs.REPORT,
        runs.TRAIN_SCORES,
        runs.MARKER,
        runs.MLFLOW,
    }
    assert (runs.MLFLOW, runs.TENSORBOARD) == ("mlflow.json", "tensorboard")
    assert runs.OWN_FOLDERS == (runs.PLOTS, runs.TENSORBOARD)
    assert runs.path("RUN", runs.MODEL) == os.path.join("RUN", "model.keras")


def test_own_files_of_the_run_folders_sub_folders(tmp_path):
    """vaekit's pictures in plots/, event files (TensorBoard needs their
    names to hold `tfevents`) in tensorboard/: regular files, no links."""
    (tmp_path / "samples.png").write_text("")
    (tmp_path / "events.out.tfevents.1700000000.host.1.ab").write_text("")
    (tmp_path / "events.txt").write_text("")
    (tmp_path / "events.out.tfevents.link").symlink_to(tmp_path / "events.txt")
    folder = str(tmp_path)
    assert runs.is_own_in(runs.PLOTS, folder, "samples.png")
    assert not runs.is_own_in(runs.TENSORBOARD, folder, "samples.png")
    events = "events.out.tfevents.1700000000.host.1.ab"
    assert runs.is_own_in(runs.TENSORBOARD, folder, events)
    assert not runs.is_own_in(runs.PLOTS, folder, events)
    assert not runs.is_own_in(runs.TENSORBOARD, folder, "events.txt")
    assert not runs.is_own_in(runs.TENSORBOARD, folder, "events.out.tfevents.link")


def test_read_config(run, tmp_path):
    values = runs.read_config(run)
    assert (values["epochs"], values["latent_dim"]) == (3, 4)
    assert runs.load_config(run) == Config(epochs=3, latent_dim=4)
    assert runs.read_config(tmp_path, missing_ok=True) is None
    with pytest.raises(VaekitError, match="does not exist"):
        runs.read_config(tmp_path)
    (tmp_path / runs.CONFIG).write_text("epochs = = 1\n")
    with pytest.raises(VaekitError, match="not valid TOML"):
        runs.read_config(tmp_path, missing_ok=True)
    (tmp_path / runs.CONFIG).write_text("epochs = 0\n")
    with pytest.raises(VaekitError, match=r"config\.toml'?: .*epochs=0"):
        runs.load_config(tmp_path)


def test_read_history(run, tmp_path):
    history = runs.read_history(run)
    assert sorted(history) == ["epoch", "loss", "seconds", "val_loss"]
    np.testing.assert_array_equal(history["epoch"], [1, 2])
    np.testing.assert_array_equal(history["loss"], [10.5, 9.5])
    assert history["val_loss"][0] == 11.0 and math.isnan(history["val_loss"][1])
    assert runs.read_history(tmp_path) == {}  # no file
    (tmp_path / runs.HISTORY).write_text("epoch,loss\n")
    assert runs.read_history(tmp_path) == {}  # no rows


def test_read_metrics_and_plots_index(run, tmp_path):
    assert runs.read_metrics(run) == {"elbo": -90.5, "n": 10}
    assert runs.read_metrics(tmp_path) is None
    (tmp_path / runs.METRICS).write_text("{not json")
    assert runs.read_metrics(tmp_path) is None
    assert runs.read_plots_index(run) == {}
    plots = tmp_path / runs.PLOTS
    plots.mkdir()
    index = {"pictures": [{"file": "samples.png", "title": "Samples"}]}
    (plots / runs.PLOTS_INDEX).write_text(json.dumps(index))
    assert runs.read_plots_index(tmp_path) == index
    (plots / runs.PLOTS_INDEX).write_text("[1, 2]")  # not an index
    assert runs.read_plots_index(tmp_path) == {}


def test_read_train_scores(tmp_path):
    with pytest.raises(RunFolderError, match="no stored training scores.*--threshold"):
        runs.read_train_scores(tmp_path)
    neg_elbo = np.array([3.5, 1.25, 7.0], np.float32)
    io.save_npz(runs.path(tmp_path, runs.TRAIN_SCORES), neg_elbo=neg_elbo, iw_samples=5)
    scores = runs.read_train_scores(tmp_path)
    assert sorted(scores) == ["iw_samples", "neg_elbo"]
    assert type(scores["iw_samples"]) is int and scores["iw_samples"] == 5
    np.testing.assert_array_equal(scores["neg_elbo"], neg_elbo)
    for broken in (b"not a zip", b"PK\x03\x04broken"):
        (tmp_path / runs.TRAIN_SCORES).write_bytes(broken)
        with pytest.raises(RunFolderError, match="cannot be read") as info:
            runs.read_train_scores(tmp_path)
        assert "\n" not in str(info.value)
    io.save_npz(runs.path(tmp_path, runs.TRAIN_SCORES), neg_elbo=neg_elbo)
    with pytest.raises(RunFolderError, match="cannot be read"):  # no iw_samples
        runs.read_train_scores(tmp_path)


@pytest.mark.parametrize(
    "arrays, keys, problem",
    [
        (
            {"iw_samples": 5, "neg_elbo": [1.0]},
            ("neg_log_likelihood",),
            "it holds no 'neg_log_likelihood'",
        ),
        ({"neg_elbo": [1.0]}, (), "it holds no 'iw_samples'"),
        ({"iw_samples": 0, "neg_elbo": [1.0]}, (), "its 'iw_samples' is"),
        ({"iw_samples": 2.5, "neg_elbo": [1.0]}, (), "its 'iw_samples' is"),
        ({"iw_samples": [5, 6], "neg_elbo": [1.0]}, (), "its 'iw_samples' is"),
        (
            {"iw_samples": 5, "neg_elbo": [[1.0]]},
            (),
            "its 'neg_elbo' is not a list of numbers",
        ),
        (
            {"iw_samples": 5, "neg_elbo": ["a"]},
            (),
            "its 'neg_elbo' is not a list of numbers",
        ),
    ],
)
def test_damaged_train_scores_say_how_to_recompute_them(
    tmp_path, arrays, keys, problem
):
    """Issue 18: a train_scores.npz without a key, or with one of the wrong
    kind, is a RunFolderError that names the file, what is wrong, and how
    to write it again."""
    file = runs.path(tmp_path, runs.TRAIN_SCORES)
    np.savez(file, **{k: np.asarray(v) for k, v in arrays.items()})
    with pytest.raises(RunFolderError) as info:
        runs.read_train_scores(tmp_path, keys=keys)
    assert str(info.value) == (
        f"training scores {file!r} cannot be read ({problem}"
        + str(info.value).split(problem, 1)[1]
    )
    assert str(info.value).endswith(
        f"): `vaekit train --resume {tmp_path}` writes them again, or pass --threshold"
    )


def test_resume_config(run, tmp_path):
    assert runs.resume_config(run) == Config(epochs=3, latent_dim=4)
    assert runs.resume_config(run, epochs=5) == Config(epochs=5, latent_dim=4)
    # the run's backend is kept, or the flag's used; the environment may not
    # silently replace it
    assert runs.resume_config(run, backend="torch").backend == "torch"
    assert runs.resume_config(run, environment="jax").backend == "jax"
    with pytest.raises(VaekitError, match="KERAS_BACKEND=torch.*--backend"):
        runs.resume_config(run, environment="torch")
    with pytest.raises(RunFolderError, match="not a run folder"):
        runs.resume_config(tmp_path)
    with pytest.raises(VaekitError, match="epochs"):
        runs.resume_config(run, epochs=0)


def test_training_binarize(tmp_path):
    model = tmp_path / runs.MODEL
    # a bare model file: nothing says how it was trained
    assert runs.training_binarize(str(model)) == "none"
    config = tmp_path / runs.CONFIG
    for binarize in ("none", "static", "dynamic"):
        config.write_text(f'binarize = "{binarize}"\n')
        assert runs.training_binarize(str(model)) == binarize
    config.write_text("epochs = 3\n")  # the default of the run
    assert runs.training_binarize(str(model)) == Config().binarize
    for text in ("binarize = = 1\n", 'binarize = "yes"\n', b"\xff\xfe"):
        if isinstance(text, bytes):
            config.write_bytes(text)
        else:
            config.write_text(text)
        with pytest.raises(RunFolderError) as info:
            runs.training_binarize(str(model))
        message = str(info.value)
        assert str(config) in message and "\n" not in message
        assert "--binarize none or --binarize static" in message


# -- claiming a run folder ---------------------------------------------------
