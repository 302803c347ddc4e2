"""vaekit.training.signals: SIGINT and SIGTERM stop a run at a step
boundary with a checkpoint of that step, and a resumed run ends with the
weights of an uninterrupted one; SIGKILL at any moment leaves a checkpoint
that loads.

The guard and the exception are tested in this process; the signals
themselves are sent to `vaekit train` in a fresh process
(tests/training/cli_worker.py), whose batches are slowed so that a signal
lands inside an epoch of a tiny model. The resumes run in this process.
"""

import os
import random
import re
import signal
import threading
import time

import pytest

from tests.helpers import TINY_RUN_ARGS
from tests.training.common import (
    assert_same_weights,
    history_rows,
    start_worker,
    stop_all,
    weights,
)
from vaekit import runs
from vaekit.cli.main import main
from vaekit.training import build_model
from vaekit.training.checkpoint import load_checkpoint
from vaekit.training.signals import SignalGuard, Stop, TrainingInterrupted

# The session's tiny run (digits: 1617 training rows in batches of 100),
# whose batches the worker slows by DELAY: an epoch of 17 steps lasts about
# a second, so that a signal lands inside one.
DELAY = {"VAEKIT_TEST_BATCH_DELAY": "0.06"}
STEPS = 17


# -- the guard and the exception --------------------------------------------


def test_the_guard_records_the_first_signal_and_restores_handlers():
    before = {s: signal.getsignal(s) for s in SignalGuard.SIGNALS}
    with SignalGuard() as guard:
        assert guard.signum is None
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt
        signal.raise_signal(signal.SIGTERM)
        assert guard.signum == signal.SIGINT
        guard.hold()
        signal.raise_signal(signal.SIGINT)  # ignored while a checkpoint is saved
        assert guard.signum == signal.SIGINT
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
            guard.hold()
            guard.at_once()
            seen.append({s: signal.getsignal(s) for s in SignalGuard.SIGNALS})
            seen.append(guard.signum)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before, before, None]


def test_training_interrupted_says_where_and_exits_as_the_shell_would():
    mid = TrainingInterrupted(signal.SIGINT, "runs/a", 2, 7)
    assert str(mid) == (
        "SIGINT: training stopped in epoch 3 after step 7; its checkpoint is saved "
        "in runs/a"
    )
    assert (mid.run, mid.epoch, mid.step, mid.exit_code) == ("runs/a", 2, 7, 130)
    end = TrainingInterrupted(signal.SIGTERM, "runs/a", 4, 0)
    assert "after epoch 4" in str(end) and end.exit_code == 143
    from vaekit import training

    assert training.TrainingInterrupted is TrainingInterrupted


# -- signals sent to `vaekit train` in another process ----------------------


@pytest.fixture(scope="module")
def reference(tiny_run, tiny_model, digits_x):
    """The uninterrupted run (the session's `tiny_run`): `(config, run,
    final weights, its model)`."""
    config = runs.load_config(tiny_run)
    model = build_model(config, digits_x, steps_per_epoch=STEPS)
    return config, tiny_run, tiny_model.get_weights(), model


def _wait_for(condition, proc, timeout=120):
    """Polls `condition()` until it holds; False if `proc` ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.01)
    return True


def _train(run):
    return start_worker(
        "cli_worker.py", "train", *TINY_RUN_ARGS, "--output", run, **DELAY
    )


def _resume(run):
    return start_worker("cli_worker.py", "train", "--resume", run, "--quiet", **DELAY)


def _said(err):
    """vaekit's own lines on stderr (not JAX's or TensorFlow's logs)."""
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("vaekit: ")]


def _resume_here(run):
    assert main(["train", "--resume", run, "--quiet"]) == 0


def test_sigint_mid_epoch_then_resume_ends_as_the_uninterrupted_run(
    reference, tmp_path, no_pictures
):
    config, reference_run, final, model = reference
    run = str(tmp_path / "run")
    proc = _train(run)
    try:
        # Once epoch 1 is recorded, somewhere inside epoch 2 (about 1 s).
        assert _wait_for(lambda: os.path.exists(runs.path(run, runs.HISTORY)), proc)
        time.sleep(random.uniform(0.2, 0.5))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        stop_all([proc])
    assert proc.returncode == 130, err
    said = _said(err)
    match = re.fullmatch(
        r"vaekit: SIGINT: training stopped in epoch 2 after step (\d+); its "
        rf"checkpoint is saved in (.+)\. Resume with: vaekit train --resume {run}",
        said[-1],
    )
    assert match and match[2] == run, said
    step = int(match[1])
    assert 0 < step < STEPS
    meta, _ = load_checkpoint(run, model)
    assert (meta["epoch"], meta["step"]) == (1, step)
    assert not os.path.exists(runs.path(run, runs.MODEL))

    _resume_here(run)
    assert_same_weights(weights(run), final)
    # Every epoch's row is the uninterrupted run's: the same losses, and the
    # same diagnostics (the same weights on the same fixed examples). The
    # interrupted epoch's training means are those of its steps after the
    # resume alone (see the report); its validation and diagnostics match.
    resumed, uninterrupted = history_rows(run), history_rows(reference_run)
    assert len(resumed) == config.epochs
    for epoch, (row, expected) in enumerate(zip(resumed, uninterrupted, strict=True)):
        skip = {"seconds"} | ({"loss", "reconstruction", "kl"} if epoch == 1 else set())
        assert {k: v for k, v in row.items() if k not in skip} == {
            k: v for k, v in expected.items() if k not in skip
        }


def test_sigterm_exits_143_and_sigkill_at_a_random_moment_keeps_a_checkpoint(
    reference, tmp_path, no_pictures
):
    """SIGTERM stops as SIGINT does (status 143); SIGKILL at a random moment
    of the resumed process leaves a checkpoint that loads, not behind the
    one before; the run then resumes to the uninterrupted weights."""
    config, _, final, model = reference
    run = str(tmp_path / "run")
    checkpoint = runs.path(run, runs.CHECKPOINT)
    rng = random.Random()

    proc = _train(run)
    try:
        # The first checkpoint (epoch 0) is written before training starts.
        assert _wait_for(lambda: os.path.exists(checkpoint), proc)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        stop_all([proc])
    assert proc.returncode == 143, err
    assert re.fullmatch(
        rf"vaekit: SIGTERM: training stopped .+ Resume with: vaekit train --resume "
        rf"{run}",
        _said(err)[-1],
    )
    before = load_checkpoint(run, model)[0]

    written = os.stat(checkpoint).st_mtime_ns
    proc = _resume(run)
    try:
        # Once this process has written a checkpoint of its own (an epoch's
        # end), at a random moment of the next epoch or of the final phase.
        if _wait_for(lambda: os.stat(checkpoint).st_mtime_ns != written, proc):
            time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        stop_all([proc])
    after = load_checkpoint(run, model)[0]
    assert (before["epoch"], before["step"]) <= (after["epoch"], after["step"])
    assert after["epoch"] <= config.epochs
    # A SIGKILL may leave a temporary file; it never replaces the checkpoint.
    hidden = [n for n in os.listdir(run) if n.startswith(".") and n != runs.MARKER]
    assert all(".tmp" in n for n in hidden), hidden

    _resume_here(run)
    assert_same_weights(weights(run), final)
    assert len(history_rows(run)) == config.epochs
