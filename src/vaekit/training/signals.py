"""The signals that interrupt a training run.

`SignalGuard` turns SIGINT and SIGTERM into a clean stop at the next step
boundary (`vaekit.training.callbacks.StopOnSignal` polls it); `train` then
saves a checkpoint of that step and raises `TrainingInterrupted`.
"""

import signal
import threading

__all__ = ["SignalGuard", "Stop", "TrainingInterrupted"]


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training; a checkpoint was written.

    Attributes:
        signum: The signal.
        run: The run folder, whose checkpoint a resume continues from.
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
            f"{name}: training stopped {where}; its checkpoint is saved in {run}"
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
