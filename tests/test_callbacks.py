"""vaekit.training.callbacks: the training supervisor's epoch work, driven through
its Keras hooks with chosen logs: history rows, checkpoints, early stopping,
divergence, signals and the log line. Whole runs are in test_train.py."""

import math
import signal

import keras
import numpy as np
import pytest

from vaekit import runs
from vaekit.config import Config
from vaekit.training.batches import TrainingBatches
from vaekit.training.callbacks import COLLAPSE_EPOCHS, HISTORY_KEYS, TrainingSupervisor
from vaekit.training.checkpoint import load_checkpoint

STEPS = 3


@pytest.fixture()
def model():
    from vaekit.training.train import build_model

    return build_model(Config(hidden_dims=(4,), latent_dim=2), (5,), STEPS)


def _supervisor(run, model, **kwargs):
    batches = TrainingBatches(np.zeros((12, 5), np.float32), 4)
    supervisor = TrainingSupervisor(str(run), batches, STEPS, 10, **kwargs)
    supervisor.set_model(model)
    return supervisor


def _epoch(supervisor, epoch, val_loss, loss=2.0):
    supervisor.on_epoch_begin(epoch)
    for step in range(STEPS):
        supervisor.on_train_batch_end(step)
    logs = {"loss": loss, "reconstruction": loss - 0.5, "kl": 0.5, "val_loss": val_loss}
    supervisor.on_epoch_end(epoch, logs)


def _set(model, value):
    for var in model.trainable_variables:
        var.assign(np.full(var.shape, value, var.dtype))


def test_is_a_keras_callback():
    assert issubclass(TrainingSupervisor, keras.callbacks.Callback)
    assert HISTORY_KEYS[:3] == ("loss", "reconstruction", "kl")


def test_early_stopping_keeps_the_best_weights(tmp_path, model, capsys):
    supervisor = _supervisor(tmp_path, model, early_stopping=2, log=True)
    _set(model, 1.0)
    _epoch(supervisor, 0, val_loss=5.0)
    _set(model, 2.0)
    _epoch(supervisor, 1, val_loss=4.0)  # the best
    _set(model, 3.0)
    _epoch(supervisor, 2, val_loss=4.5)
    assert not supervisor.stopped and not model.stop_training
    _epoch(supervisor, 3, val_loss=4.2)
    assert supervisor.early_stopped and supervisor.stopped and model.stop_training
    assert (supervisor.best, supervisor.best_epoch, supervisor.wait) == (4.0, 2, 2)
    assert all(np.all(w == 2.0) for w in supervisor.best_weights)
    # Every epoch was checkpointed, the last with the early-stopping state.
    meta, best = load_checkpoint(str(tmp_path), model)
    assert (meta["epoch"], meta["step"], meta["best_epoch"]) == (4, 0, 2)
    assert meta["early_stopped"] and [r["epoch"] for r in meta["rows"]] == [1, 2, 3, 4]
    assert all(np.all(np.asarray(w) == 3.0) for w in model.trainable_variables)
    supervisor.restore_best()
    assert all(np.all(np.asarray(w) == 2.0) for w in model.trainable_variables)
    assert all(np.all(w == 2.0) for w in best)
    history = runs.read_history(str(tmp_path))
    np.testing.assert_array_equal(history["val_loss"], [5.0, 4.0, 4.5, 4.2])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/10 - ")
    assert lines[0].endswith(
        " - loss: 2.0000 - reconstruction: 1.5000 - kl: 0.5000 - val_loss: 5.0000"
    )
    assert lines[-1].startswith("early stopping: no better val_loss for 2 epochs")
    assert len(lines) == 5


def test_a_nan_loss_stops_without_a_row_or_a_checkpoint(tmp_path, model):
    supervisor = _supervisor(tmp_path, model)
    _epoch(supervisor, 0, val_loss=5.0)
    _epoch(supervisor, 1, val_loss=math.nan)
    assert supervisor.diverged == 1 and supervisor.stopped and model.stop_training
    assert len(supervisor.rows) == 1
    assert load_checkpoint(str(tmp_path), model)[0]["epoch"] == 1


