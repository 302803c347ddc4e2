"""vaekit.training.checkpoint: the checkpoint file restores every variable, refuses
what does not match, and the signal guard turns SIGINT/SIGTERM into a
clean stop. Resuming whole runs is tested in test_train.py."""

import signal
import threading

import numpy as np
import pytest

from vaekit import VaekitError, runs
from vaekit.config import Config
from vaekit.training.checkpoint import (
    SignalGuard,
    Stop,
    TrainingInterrupted,
    load_checkpoint,
    save_checkpoint,
)


def _model(hidden_dims=(8,)):
    from vaekit.training.train import build_model

    config = Config(hidden_dims=hidden_dims, latent_dim=2, epochs=2)
    return build_model(config, (6,), steps_per_epoch=3)


def _values(variables):
    return [np.array(v) for v in variables]


def test_a_checkpoint_restores_model_optimizer_and_best_weights(tmp_path):
    model = _model()
    rng = np.random.default_rng(0)
    for var in model.variables + model.optimizer.variables:
        var.assign(rng.normal(size=var.shape).astype(var.dtype))
    best = [
        rng.normal(size=v.shape).astype("float32") for v in model.trainable_variables
    ]
    meta = {"epoch": 3, "step": 2, "rows": [{"epoch": 1, "loss": 1.5}]}
    save_checkpoint(str(tmp_path), model, meta, best)
    saved = _values(model.variables), _values(model.optimizer.variables)
    other = _model()  # fresh weights, fresh optimizer
    loaded_meta, loaded_best = load_checkpoint(str(tmp_path), other)
    assert loaded_meta == dict(
        meta, n_model=len(model.variables), n_optimizer=len(model.optimizer.variables)
    )
    for a, b in zip(_values(other.variables), saved[0], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_values(other.optimizer.variables), saved[1], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(loaded_best, best, strict=True):
        np.testing.assert_array_equal(a, b)
    # Without best weights there are none to restore.
    save_checkpoint(str(tmp_path), model, meta)
    assert load_checkpoint(str(tmp_path), other)[1] is None


def test_missing_corrupt_and_mismatched_checkpoints_are_refused(tmp_path):
    model = _model()
    with pytest.raises(VaekitError, match=f"holds no {runs.CHECKPOINT}"):
        load_checkpoint(str(tmp_path), model)
    path = tmp_path / runs.CHECKPOINT
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(VaekitError, match="corrupt"):
        load_checkpoint(str(tmp_path), model)
    save_checkpoint(str(tmp_path), _model(hidden_dims=(8, 4)), {"epoch": 1})
    with pytest.raises(VaekitError, match="does not match the model"):
        load_checkpoint(str(tmp_path), model)


def test_the_guard_records_the_first_signal_and_restores_handlers():
    before = {s: signal.getsignal(s) for s in SignalGuard.SIGNALS}
    with SignalGuard() as guard:
        assert guard.signum is None
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt
        signal.raise_signal(signal.SIGTERM)
        assert guard.signum == signal.SIGINT
        guard.hold()
        signal.raise_signal(signal.SIGINT)  # ignored while a checkpoint is saved
        guard.at_once()
        with pytest.raises(Stop) as stop:
            signal.raise_signal(signal.SIGTERM)
        assert stop.value.signum == signal.SIGTERM
        assert not isinstance(stop.value, Exception)  # no `except Exception` eats it
    assert {s: signal.getsignal(s) for s in SignalGuard.SIGNALS} == before


def test_the_guard_does_nothing_outside_the_main_thread():
    before = {s: signal.getsignal(s) for s in SignalGuard.SIGNALS}
    seen = []

    def work():
        with SignalGuard() as guard:
            seen.append({s: signal.getsignal(s) for s in SignalGuard.SIGNALS})
            seen.append(guard.signum)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before, None]


def test_training_interrupted_says_how_to_resume():
    mid = TrainingInterrupted(signal.SIGINT, "runs/a", 2, 7)
    assert str(mid) == (
        "SIGINT: training stopped in epoch 3 after step 7; checkpoint saved. "
        "Resume with: vaekit train --resume runs/a"
    )
    assert mid.exit_code == 130
    end = TrainingInterrupted(signal.SIGTERM, "runs/a", 4, 0)
    assert "after epoch 4" in str(end) and end.exit_code == 143
    from vaekit.training import train

    assert train.TrainingInterrupted is TrainingInterrupted
