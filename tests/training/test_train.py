"""vaekit.training.train: whole training runs. The run folder and its
files, determinism, a checkpoint after every epoch, the refusal to
overwrite, divergence, resuming a finished run (of this release and of the
previous one), early stopping, the collapse warning and free bits, a batch
larger than the data, the log of a run that is not on a terminal, the
stored training scores, and the presets and data kinds that must learn
something (small versions here, full ones marked slow).

Runs that are only read come from the session's `tiny_run`; the runs
trained here use its settings (`TINY`, `FAST`) where they can, so that
their steps are compiled once per session. Signals are in test_signals.py,
several devices and processes in test_distribution.py.
"""

import contextlib
import io
import json
import logging
import math
import os
import shutil
import sys
import warnings

import keras
import numpy as np
import pytest

from tests.helpers import FIXTURES
from tests.training.common import (
    FAST,
    TINY,
    TRAIN,
    assert_same_weights,
    fit_run,
    history_rows,
    weights,
)
from vaekit import data as data_lib
from vaekit import runs
from vaekit.cli.main import main
from vaekit.config import Config, to_toml
from vaekit.errors import (
    InvalidArgument,
    RunFolderError,
    TrainingDiverged,
    VaekitWarning,
)
from vaekit.evaluation import evaluate, per_example, scores_of
from vaekit.model import load_model
from vaekit.training.callbacks import HISTORY_KEYS
from vaekit.training.checkpoint import load_checkpoint
from vaekit.training.signals import SignalGuard


def _position(run):
    """`(epoch, step)` of the run's checkpoint, read without a model."""
    with np.load(runs.path(run, runs.CHECKPOINT)) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
    return meta["epoch"], meta["step"]


class _EachEpoch(keras.callbacks.Callback):
    """Calls `record(model)` after each epoch (after its checkpoint)."""

    def __init__(self, record):
        super().__init__()
        self.record = record
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.record(self.model))


def _splits(config):
    """The training run's splits of `config` (as `setup` makes them)."""
    dataset = data_lib.load(config.data)
    return data_lib.split_for_training(
        dataset,
        config.likelihood,
        config.binarize,
        config.validation_split,
        config.seed,
    )


# -- the run folder ---------------------------------------------------------


def test_a_run_folder_holds_its_files(tiny_run):
    names = set(os.listdir(tiny_run))
    assert names == {
        runs.MARKER,
        runs.CONFIG,
        runs.HISTORY,
        runs.CHECKPOINT,
        runs.MODEL,
        runs.METRICS,
        runs.TRAIN_SCORES,
        runs.PLOTS,
        runs.REPORT,
    }
    with open(runs.path(tiny_run, runs.MARKER)) as handle:
        marker = json.load(handle)
    import vaekit

    assert marker["vaekit"] == vaekit.__version__ and "created" in marker
    with open(runs.path(tiny_run, runs.HISTORY)) as handle:
        header = handle.readline().strip().split(",")
    assert header == [
        "epoch",
        "loss",
        "reconstruction",
        "kl",
        "val_loss",
        "val_reconstruction",
        "val_kl",
        "seconds",
        "active_units",
        "kl_0",
        "kl_1",
    ]
    history = runs.read_history(tiny_run)
    np.testing.assert_array_equal(history["epoch"], [1, 2])
    # loss = reconstruction + kl for the plain ELBO (beta 1, one sample).
    np.testing.assert_allclose(
        history["loss"], history["reconstruction"] + history["kl"], rtol=1e-4
    )
    assert (history["seconds"] > 0).all()
    unit_kl = np.stack([history["kl_0"], history["kl_1"]], axis=1)
    active = history["active_units"]
    assert (unit_kl >= 0).all() and ((active >= 0) & (active <= 2)).all()
    # The units' KL on the fixed training subset adds up to about the
    # training KL (that of the batches during the epoch, so only roughly).
    np.testing.assert_allclose(unit_kl.sum(axis=1), history["kl"], rtol=0.5, atol=0.5)
    assert history["loss"][-1] < history["loss"][0]
    metrics = runs.read_metrics(tiny_run)
    assert metrics["split"] == "validation" and metrics["n"] == 180
    assert metrics["iw_samples"] == 5 and metrics["data"] == "digits"
    assert metrics["elbo"] <= metrics["log_likelihood"] < 0
    assert _position(tiny_run) == (2, 0)
    # The pictures and the report show the units' KL.
    pictures = [p["file"] for p in runs.read_plots_index(tiny_run)["pictures"]]
    assert "kl_per_unit.png" in pictures
    with open(runs.path(tiny_run, runs.REPORT)) as handle:
        assert "KL per latent unit" in handle.read()
    # The config that reproduces the run is the settings it was given.
    assert runs.load_config(tiny_run) == Config(**TINY)


