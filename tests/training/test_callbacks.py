"""vaekit.training.callbacks: each callback's one job, driven through its
Keras hooks with chosen logs and weights, and the state each keeps in the
checkpoint (`get_state` / `set_state`). Whole runs are in test_train.py."""

import math
import signal
import warnings

import keras
import numpy as np
import pytest

from vaekit import runs
from vaekit.config import Config
from vaekit.errors import VaekitWarning
from vaekit.evaluation.diagnostics import COLLAPSE_EPOCHS, COLLAPSE_KL
from vaekit.training import build_model
from vaekit.training import callbacks as cbs
from vaekit.training.batches import TrainingBatches
from vaekit.training.checkpoint import load_checkpoint

STEPS = 3
LOGS = {"loss": 2.0, "reconstruction": 1.5, "kl": 0.5, "val_loss": 3.0}


@pytest.fixture(scope="module")
def model():
    """A VAE of 5 features, 4 hidden units and 2 latent ones (the tests set
    the weights they need)."""
    x = np.random.default_rng(0).random((12, 5)).astype(np.float32)
    return build_model(Config(hidden_dims=(4,), latent_dim=2), x, None, STEPS)


def _with(model, *callbacks):
    for callback in callbacks:
        callback.set_model(model)
    return callbacks[0] if len(callbacks) == 1 else callbacks


def _epoch(callbacks, epoch, **logs):
    """One epoch of hooks, as `fit` calls them: begin, each step, end."""
    logs = {**LOGS, **logs}
    for callback in callbacks:
        callback.on_epoch_begin(epoch)
    for step in range(STEPS):
        for callback in callbacks:
            callback.on_train_batch_end(step)
    for callback in callbacks:
        callback.on_epoch_end(epoch, logs)


def _fill(model, value):
    for var in model.trainable_variables:
        var.assign(np.full(var.shape, value, var.dtype))


def _trainable(model):
    return [np.asarray(v) for v in model.trainable_variables]


def test_every_callback_is_a_keras_callback():
    for name in (
        "EpochData",
        "StopOnSignal",
        "StopOnNaN",
        "LatentDiagnostics",
        "EarlyStopping",
        "HistoryFile",
        "Checkpoint",
    ):
        assert issubclass(getattr(cbs, name), keras.callbacks.Callback), name
    assert cbs.HISTORY_KEYS == (
        "loss",
        "reconstruction",
        "kl",
        "val_loss",
        "val_reconstruction",
        "val_kl",
    )


# -- EpochData ----------------------------------------------------------------


def test_epoch_data_selects_each_epochs_batches_and_skips_once():
    x = np.arange(23, dtype=np.float32)[:, None]
    batches = TrainingBatches(x, 5, seed=4)
    whole = TrainingBatches(x, 5, seed=4, epoch=2)
    expected = [whole[i][0] for i in range(len(whole))]
    data = cbs.EpochData(batches, skip=3)
    data.on_epoch_begin(2)  # a resumed epoch: its last 2 of 5 batches
    assert (batches.epoch, batches.skip, len(batches)) == (2, 3, 2)
    for i, batch in enumerate(expected[3:]):
        np.testing.assert_array_equal(batches[i][0], batch)
    data.on_epoch_begin(3)  # the next epoch is whole again
    assert (batches.epoch, batches.skip, len(batches)) == (3, 0, 5)


# -- StopOnSignal -------------------------------------------------------------


class _Guard:
    signum = None


def test_stop_on_signal_stops_at_the_next_step_boundary():
    guard = _Guard()
    stop = cbs.StopOnSignal(guard, STEPS)
    stop.on_epoch_begin(1)
    stop.on_train_batch_end(0)  # no signal: nothing
    guard.signum = signal.SIGINT
    with pytest.raises(cbs.Interrupted) as caught:
        stop.on_train_batch_end(1)
    assert (caught.value.signum, caught.value.epoch, caught.value.step) == (
        signal.SIGINT,
        1,
        2,
    )


