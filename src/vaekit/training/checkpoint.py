"""Checkpoints of a training run, and the signals that interrupt one.

`RUN/checkpoint.npz` holds everything a resumed run needs to end with the
same weights as an uninterrupted one: every model variable (weights and the
sampling layers' RNG state), every optimizer variable (moments, iteration
count), the best weights kept for early stopping, and a JSON `meta` record
(epoch, step, history rows, early-stopping state). It is written atomically
(`vaekit.io`), so a crash or SIGKILL at any instant leaves the previous
checkpoint or the new one.

`SignalGuard` turns SIGINT and SIGTERM into a clean stop at the next step
boundary; `train` then saves that step and raises `TrainingInterrupted`.
"""

import json
import signal
import threading

import numpy as np

from vaekit import VaekitError, runs
from vaekit import io as files

__all__ = [
    "SignalGuard",
    "Stop",
    "TrainingInterrupted",
    "load_checkpoint",
    "save_checkpoint",
]


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training; a checkpoint was written.

    Attributes:
        signum: The signal.
        run: The run folder, to resume with `vaekit train --resume RUN`.
        epoch: Epochs completed.
        step: Steps completed of the next epoch.
        exit_code: `128 + signum`, the shell's status of a killed process.
    """

    def __init__(self, signum, run, epoch, step):
        self.signum, self.run, self.epoch, self.step = signum, run, epoch, step
        name = signal.Signals(signum).name
        where = (
            f"in epoch {epoch + 1} after step {step}"
            if step
            else f"after epoch {epoch}"
        )
        super().__init__(
            f"{name}: training stopped {where}; checkpoint saved. Resume with: "
            f"vaekit train --resume {run}"
        )

    @property
    def exit_code(self):
        return 128 + self.signum


class Stop(BaseException):
    """A signal after training was complete (see `SignalGuard.at_once`).

    A `BaseException`, like `KeyboardInterrupt`, so that no `except
    Exception` on the way (Keras', Pillow's) swallows it.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class SignalGuard:
    """SIGINT and SIGTERM during a training run, as a context manager.

    Entering installs a handler that records the first signal in `signum`;
    the training loop polls it and stops at the next step boundary. `hold`
    then ignores further signals, so that a second Ctrl-C cannot cut the
    checkpoint being written; `at_once`, once training is complete and
    checkpointed, makes a signal raise `Stop` at once (a resume redoes only
    the final save and evaluation). Leaving restores the previous handlers.

    Python sets signal handlers in the main thread only; elsewhere the guard
    does nothing and `signum` stays None.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum = None
        self._previous = None

    def __enter__(self):
        self._previous = self._install(self._record)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in (self._previous or {}).items():
            signal.signal(signum, handler)
        self._previous = None

    def _install(self, handler):
        """Sets `handler` for `SIGNALS`; returns the handlers it replaced
        (None outside the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        return {signum: signal.signal(signum, handler) for signum in self.SIGNALS}

    def _record(self, signum, frame):
        if self.signum is None:
            self.signum = signum

    def hold(self):
        """Ignores further signals."""
        self._install(lambda signum, frame: None)

    def at_once(self):
        """From now on a signal raises `Stop`."""

        def stop(signum, frame):
            raise Stop(signum)

        self._install(stop)


def save_checkpoint(run, model, meta, best_weights=None):
    """Writes `RUN/checkpoint.npz` atomically.

    Args:
        run: The run folder.
        model: The compiled model, its optimizer built.
        meta: A JSON-serializable dict (epoch, step, history rows, ...).
        best_weights: Optional list of arrays, one per trainable variable.
    """
    arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)}
    arrays.update(
        {
            f"optimizer_{i}": np.asarray(v)
            for i, v in enumerate(model.optimizer.variables)
        }
    )
    for i, value in enumerate(best_weights or ()):
        arrays[f"best_{i}"] = np.asarray(value)
    meta = dict(
        meta, n_model=len(model.variables), n_optimizer=len(model.optimizer.variables)
    )
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = runs.path(run, runs.CHECKPOINT)
    with files.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_checkpoint(run, model):
    """Restores `RUN/checkpoint.npz` into `model` (compiled with the run's
    config).

    Returns:
        `(meta, best_weights)`: the dict given to `save_checkpoint` (with
        `n_model` and `n_optimizer` added) and the best weights, or None.

    Raises:
        VaekitError: if the checkpoint is missing, corrupt, or does not
            match the model.
    """
    path = runs.path(run, runs.CHECKPOINT)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        meta = json.loads(arrays["meta"].tobytes().decode())
        if not isinstance(meta, dict):
            raise ValueError("its meta record is not a JSON object")
    except FileNotFoundError:
        raise VaekitError(
            f"{run!r} holds no {runs.CHECKPOINT} to resume from"
        ) from None
    except Exception as exc:  # numpy and zipfile raise many types on corrupt bytes
        raise VaekitError(f"checkpoint {path!r} is corrupt ({exc})") from None
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    targets = {"model": list(model.variables), "optimizer": model.optimizer.variables}
    mismatch = VaekitError(
        f"checkpoint {path!r} does not match the model of "
        f"{runs.path(run, runs.CONFIG)!r}"
    )
    if meta.get("n_model") != len(targets["model"]) or meta.get("n_optimizer") != len(
        targets["optimizer"]
    ):
        raise mismatch
    for prefix, variables in targets.items():
        for i, var in enumerate(variables):
            value = arrays.get(f"{prefix}_{i}")
            if value is None or tuple(value.shape) != tuple(var.shape):
                raise mismatch
            var.assign(value)
    if "best_0" not in arrays:
        return meta, None
    names = [f"best_{i}" for i in range(len(model.trainable_variables))]
    if not all(name in arrays for name in names):
        raise mismatch
    return meta, [arrays[name] for name in names]