def test_summarize_is_one_line_of_the_metrics(tiny_run):
    metrics = runs.read_metrics(tiny_run)
    line = TRAIN.summarize(metrics)
    assert line == (
        f"validation ELBO {metrics['elbo']:.2f}, log p(x) "
        f"{metrics['log_likelihood']:.2f} +- {metrics['log_likelihood_stderr']:.2f} "
        f"nats (k=5, n=180), active units {metrics['active_units']}"
    )
    assert TRAIN.summarize({}) == "no held-out data to evaluate"


# -- determinism, checkpoints, the log ---------------------------------------


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    """The tiny run's settings trained again by the library (`setup` and
    `fit`) with `verbose="auto"` and stdout captured (not a terminal):
    `(session, stdout, the checkpoint's (epoch, step) after each epoch)`."""
    run = tmp_path_factory.mktemp("retrained") / "run"
    watch = _EachEpoch(lambda model: _position(run))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        session = fit_run(Config(**TINY), run, verbose="auto", callbacks=[watch])
    return session, out.getvalue(), watch.seen


def test_the_same_settings_train_the_same_weights(retrained, tiny_run, tiny_model):
    """The library, and the command line in another call, with the same
    seed: the same weights bit for bit, the same history."""
    session, _, _ = retrained
    assert_same_weights(session.model.get_weights(), tiny_model.get_weights())
    for again, first in zip(
        history_rows(session.run), history_rows(tiny_run), strict=True
    ):
        del again["seconds"], first["seconds"]
        assert again == first


def test_a_checkpoint_after_every_epoch(retrained):
    _, _, positions = retrained
    assert positions == [(1, 0), (2, 0)]


def test_a_log_gets_one_line_of_metrics_per_epoch(retrained):
    """Not on a terminal (a log file, CI, nohup), Keras' verbose=2: per
    epoch an `Epoch i/N` line and one line of its metrics, no redrawn
    progress bar."""
    session, out, _ = retrained
    assert "\r" not in out and "\x08" not in out
    lines = out.splitlines()
    assert len(lines) == 4
    for epoch, row in enumerate(history_rows(session.run)):
        assert lines[2 * epoch] == f"Epoch {epoch + 1}/2"
        fields = lines[2 * epoch + 1].split(" - ")
        assert fields[0] == f"{session.steps}/{session.steps}"
        assert fields[1].endswith("s") and fields[2].endswith("/step")
        values = dict(field.split(": ") for field in fields[3:])
        assert sorted(values) == sorted(HISTORY_KEYS)
        for key in HISTORY_KEYS:
            assert float(values[key]) == pytest.approx(float(row[key]), abs=1e-4)


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_auto_verbosity_draws_the_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Stream(True))
    assert TRAIN._fit_verbosity("auto") == 1
    monkeypatch.setattr(sys, "stdout", _Stream(False))
    assert TRAIN._fit_verbosity("auto") == 2
    assert TRAIN._fit_verbosity(0) == 0 and TRAIN._fit_verbosity(1) == 1
    monkeypatch.setattr(sys, "stdout", None)  # pythonw, a detached process
    assert TRAIN._fit_verbosity("auto") == 2


def test_an_interrupted_epoch_is_finished_alone_first():
    assert TRAIN._phases(0, 0, 3) == [(0, 3)]
    assert TRAIN._phases(1, 5, 3) == [(1, 2), (2, 3)]
    assert TRAIN._phases(2, 5, 3) == [(2, 3), (3, 3)]
    assert TRAIN._phases(3, 0, 3) == []  # finished: the final phase alone


# -- the run folder is claimed before anything else ----------------------------


@pytest.fixture
def no_data(monkeypatch):
    """Makes loading data fail the test (or stop it, once allowed)."""

    class Loaded(Exception):
        pass

    def load(*args, **kwargs):
        raise Loaded

    from vaekit.data import datasets

    monkeypatch.setattr(data_lib, "load", load)
    monkeypatch.setattr(datasets, "load", load)
    return Loaded