def test_stop_on_signal_counts_the_steps_a_resumed_epoch_skipped():
    guard = _Guard()
    stop = cbs.StopOnSignal(guard, steps=10, skip=6)
    stop.on_epoch_begin(4)
    guard.signum = signal.SIGTERM
    with pytest.raises(cbs.Interrupted) as caught:
        stop.on_train_batch_end(1)  # the resumed epoch's 2nd batch: step 8
    assert (caught.value.epoch, caught.value.step) == (4, 8)
    # The next epoch is whole: its steps count from 0.
    guard.signum = None
    stop.on_epoch_end(4)
    stop.on_epoch_begin(5)
    guard.signum = signal.SIGTERM
    with pytest.raises(cbs.Interrupted) as caught:
        stop.on_train_batch_end(1)
    assert (caught.value.epoch, caught.value.step) == (5, 2)


def test_a_signal_in_the_last_step_ends_the_epoch_first():
    """After the epoch's last step (during validation, say) the epoch is
    complete: the stop comes at its end, after the callbacks before it have
    recorded it."""
    guard = _Guard()
    stop = cbs.StopOnSignal(guard, STEPS)
    stop.on_epoch_begin(0)
    stop.on_train_batch_end(0)
    stop.on_train_batch_end(1)
    guard.signum = signal.SIGTERM
    stop.on_train_batch_end(2)  # the last step: no stop yet
    with pytest.raises(cbs.Interrupted) as caught:
        stop.on_epoch_end(0)
    assert (caught.value.signum, caught.value.epoch, caught.value.step) == (
        signal.SIGTERM,
        1,
        0,
    )


# -- StopOnNaN ----------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_stop_on_nan_stops_at_a_non_finite_metric(bad):
    stop = cbs.StopOnNaN()
    stop.on_epoch_end(0, dict(LOGS))
    stop.on_epoch_end(1, {})
    with pytest.raises(cbs.Diverged) as caught:
        stop.on_epoch_end(2, {**LOGS, "val_kl": bad})
    assert caught.value.epoch == 2


# -- LatentDiagnostics --------------------------------------------------------


def _posterior(model, log_var, mean_scale):
    """Makes q(z|x) = N(mean_scale * sum(h), exp(log_var)) per unit."""
    head = model.encoder.get_layer("z_log_var")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full_like(bias, log_var)])
    head = model.encoder.get_layer("z_mean")
    kernel, bias = head.get_weights()
    scales = np.asarray(mean_scale, np.float32) * np.ones(kernel.shape[1], np.float32)
    head.set_weights([np.ones_like(kernel) * scales, np.zeros_like(bias)])


@pytest.fixture(scope="module")
def examples():
    return np.random.default_rng(1).random((40, 5)).astype(np.float32)


def test_diagnostics_are_the_kl_of_each_unit_and_the_active_units(model, examples):
    _posterior(model, -0.5, [0.0, 2.0])  # unit 0 at the prior's mean, unit 1 not
    diagnostics = _with(model, cbs.LatentDiagnostics(examples, epochs=10))
    diagnostics.on_epoch_end(0, dict(LOGS))
    # An independent numpy reference of KL(N(m, s^2) || N(0, 1)) per unit.
    z_mean, z_log_var = (
        a.astype(np.float64) for a in model.encoder.predict(examples, verbose=0)
    )
    expected = (0.5 * (np.exp(z_log_var) + z_mean**2 - 1 - z_log_var)).mean(0)
    assert expected[0] < COLLAPSE_KL < expected[1]
    row = diagnostics.row()
    np.testing.assert_allclose(row["unit_kl"], expected, rtol=1e-5)
    assert row["active_units"] == int((z_mean.var(0) > 0.01).sum()) == 1
    # The units' KL adds up to the KL of the whole code.
    whole = 0.5 * (np.exp(z_log_var) + z_mean**2 - 1 - z_log_var).sum(1).mean()
    assert sum(row["unit_kl"]) == pytest.approx(whole, rel=1e-5)


def _collapse_warnings(diagnostics, epochs):
    """The VaekitWarnings of each epoch in `epochs`."""
    said = []
    for epoch in epochs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            diagnostics.on_epoch_end(epoch, dict(LOGS))
        said.append(
            [str(w.message) for w in caught if issubclass(w.category, VaekitWarning)]
        )
    return said