class _Caught:
    signum = None


def test_a_signal_stops_at_the_next_step_and_saves_it(tmp_path, model):
    signals = _Caught()
    supervisor = _supervisor(tmp_path, model, signals=signals)
    _epoch(supervisor, 0, val_loss=5.0)
    supervisor.on_epoch_begin(1)
    supervisor.on_train_batch_end(0)
    assert not model.stop_training
    signals.signum = signal.SIGINT
    supervisor.on_train_batch_end(1)
    assert model.stop_training and supervisor.stopped
    supervisor.on_epoch_end(1, {"loss": 1.0})  # the cut epoch makes no row
    assert len(supervisor.rows) == 1
    assert supervisor.checkpoint_interruption() == (1, 2)
    meta, _ = load_checkpoint(str(tmp_path), model)
    assert (meta["epoch"], meta["step"]) == (1, 2)
    # Resumed from that checkpoint: the epoch's batches start after step 2.
    resumed = _supervisor(tmp_path, model, meta=meta)
    assert (resumed.epoch, resumed.skip, len(resumed.rows)) == (1, 2, 1)
    resumed.on_epoch_begin(1)
    assert (resumed.batches.epoch, resumed.batches.skip, len(resumed.batches)) == (
        1,
        2,
        1,
    )
    resumed.on_train_batch_end(0)
    assert resumed.step == STEPS
    resumed.on_epoch_begin(2)  # the next epoch is whole again
    assert resumed.batches.skip == 0 and resumed.step == 0


def test_a_signal_after_the_last_step_completes_the_epoch(tmp_path, model):
    signals = _Caught()
    supervisor = _supervisor(tmp_path, model, signals=signals)
    supervisor.on_epoch_begin(0)
    for step in range(STEPS):
        supervisor.on_train_batch_end(step)
    signals.signum = signal.SIGTERM  # during validation
    supervisor.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    assert len(supervisor.rows) == 1
    assert supervisor.checkpoint_interruption() == (1, 0)
    assert load_checkpoint(str(tmp_path), model)[0]["epoch"] == 1


# -- posterior-collapse diagnostics ------------------------------------------


def _posterior(model, log_var, mean_scale):
    """Makes q(z|x) = N(mean_scale * sum(h), exp(log_var)) per unit."""
    head = model.encoder.get_layer("z_log_var")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full_like(bias, log_var)])
    head = model.encoder.get_layer("z_mean")
    kernel, bias = head.get_weights()
    scales = np.asarray(mean_scale, np.float32) * np.ones(kernel.shape[1], np.float32)
    head.set_weights([np.ones_like(kernel) * scales, np.zeros_like(bias)])


def _diagnostics():
    return np.random.default_rng(0).random((40, 5)).astype(np.float32)


def test_rows_hold_the_kl_of_each_unit_and_the_active_units(tmp_path, model):
    x = _diagnostics()
    _posterior(model, -0.5, [0.0, 2.0])  # unit 0 at the prior's mean, unit 1 not
    supervisor = _supervisor(tmp_path, model, diagnostics=x)
    _epoch(supervisor, 0, val_loss=3.0)
    z_mean, z_log_var = (a.astype(np.float64) for a in model.encoder.predict(x))
    expected = (0.5 * (np.exp(z_log_var) + z_mean**2 - 1 - z_log_var)).mean(0)
    assert expected[0] < 0.1 < expected[1]  # an independent numpy reference
    active = int((z_mean.var(0) > 0.01).sum())
    assert active == 1
    history = runs.read_history(str(tmp_path))
    assert list(history)[-3:] == ["active_units", "kl_0", "kl_1"]
    np.testing.assert_allclose([history["kl_0"][0], history["kl_1"][0]], expected)
    assert history["active_units"][0] == active
    # The units' KL adds up to the KL of the whole code.
    np.testing.assert_allclose(
        expected.sum(),
        np.mean(0.5 * (np.exp(z_log_var) + z_mean**2 - 1 - z_log_var).sum(1)),
    )