def test_train_refuses_an_existing_output_before_reading_data(
    tiny_run, copy_run, tmp_path, no_data
):
    run = copy_run(tiny_run)
    before = sorted(os.listdir(run))
    with pytest.raises(RunFolderError, match="already exists.*overwrite.*resume"):
        TRAIN.train(Config(**TINY), output=run, verbose=0)
    assert sorted(os.listdir(run)) == before
    # A folder vaekit did not make is not replaced, even with overwrite.
    other = tmp_path / "not_a_run"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(RunFolderError, match="not a folder vaekit made"):
        TRAIN.train(Config(**TINY), output=str(other), overwrite=True, verbose=0)
    assert os.listdir(other) == ["precious.txt"]
    # Nor a run folder holding a file of someone else's, which it names.
    (tmp_path / "copy" / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="'notes.txt'"):
        TRAIN.train(Config(**TINY), output=run, overwrite=True, verbose=0)
    assert sorted(os.listdir(run)) == sorted([*before, "notes.txt"])


def test_overwrite_replaces_a_run_folder(tiny_run, copy_run):
    run = copy_run(tiny_run)
    session = fit_run(Config(**FAST), run, overwrite=True)
    # A new run in the same folder: training's files, the old ones gone.
    # INCOMPLETE: the final phase (model, metrics, pictures...) is to come.
    assert sorted(os.listdir(run)) == sorted(
        [runs.MARKER, runs.INCOMPLETE, runs.CONFIG, runs.HISTORY, runs.CHECKPOINT]
    )
    assert runs.load_config(run) == session.config
    assert len(history_rows(run)) == 2


def test_a_run_that_fails_before_training_leaves_no_folder(tmp_path, no_data):
    output = tmp_path / "run"
    with pytest.raises(no_data):
        TRAIN.train(Config(**TINY), output=str(output), verbose=0)
    assert not output.exists()


# -- divergence ---------------------------------------------------------------


def test_divergence_raises_and_keeps_the_last_good_weights(tmp_path):
    config = Config(**dict(FAST, epochs=3), learning_rate=1e12)
    run = str(tmp_path / "run")
    with pytest.raises(TrainingDiverged, match="diverged.*learning_rate.*clipnorm"):
        TRAIN.train(config, output=run, verbose=0)
    # The model file holds the last checkpoint's weights, all finite; no
    # epoch with a NaN loss was recorded or checkpointed.
    model = load_model(runs.path(run, runs.MODEL))
    assert all(np.isfinite(w).all() for w in model.get_weights())
    epoch, step = _position(run)
    history = runs.read_history(run)
    assert step == 0 and len(history.get("epoch", [])) == epoch < 3
    for name in ("loss", "kl"):
        assert np.isfinite(history.get(name, [])).all()
    checkpoint_model = load_model(runs.path(run, runs.MODEL))
    load_checkpoint(run, checkpoint_model)
    assert_same_weights(model.get_weights(), checkpoint_model.get_weights())


# -- resuming a finished run -------------------------------------------------


def test_resume_of_a_finished_run_extends_its_epochs(tmp_path, no_pictures):
    """One epoch, then resumed to two: the weights of two straight through
    (a constant learning rate: the schedule does not depend on the
    epochs)."""
    config = Config(**FAST)
    first = fit_run(config.replace(epochs=1), tmp_path / "part")
    row = history_rows(first.run)[0]
    run, metrics = TRAIN.train(config, resume=first.run, verbose=0)
    assert run == first.run
    assert history_rows(run)[0] == row and len(history_rows(run)) == 2
    assert _position(run) == (2, 0)
    assert metrics == runs.read_metrics(run) and metrics["n"] == 180
    straight = fit_run(config, tmp_path / "straight")
    assert_same_weights(weights(run), straight.model.get_weights())