def test_a_collapse_warns_once_after_the_warm_up(model, examples):
    _posterior(model, 0.0, 0.0)  # q(z|x) = N(0, 1): every unit's KL is 0
    diagnostics = _with(
        model, cbs.LatentDiagnostics(examples, epochs=10, warmup_epochs=2)
    )
    said = _collapse_warnings(diagnostics, range(6))
    # Epochs 1-2 warm up; epochs 3-5 collapsed: one warning after the third
    # of them (COLLAPSE_EPOCHS), then never again.
    assert COLLAPSE_EPOCHS == 3
    assert said[:4] == [[], [], [], []] and said[5] == []
    (message,) = said[4]
    assert message.startswith("posterior collapse: after epoch 5 ")
    assert "0 of 2 units active" in message
    assert "free_bits 0.5" in message and "a lower beta (now 1)" in message
    assert "kl_warmup_epochs 10" in message
    assert diagnostics.row() == {"active_units": 0, "unit_kl": [0.0, 0.0]}
    # Its state, as a checkpoint keeps it: a resumed run does not warn again.
    meta, arrays = diagnostics.get_state()
    assert (meta, arrays) == ({"collapse_warned": True, "collapsed": 4}, {})
    resumed = _with(model, cbs.LatentDiagnostics(examples, epochs=10))
    resumed.set_state(meta, arrays)
    assert _collapse_warnings(resumed, [6, 7]) == [[], []]
    fresh = _with(model, cbs.LatentDiagnostics(examples, epochs=10))
    fresh.set_state({}, {})  # a checkpoint from before the diagnostics
    assert (fresh.warned, fresh.collapsed) == (False, 0)


def test_no_collapse_warning_too_early_or_with_an_informative_unit(model, examples):
    diagnostics = _with(model, cbs.LatentDiagnostics(examples, epochs=10))
    _posterior(model, 0.0, 0.0)
    assert _collapse_warnings(diagnostics, [0]) == [[]]  # the first epoch: too early
    _posterior(model, -0.5, [0.0, 2.0])  # one informative unit: no collapse
    assert _collapse_warnings(diagnostics, [1]) == [[]]
    _posterior(model, 0.0, 0.0)
    # A dip of fewer than COLLAPSE_EPOCHS epochs is quiet; the third warns.
    said = _collapse_warnings(diagnostics, [2, 3, 4])
    assert said[:2] == [[], []] and "after epoch 5" in said[2][0]


def test_a_collapse_in_the_last_epoch_warns_at_once(model, examples):
    diagnostics = _with(model, cbs.LatentDiagnostics(examples, epochs=10))
    _posterior(model, -0.5, [0.0, 2.0])
    assert _collapse_warnings(diagnostics, range(9)) == [[]] * 9
    _posterior(model, 0.0, 0.0)
    (said,) = _collapse_warnings(diagnostics, [9])  # the 10th and last epoch
    assert len(said) == 1 and "after epoch 10" in said[0]


# -- EarlyStopping ------------------------------------------------------------


def test_early_stopping_keeps_the_best_weights(model):
    early = _with(model, cbs.EarlyStopping(patience=2))
    model.stop_training = False
    for epoch, (value, val_loss) in enumerate([(1.0, 5.0), (2.0, 4.0), (3.0, 4.5)]):
        _fill(model, value)
        _epoch([early], epoch, val_loss=val_loss)
    assert not early.stopped and not model.stop_training
    _epoch([early], 3, val_loss=4.2)
    assert early.stopped and model.stop_training
    assert (early.best, early.best_epoch, early.wait) == (4.0, 2, 2)
    assert all(np.all(w == 2.0) for w in early.best_weights)
    assert all(np.all(w == 3.0) for w in _trainable(model))
    early.restore_best(model)
    assert all(np.all(w == 2.0) for w in _trainable(model))
    model.stop_training = False


def test_early_stopping_state_round_trips():
    model = build_model(
        Config(hidden_dims=(4,), latent_dim=2), np.zeros((4, 5), np.float32)
    )
    early = _with(model, cbs.EarlyStopping(patience=3))
    _fill(model, 0.5)
    early.on_epoch_end(0, {"val_loss": 7.0})
    early.on_epoch_end(1, {"val_loss": 8.0})
    meta, arrays = early.get_state()
    assert meta == {"best": 7.0, "best_epoch": 1, "wait": 1, "early_stopped": False}
    assert sorted(arrays, key=lambda k: int(k[5:])) == [
        f"best_{i}" for i in range(len(model.trainable_variables))
    ]
    again = cbs.EarlyStopping(patience=3)
    again.set_state(meta, arrays)
    assert (again.best, again.best_epoch, again.wait, again.stopped) == (
        7.0,
        1,
        1,
        False,
    )
    _fill(model, 9.0)
    again.restore_best(model)
    assert all(np.all(w == 0.5) for w in _trainable(model))
    # No val_loss (no validation data): nothing is kept, nothing restored.
    idle = _with(model, cbs.EarlyStopping(patience=1))
    idle.on_epoch_end(0, {"loss": 1.0})
    meta, arrays = idle.get_state()
    assert (meta["best"], meta["best_epoch"], arrays) == (math.inf, None, {})
    idle.set_state(meta, arrays)
    assert idle.best_weights is None
    idle.restore_best(model)
    assert all(np.all(w == 0.5) for w in _trainable(model))


