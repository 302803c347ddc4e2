"""vaekit.runs: the run folder's names, and reading a run back."""

import json
import math
import os

import numpy as np
import pytest

from vaekit import VaekitError, runs
from vaekit.config import Config, to_toml


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
    assert runs.path("RUN", runs.MODEL) == os.path.join("RUN", "model.keras")


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


def test_make_run_dir(tmp_path):
    new = runs.make_run_dir(str(tmp_path / "new"))
    assert os.path.isdir(new) and os.listdir(new) == []
    (tmp_path / "new" / runs.CONFIG).write_text("epochs = 1\n")
    with pytest.raises(VaekitError, match="already exists.*--overwrite"):
        runs.make_run_dir(new)
    assert runs.make_run_dir(new, overwrite=True) == new
    assert os.listdir(new) == []
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(VaekitError, match="not a vaekit run folder"):
        runs.make_run_dir(str(other), overwrite=True)
    assert (other / "precious.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("")
    with pytest.raises(VaekitError, match="not a folder"):
        runs.make_run_dir(str(tmp_path / "file"))


def test_make_run_dir_default_names_are_unique(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = runs.make_run_dir()
    open(os.path.join(first, runs.CONFIG), "w").close()
    second = runs.make_run_dir()
    assert first != second
    assert os.path.dirname(first) == os.path.dirname(second) == "runs"


def test_resume_config(run, tmp_path):
    assert runs.resume_config(run) == Config(epochs=3, latent_dim=4)
    assert runs.resume_config(run, epochs=5) == Config(epochs=5, latent_dim=4)
    # the run's backend is kept, or the flag's used; the environment may not
    # silently replace it
    assert runs.resume_config(run, backend="torch").backend == "torch"
    assert runs.resume_config(run, environment="jax").backend == "jax"
    with pytest.raises(VaekitError, match="KERAS_BACKEND=torch.*--backend"):
        runs.resume_config(run, environment="torch")
    with pytest.raises(VaekitError, match="not a run folder"):
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
        with pytest.raises(VaekitError) as info:
            runs.training_binarize(str(model))
        message = str(info.value)
        assert str(config) in message and "\n" not in message
        assert "--binarize none or --binarize static" in message