def test_resume_after_a_finished_cosine_schedule_trains(tmp_path, caplog):
    """Issue 18: a run whose cosine schedule has decayed to 0, resumed to
    four epochs from two, trains on the schedule of a four-epoch run (the
    learning rate back at lr/2, not 0), and says so in a log line."""
    config = Config(**TINY)  # the default schedule: cosine, lr 0.001
    first = fit_run(config, tmp_path / "run")
    run, before, steps = first.run, weights_of(first.model), first.steps
    with caplog.at_level(logging.INFO, logger="vaekit"):
        resumed = fit_run(config.replace(epochs=4), None, resume=run)
    # cosine decay: lr * (1 + cos(pi * t / T)) / 2 at t = 2 of T = 4 epochs
    now = config.learning_rate * (1 + math.cos(math.pi * 2 / 4)) / 2
    assert (
        f"resuming run {run} at epoch 3 of 4; its learning-rate schedule (cosine) "
        f"now spans 4 epochs, not 2: the learning rate is {now:.3g} now (it was 0 "
        "on the old schedule) and 0 at epoch 4"
    ) in caplog.messages
    assert _position(run) == (4, 0) and len(history_rows(run)) == 4
    assert int(resumed.model.optimizer.iterations) == 4 * steps
    # The two new epochs moved the weights (at a learning rate of 0 they
    # would not), and the training loss went down.
    after = weights_of(resumed.model)
    assert (
        max(float(np.abs(a - b).max()) for a, b in zip(before, after, strict=True))
        > 1e-3
    )
    history = runs.read_history(run)
    assert history["loss"][3] < history["loss"][1]


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