# -- HistoryFile --------------------------------------------------------------


class _Extra:
    def row(self):
        return {"active_units": 1, "unit_kl": [0.25, 0.5]}


def test_history_file_writes_a_row_per_epoch(tmp_path):
    history = cbs.HistoryFile(str(tmp_path))
    _epoch([history], 0, val_loss=5.0)
    _epoch([history], 1, loss=1.0, val_loss=4.0)
    with open(runs.path(tmp_path, runs.HISTORY)) as handle:
        header = handle.readline().strip().split(",")
    assert header == ["epoch", *cbs.HISTORY_KEYS, "seconds"]
    table = runs.read_history(tmp_path)
    np.testing.assert_array_equal(table["epoch"], [1, 2])
    np.testing.assert_array_equal(table["loss"], [2.0, 1.0])
    np.testing.assert_array_equal(table["val_loss"], [5.0, 4.0])
    assert np.isnan(table["val_kl"]).all()  # not in the logs: empty cells
    assert (table["seconds"] >= 0).all()
    # Its state is its rows: a resumed run appends to them.
    meta, arrays = history.get_state()
    assert arrays == {} and [row["epoch"] for row in meta["rows"]] == [1, 2]
    resumed = cbs.HistoryFile(str(tmp_path))
    resumed.set_state(meta, arrays)
    _epoch([resumed], 2, val_loss=3.0)
    np.testing.assert_array_equal(runs.read_history(tmp_path)["epoch"], [1, 2, 3])


def test_history_file_adds_the_columns_of_its_extras(tmp_path):
    history = cbs.HistoryFile(str(tmp_path), extras=[_Extra()])
    _epoch([history], 0)
    with open(runs.path(tmp_path, runs.HISTORY)) as handle:
        header = handle.readline().strip().split(",")
    assert header[-3:] == ["active_units", "kl_0", "kl_1"]
    table = runs.read_history(tmp_path)
    assert (table["active_units"][0], table["kl_0"][0], table["kl_1"][0]) == (
        1,
        0.25,
        0.5,
    )


# -- Checkpoint ---------------------------------------------------------------


def test_checkpoint_after_every_epoch_holds_its_parts_state(tmp_path, model):
    early = cbs.EarlyStopping(patience=5)
    history = cbs.HistoryFile(str(tmp_path))
    checkpoint = cbs.Checkpoint(str(tmp_path), [early, history])
    callbacks = _with(model, early, history, checkpoint)
    for epoch, val_loss in enumerate([5.0, 4.0, 4.5]):
        _fill(model, float(epoch))
        _epoch(callbacks, epoch, val_loss=val_loss)
        meta, arrays = load_checkpoint(str(tmp_path), model)
        assert (meta["epoch"], meta["step"]) == (epoch + 1, 0)
        assert len(meta["rows"]) == epoch + 1
    assert (meta["best"], meta["best_epoch"], meta["wait"]) == (4.0, 2, 1)
    assert all(np.all(w == 1.0) for k, w in arrays.items() if k.startswith("best_"))
    # A mid-epoch save (a signal) records the step.
    checkpoint.save(model, 3, 2)
    meta, _ = load_checkpoint(str(tmp_path), model)
    assert (meta["epoch"], meta["step"]) == (3, 2)
    # `restore` gives each part its state back.
    parts = cbs.EarlyStopping(patience=5), cbs.HistoryFile(str(tmp_path))
    cbs.Checkpoint(str(tmp_path), parts).restore(meta, arrays)
    assert (parts[0].best, parts[0].best_epoch, parts[0].wait) == (4.0, 2, 1)
    assert all(np.all(w == 1.0) for w in parts[0].best_weights)
    assert parts[1].rows == history.rows
