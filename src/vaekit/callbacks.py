"""The Keras callback of a training run: checkpoints, history, early
stopping, divergence, signals and a log line per epoch."""

import csv
import io
import math
import time

import keras
import numpy as np

from vaekit import files, runs
from vaekit.checkpoint import save_checkpoint

__all__ = ["HISTORY_KEYS", "TrainingSupervisor"]

HISTORY_KEYS = (
    "loss",
    "reconstruction",
    "kl",
    "val_loss",
    "val_reconstruction",
    "val_kl",
)


def _history_csv(rows):
    """CSV text of per-epoch rows (dicts)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["epoch", *HISTORY_KEYS, "seconds"])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in writer.fieldnames})
    return out.getvalue()


def _number(value):
    # As Keras' progress bar writes its metrics.
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


class TrainingSupervisor(keras.callbacks.Callback):
    """The callback of `train`: checkpoints, history, early stopping,
    divergence and signals, with the state a checkpoint restores.

    - At the start of an epoch it selects that epoch's batches (the rest of
      an interrupted epoch, when resuming one).
    - After each step it stops training once `signals` caught SIGINT or
      SIGTERM; `checkpoint_interruption` then saves that step.
    - At the end of an epoch it stops at a NaN or infinite loss (`diverged`),
      else appends a history row, keeps the best weights for early stopping
      on `val_loss`, writes `RUN/checkpoint.npz` and `RUN/history.csv`
      atomically, and, if `log`, prints one line (for logs, where Keras'
      redrawn progress bar would fill the file).

    Args:
        run: The run folder.
        batches: The `TrainingBatches` that `fit` reads.
        steps: Steps per full epoch.
        epochs: Epochs of the whole run.
        early_stopping: Patience in epochs without a better `val_loss`
            (0: never stop early).
        meta: The `meta` of the checkpoint to continue from (`{}`: a new run).
        best_weights: The best weights of that checkpoint, or None.
        signals: A `vaekit.checkpoint.SignalGuard` (default: none).
        log: Print one line per epoch to stdout.
    """

    def __init__(
        self,
        run,
        batches,
        steps,
        epochs,
        early_stopping=0,
        meta=None,
        best_weights=None,
        signals=None,
        log=False,
    ):
        super().__init__()
        meta = meta or {}
        self.run = run
        self.batches = batches
        self.steps = steps
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.signals = signals
        self.log = log
        self.rows = list(meta.get("rows", []))
        self.best = meta.get("best", math.inf)
        self.best_epoch = meta.get("best_epoch")
        self.wait = meta.get("wait", 0)
        self.early_stopped = meta.get("early_stopped", False)
        self.best_weights = best_weights
        self.epoch = meta.get("epoch", 0)
        self.skip = meta.get("step", 0)  # steps done of `epoch`, for its first call
        self.step = self.skip
        self.diverged = None
        self._start = None

    @property
    def signum(self):
        """The signal that stops training, or None."""
        return None if self.signals is None else self.signals.signum

    @property
    def stopped(self):
        """True once training must not go on: early stopping, a signal or a
        NaN loss."""
        return (
            self.early_stopped or self.signum is not None or self.diverged is not None
        )

    def meta(self, epoch, step):
        """The checkpoint's `meta` record at `step` steps into `epoch`."""
        return {
            "epoch": epoch,
            "step": step,
            "rows": self.rows,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "early_stopped": self.early_stopped,
        }

    def checkpoint(self, epoch, step):
        """Writes the checkpoint of `step` steps into `epoch`."""
        save_checkpoint(self.run, self.model, self.meta(epoch, step), self.best_weights)

    def checkpoint_interruption(self):
        """Saves the step at which a signal stopped training; returns
        `(epoch, step)` where a resume starts."""
        if self.step >= self.steps:  # the epoch completed and on_epoch_end saved it
            return self.epoch + 1, 0
        self.checkpoint(self.epoch, self.step)
        return self.epoch, self.step

    def restore_best(self):
        """Loads the best weights (early stopping on `val_loss`), if any."""
        if self.best_weights is not None:
            for var, value in zip(
                self.model.trainable_variables, self.best_weights, strict=True
            ):
                var.assign(value)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.step = self.skip
        self.batches.set_epoch(epoch, skip=self.skip)
        self.skip = 0
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.signum is not None:
            # `_model`, not `model`: on JAX, `model` syncs every variable.
            self._model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.signum is not None and self.step < self.steps:
            return  # interrupted mid-epoch: `checkpoint_interruption` saves it
        logs = logs or {}
        if not all(math.isfinite(float(v)) for v in logs.values()):
            self.diverged = epoch
            self.model.stop_training = True
            return
        row = {
            "epoch": epoch + 1,
            "seconds": round(time.perf_counter() - self._start, 3),
        }
        row.update({k: float(logs[k]) for k in HISTORY_KEYS if k in logs})
        self.rows.append(row)
        if self.early_stopping and "val_loss" in logs:
            self._early_stopping(epoch, float(logs["val_loss"]))
        self.checkpoint(epoch + 1, 0)
        files.write_text(runs.path(self.run, runs.HISTORY), _history_csv(self.rows))
        if self.log:
            parts = [f"epoch {epoch + 1}/{self.epochs}", f"{row['seconds']:.2f}s"]
            parts += [f"{k}: {_number(row[k])}" for k in HISTORY_KEYS if k in row]
            print(" - ".join(parts), flush=True)
            if self.early_stopped:
                print(
                    f"early stopping: no better val_loss for {self.wait} epochs; "
                    f"keeping the weights of epoch {self.best_epoch}",
                    flush=True,
                )

    def _early_stopping(self, epoch, val_loss):
        """Keeps the best weights; stops after `early_stopping` epochs
        without a better `val_loss` (as Keras' `EarlyStopping` with
        `restore_best_weights=True`)."""
        if val_loss < self.best:
            self.best, self.best_epoch, self.wait = val_loss, epoch + 1, 0
            self.best_weights = [np.asarray(v) for v in self.model.trainable_variables]
            return
        self.wait += 1
        if self.wait >= self.early_stopping:
            self.early_stopped = True
            self.model.stop_training = True