@pytest.fixture
def resumable(tmp_path):
    """A run folder of a 2-epoch run's config.toml (no checkpoint: for
    `_resume_start`, which reads only the old config)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / runs.CONFIG).write_text(to_toml(Config(**TINY)))
    return str(run)


@pytest.mark.parametrize(
    "epochs, meta, error, match",
    [
        (1, (2, 0), InvalidArgument, "has trained 2 epochs, more than epochs=1: "),
        (1, (1, 3), InvalidArgument, "trained 1 epochs and 3 steps, .* pass 2 or"),
        (4, (1, 10), RunFolderError, "at step 10 of an epoch of 10 steps .*'step'"),
        (4, (2, 0, True), InvalidArgument, "stopped early after epoch 2 .* 3 epochs"),
    ],
)
def test_a_resume_that_would_do_nothing_is_refused(
    resumable, epochs, meta, error, match
):
    from vaekit.training.callbacks import EarlyStopping
    from vaekit.training.setup import _resume_start

    early = EarlyStopping(3)
    early.stopped = len(meta) == 3
    config = Config(**dict(TINY, epochs=epochs))
    with pytest.raises(error, match=match) as info:
        _resume_start(config, resumable, dict(epoch=meta[0], step=meta[1]), 10, early)
    assert "\n" not in str(info.value)


def test_a_resume_says_what_it_does(resumable, caplog):
    from vaekit.training.setup import _resume_start

    config = Config(**TINY)
    with caplog.at_level(logging.INFO, logger="vaekit"):
        # all its epochs done: the final phase again
        assert _resume_start(config, resumable, {"epoch": 2, "step": 0}, 10, None) == (
            2,
            0,
        )
        # interrupted in epoch 2: the same schedule
        _resume_start(config, resumable, {"epoch": 1, "step": 4}, 10, None)
        # a constant learning rate does not depend on the epochs
        constant = config.replace(epochs=3, lr_schedule="constant")
        _resume_start(constant, resumable, {"epoch": 2, "step": 0}, 10, None)
    assert caplog.messages == [
        f"run {resumable} has trained all its 2 epochs: redoing its final phase "
        "(model, metrics, pictures, report and training scores)",
        f"resuming run {resumable} at epoch 2 of 2",
        f"resuming run {resumable} at epoch 3 of 3",
    ]


def test_a_run_of_the_previous_release_resumes(tmp_path, capsys, no_pictures):
    """tests/fixtures/runs/digits was written by the release before the
    package redesign (no marker, no pictures): `vaekit train --resume COPY
    --epochs 3` continues it."""
    run = str(tmp_path / "old")
    shutil.copytree(os.path.join(FIXTURES, "runs", "digits"), run)
    old = runs.read_history(run)
    assert main(["train", "--resume", run, "--epochs", "3", "--quiet"]) == 0
    assert f"run folder: {run}" in capsys.readouterr().out
    history = runs.read_history(run)
    np.testing.assert_array_equal(history["epoch"], [1, 2, 3])
    for key, values in old.items():
        if key != "seconds":
            np.testing.assert_allclose(history[key][:2], values, rtol=1e-12)
    assert np.isfinite(history["loss"][2])
    assert _position(run) == (3, 0)
    assert "epochs = 3" in open(runs.path(run, runs.CONFIG)).read()
    metrics = runs.read_metrics(run)
    assert metrics["n"] == 36 and metrics["iw_samples"] == 10
    model = load_model(runs.path(run, runs.MODEL))
    assert runs.read_train_scores(run)["neg_elbo"].shape == (1761,)
    assert model.latent_dim == 2


# -- early stopping -----------------------------------------------------------


def test_early_stopping_keeps_the_best_weights(tmp_path, no_pictures):
    """A learning rate too high for the last epoch: its val_loss is worse
    than the one before, and the run's model is the best epoch's."""
    config = Config(**dict(FAST, epochs=6), learning_rate=0.1, early_stopping=1)
    watch = _EachEpoch(lambda model: [np.asarray(v) for v in model.trainable_variables])
    session = fit_run(config, tmp_path / "run", callbacks=[watch])
    history = runs.read_history(session.run)
    best = int(np.argmin(history["val_loss"])) + 1
    assert session.early_stopping.best_epoch == best
    # It stops after `patience` epochs without a better val_loss.
    assert len(history["epoch"]) == min(config.epochs, best + 1)
    assert best < len(history["epoch"])  # the last epoch was not the best
    with SignalGuard() as signals:
        TRAIN.finish(session, signals)
    saved = load_model(runs.path(session.run, runs.MODEL))
    assert_same_weights(
        [np.asarray(v) for v in saved.trainable_variables], watch.seen[best - 1]
    )


# -- posterior collapse and free bits ---------------------------------------

# beta = 50 on the digits: the KL term dominates and q(z|x) collapses to the
# prior within two epochs.
COLLAPSING = dict(FAST, epochs=3, beta=50.0, learning_rate=3e-3, validation_split=0.05)
COLLAPSING_ARGS = [
    "train", "--data", "digits", "--hidden-dims", "8", "--latent-dim", "2",
    "--iw-samples", "1", "--eval-iw-samples", "5", "--lr-schedule", "constant",
    "--epochs", "3", "--beta", "50", "--learning-rate", "3e-3",
    "--validation-split", "0.05", "--quiet",
]  # fmt: skip


def test_a_collapsing_run_warns_once_and_records_the_collapse(
    tmp_path, capfd, no_pictures
):
    run = str(tmp_path / "run")
    assert main([*COLLAPSING_ARGS, "--output", run]) == 0
    assert runs.load_config(run) == Config(**COLLAPSING)
    said = [
        line
        for line in capfd.readouterr().err.splitlines()
        if line.startswith("vaekit: warning:")
    ]
    # One line; collapsed from epoch 2, the run's last epoch (3) warns.
    assert len(said) == 1, said
    assert said[0].startswith("vaekit: warning: posterior collapse: after epoch 3 ")
    assert "0 of 2 units active" in said[0] and "free_bits 0.5" in said[0]
    history = runs.read_history(run)
    kl = np.stack([history["kl_0"], history["kl_1"]], axis=1)
    assert (kl[1:] < 0.1).all() and history["active_units"][-1] == 0
    assert runs.read_metrics(run)["active_units"] == 0  # held-out: the same


def test_free_bits_keep_the_units_active(tmp_path):
    """The tiny run's settings collapse (see `tiny_run`'s history); with free
    bits every unit keeps its KL."""
    # (A library call trains on the backend keras loaded, JAX here, and its
    # config.toml says so, whatever the Config named.)
    config = Config(**dict(FAST, epochs=3), free_bits=1.0, backend="torch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = fit_run(config, tmp_path / "run")
    assert not [w for w in caught if issubclass(w.category, VaekitWarning)]
    history = runs.read_history(session.run)
    assert history["active_units"][-1] > 0
    assert max(history["kl_0"][-1], history["kl_1"][-1]) > 0.1
    # `loss` is the objective, with every unit's KL at least 1 nat; `kl`
    # stays the true KL, below the 2 free nats.
    free = 2 * 1.0
    assert (history["loss"] - history["reconstruction"] >= free * (1 - 1e-5)).all()
    assert ((0 < history["kl"]) & (history["kl"] < 2.0)).all()
    written = open(runs.path(session.run, runs.CONFIG)).read()
    assert "free_bits = 1.0" in written and 'backend = "jax"' in written
    assert session.model.free_bits == 1.0
    x_val, _ = session.splits.evaluation
    assert evaluate(session.model, x_val, iw_samples=1)["active_units"] > 0


# -- a batch larger than the data ---------------------------------------------


def test_a_batch_larger_than_the_data_is_one_batch(tmp_path, digits_x):
    """50-row tables are common: a batch size of 500 trains on all the rows
    at once, says so (a VaekitWarning), and checkpoints and resumes as
    usual."""
    x = digits_x[:50]
    config = Config(**dict(FAST, data="small", epochs=3), batch_size=500)
    message = (
        "batch size 500 is larger than the 45 training examples: each epoch is "
        "one batch of all 45"
    )
    with pytest.warns(VaekitWarning, match=message):
        full = fit_run(config, tmp_path / "full", dataset=x)
    assert full.steps == 1 and len(full.batches) == 1
    assert [row["epoch"] for row in history_rows(full.run)] == ["1", "2", "3"]
    assert _position(full.run) == (3, 0)
    # One epoch, then resumed to three: the same weights as straight through.
    with pytest.warns(VaekitWarning, match=message):
        part = fit_run(config.replace(epochs=1), tmp_path / "part", dataset=x)
    with pytest.warns(VaekitWarning, match=message):
        resumed = fit_run(config, None, dataset=x, resume=part.run)
    assert_same_weights(resumed.model.get_weights(), full.model.get_weights())


# -- the stored training scores --------------------------------------------


def test_a_run_stores_the_scores_of_its_training_split(tiny_run, tiny_model):
    stored = runs.read_train_scores(tiny_run)
    assert stored["iw_samples"] == 5  # eval_iw_samples, at most 100
    x_train, _ = _splits(Config(**TINY)).train
    np.testing.assert_array_equal(stored["train_rows"], np.arange(len(x_train)))
    # Binarized as scoring binarizes new data (the run binarizes dynamically).
    x = data_lib.binarize(x_train, data_lib.EVAL_SEED)
    again = scores_of(tiny_model, x, iw_samples=5, seed=data_lib.EVAL_SEED)
    for key, values in again.items():
        np.testing.assert_allclose(stored[key], values, rtol=1e-6)


def test_train_scores_a_sample_of_larger_data(tmp_path, monkeypatch, no_pictures):
    monkeypatch.setattr(TRAIN, "TRAIN_SCORES_MAX_ROWS", 100)
    config = Config(**FAST)
    output = str(tmp_path / "run")
    run, metrics = TRAIN.train(config, output=output, verbose=0)
    # `train` returns the run folder and the metrics it wrote.
    assert run == output and metrics == runs.read_metrics(run)
    assert metrics["split"] == "validation" and metrics["n"] == 180
    stored = runs.read_train_scores(run)
    rows = stored["train_rows"]
    x_train, _ = _splits(config).train
    assert len(rows) == 100 and (np.diff(rows) > 0).all()  # sorted, unique
    assert rows[-1] < len(x_train) and rows[-1] > len(x_train) // 2
    x = data_lib.binarize(x_train[rows], data_lib.EVAL_SEED)
    again = scores_of(load_model(runs.path(run, runs.MODEL)), x, 5, data_lib.EVAL_SEED)
    for key, values in again.items():
        np.testing.assert_allclose(stored[key], values, rtol=1e-6)


# -- data on disk -----------------------------------------------------------


@pytest.fixture
def never_whole(monkeypatch):
    """Makes reading a `DiskArray` whole fail the test."""

    def whole(self, dtype=None, copy=None):
        raise AssertionError(f"{self!r} was read whole")

    monkeypatch.setattr(data_lib.DiskArray, "__array__", whole)


def test_training_from_a_npy_matches_training_in_memory(
    tmp_path, digits_x, never_whole, no_pictures
):
    """A `.npy` is read a batch at a time, never whole (the final phase's
    evaluation and scores too), and trains what the same array in memory
    trains."""
    x = digits_x[:1000]
    np.save(tmp_path / "digits.npy", x)
    config = Config(
        **dict(FAST, data=str(tmp_path / "digits.npy")),
        binarize="dynamic",
        output_bias="data-mean",
        seed=3,
    )
    disk_run, metrics = TRAIN.train(config, output=tmp_path / "disk", verbose=0)
    assert metrics["n"] == 100 and np.isfinite(metrics["log_likelihood"])
    assert runs.read_train_scores(disk_run)["neg_elbo"].shape == (900,)
    memory = fit_run(config, tmp_path / "memory", dataset=x)
    assert_same_weights(
        weights(disk_run), memory.model.get_weights(), rtol=1e-5, atol=1e-6
    )


# -- presets and data kinds that must learn something -----------------------


def _tutorial_run(tmp_path, epochs):
    run = str(tmp_path / "tutorial")
    args = [
        "train", "--preset", "tutorial",
        # The preset trains on the full MNIST (a download); CI has mnist5k.
        "--data", "mnist5k", "--validation-split", "0.02", "--eval-iw-samples", "10",
        "--output", run, "--quiet",
    ]  # fmt: skip
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    assert main(args) == 0
    return run


def _latent_class_separation(run):
    """Nearest-centroid accuracy of the digit classes in the 2-D z_mean space
    of held-out mnist5k digits (chance: 0.1)."""
    model = load_model(runs.path(run, runs.MODEL))
    dataset = data_lib.load("mnist5k")
    _, (x_val, y_val) = data_lib.train_validation_split(
        dataset.x_train, dataset.y_train, 0.1, 0
    )
    z, _ = model.encode(x_val)
    assert z.shape == (len(x_val), 2)
    centroids = np.stack([z[y_val == c].mean(axis=0) for c in range(10)])
    nearest = np.argmin(((z[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    return float((nearest == y_val).mean())


def test_tutorial_preset_small(tmp_path):
    """CI's short version of the tutorial preset: 2 of its 50 epochs."""
    run = _tutorial_run(tmp_path, epochs=2)
    assert os.path.isfile(os.path.join(run, runs.PLOTS, "manifold.png"))
    assert _latent_class_separation(run) > 0.3