def test_collapse_warns_once_after_the_warm_up(tmp_path, model, capsys):
    x = _diagnostics()
    _posterior(model, 0.0, 0.0)  # q(z|x) = N(0, 1): every unit's KL is 0
    supervisor = _supervisor(tmp_path, model, diagnostics=x, warmup_epochs=2)
    warnings = []
    for epoch in range(5):
        _epoch(supervisor, epoch, val_loss=3.0)
        warnings.append(capsys.readouterr().err)
    # Epochs 1-2 warm up; epochs 3-5 collapsed: one line after the third of
    # them (COLLAPSE_EPOCHS), then never again.
    assert COLLAPSE_EPOCHS == 3
    assert warnings[:4] == ["", "", "", ""]
    line = warnings[4]
    assert line.startswith("vaekit: warning: ") and line.count("\n") == 1
    assert "after epoch 5" in line and "0 of 2 units active" in line
    assert "--free-bits 0.5 --iw-samples 1" in line and "--beta" in line
    history = runs.read_history(str(tmp_path))
    assert history["active_units"].tolist() == [0] * 5
    assert np.abs(history["kl_0"]).max() < 1e-6
    # A resumed run keeps its rows and does not warn again.
    meta, _ = load_checkpoint(str(tmp_path), model)
    assert meta["collapse_warned"] and meta["rows"][0]["unit_kl"] == [0.0, 0.0]
    resumed = _supervisor(tmp_path, model, meta=meta, diagnostics=x)
    _epoch(resumed, 5, val_loss=3.0)
    assert capsys.readouterr().err == ""
    assert len(runs.read_history(str(tmp_path))["kl_1"]) == 6


def test_no_collapse_warning_in_the_first_epoch_or_with_informative_units(
    tmp_path, model, capsys
):
    x = _diagnostics()
    _posterior(model, 0.0, 0.0)
    supervisor = _supervisor(tmp_path / "a", model, diagnostics=x)
    _epoch(supervisor, 0, val_loss=3.0)
    assert capsys.readouterr().err == ""  # the first epoch is too early
    _posterior(model, -0.5, [0.0, 2.0])  # one informative unit: no collapse
    _epoch(supervisor, 1, val_loss=3.0)
    assert capsys.readouterr().err == ""
    _posterior(model, 0.0, 0.0)
    for epoch in (2, 3):  # a dip of fewer than COLLAPSE_EPOCHS epochs: quiet
        _epoch(supervisor, epoch, val_loss=3.0)
        assert capsys.readouterr().err == ""
    _epoch(supervisor, 4, val_loss=3.0)
    assert "after epoch 5" in capsys.readouterr().err


def test_a_collapse_in_the_last_epoch_warns_at_once(tmp_path, model, capsys):
    x = _diagnostics()
    _posterior(model, -0.5, [0.0, 2.0])
    supervisor = _supervisor(tmp_path, model, diagnostics=x)
    for epoch in range(9):
        _epoch(supervisor, epoch, val_loss=3.0)
    assert capsys.readouterr().err == ""
    _posterior(model, 0.0, 0.0)
    _epoch(supervisor, 9, val_loss=3.0)  # the run's 10th and last epoch
    assert "after epoch 10" in capsys.readouterr().err


def test_without_diagnostics_the_history_keeps_its_columns(tmp_path, model):
    supervisor = _supervisor(tmp_path, model)
    _epoch(supervisor, 0, val_loss=3.0)
    with open(runs.path(str(tmp_path), runs.HISTORY)) as handle:
        header = handle.readline().strip().split(",")
    assert header == ["epoch", *HISTORY_KEYS, "seconds"]