@pytest.mark.slow
def test_tutorial_preset_full(tmp_path):
    """The whole tutorial preset (50 epochs): the ten digits form distinct
    regions of the 2-D latent space."""
    run = _tutorial_run(tmp_path, epochs=None)
    assert len(history_rows(run)) == 50
    # Measured 0.52-0.56 (chance 0.1): 0, 1, 6 and the 4/7/9 group stand
    # apart, 2/3/5/8 share the centre, as in the Keras blog's figure.
    assert _latent_class_separation(run) > 0.45


@pytest.mark.slow
def test_default_run_full(tmp_path):
    """`vaekit train` with no arguments (about 5 minutes): a real held-out
    log-likelihood on binarized digits."""
    run = str(tmp_path / "default")
    assert main(["train", "--output", run, "--quiet"]) == 0
    metrics = runs.read_metrics(run)
    assert metrics["binarize"] in ("static", "dynamic")
    assert metrics["elbo"] <= metrics["log_likelihood"]
    assert metrics["log_likelihood"] > -110


def _conditional_accuracy(model, data):
    """The share of samples drawn with label d (100 per digit) that a
    logistic regression trained on the real digits of `data` classifies as
    d; and the share per digit."""
    from sklearn.linear_model import LogisticRegression

    assert model.conditional and model.num_classes == 10
    dataset = data_lib.load(data)
    x = dataset.x_train.reshape(len(dataset.x_train), -1)
    classifier = LogisticRegression(max_iter=300).fit(x, dataset.y_train)
    labels = np.repeat(np.arange(10), 100)
    samples = model.sample(len(labels), seed=1, condition=labels)
    predicted = classifier.predict(samples.reshape(len(samples), -1))
    per_digit = [float((predicted[labels == d] == d).mean()) for d in range(10)]
    return float((predicted == labels).mean()), per_digit


def test_conditional_samples_are_the_label_asked_for(tmp_path):
    """CI's small conditional VAE (the 8x8 digits, 3 epochs): samples drawn
    with label d are classified as d (measured 1.0; an unconditional
    model's would be right one time in ten). The diagnostics of a
    conditional run encode each example under its label."""
    config = Config(
        **dict(FAST, epochs=3, hidden_dims=(16,)),
        conditional=True,
        learning_rate=0.01,
    )
    session = fit_run(config, tmp_path / "run")
    accuracy, per_digit = _conditional_accuracy(session.model, "digits")
    assert accuracy >= 0.8 and min(per_digit) >= 0.5, (accuracy, per_digit)
    assert runs.read_history(session.run)["active_units"][-1] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [
        # Measured 0.89 overall with the defaults (400 epochs, about 5
        # minutes), every digit >= 0.82.
        {},
        {"latent_dim": 4, "epochs": 30, "iw_samples": 1, "eval_iw_samples": 10},
    ],
    ids=["defaults", "small"],
)
def test_conditional_mnist_samples_are_the_label_asked_for(tmp_path, settings):
    """`vaekit train --data mnist5k --conditional`, and a smaller one."""
    config = Config(data="mnist5k", conditional=True, validation_split=0.0)
    session = fit_run(config.replace(**settings), tmp_path / "run")
    accuracy, per_digit = _conditional_accuracy(session.model, "mnist5k")
    assert accuracy >= 0.8, (accuracy, per_digit)


# -- continuous data: Gaussian, standardised inside the model ----------------

# scikit-learn's 8x8 digits read as continuous values in [0, 1] (no
# binarization, which the Gaussian likelihood does not take).
CONTINUOUS = {"data": "digits", "likelihood": "gaussian", "binarize": "none"}


def _check_continuous_run(session, metrics, min_kl, min_active):
    model = session.model
    assert model.transform is not None  # standardised inside the model
    # Not collapsed: nats of KL on held-out data, units in use.
    assert metrics["kl"] > min_kl and metrics["active_units"] >= min_active
    assert runs.read_history(session.run)["kl"][-1] > min_kl
    # Samples differ from each other, in the data's own units ([0, 1]).
    samples = model.sample(64, seed=0).reshape(64, -1)
    assert samples.std(axis=0).mean() > 0.1
    assert -0.5 < samples.mean() < 1.0
    # The reported log-likelihood is that of the held-out split, in the
    # data's own units: an independent evaluation of the model agrees...
    x_eval, _ = session.splits.evaluation
    values = per_example(model, x_eval, iw_samples=metrics["iw_samples"], seed=0)
    assert values["log_likelihood"].mean() == pytest.approx(
        metrics["log_likelihood"], abs=1.0
    )
    # ...and the same images scaled by 2, in a model that standardises them
    # the same way, lose log(2) per pixel: -64 log 2 per image.
    transform = model.transform
    mean, scale = (
        keras.ops.convert_to_numpy(v) for v in (transform.mean, transform.scale)
    )
    try:
        transform.mean.assign(mean * 2)
        transform.scale.assign(scale * 2)
        doubled = per_example(model, x_eval * 2, iw_samples=metrics["iw_samples"])
    finally:
        transform.mean.assign(mean)
        transform.scale.assign(scale)
    np.testing.assert_allclose(
        doubled["log_likelihood"], values["log_likelihood"] - 64 * np.log(2), atol=1e-3
    )


def _continuous_run(tmp_path, config):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = fit_run(config, tmp_path / "run")
    assert not [w for w in caught if "posterior collapse" in str(w.message)]
    metrics = TRAIN._evaluate(session, session.model)
    assert metrics == runs.read_metrics(session.run)
    return session, metrics


def test_gaussian_continuous_images_do_not_collapse(tmp_path):
    """CI's small version (64-8 units, 10 epochs; measured 10.7 nats of KL
    and 8 of 8 units active)."""
    config = Config(
        **CONTINUOUS,
        hidden_dims=(64,),
        latent_dim=8,
        epochs=10,
        eval_iw_samples=10,
        validation_split=0.1,
        lr_schedule="constant",
        learning_rate=3e-3,
    )
    session, metrics = _continuous_run(tmp_path, config)
    _check_continuous_run(session, metrics, min_kl=5.0, min_active=6)


@pytest.mark.slow
@pytest.mark.parametrize("epochs", [None, 40], ids=["defaults", "40-epochs"])
def test_gaussian_continuous_images_with_the_defaults(tmp_path, epochs):
    config = Config(**CONTINUOUS, eval_iw_samples=100)
    if epochs is not None:
        config = config.replace(epochs=epochs)
    session, metrics = _continuous_run(tmp_path, config)
    _check_continuous_run(session, metrics, min_kl=10.0, min_active=8)
