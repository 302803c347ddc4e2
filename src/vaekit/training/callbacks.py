"""The Keras callbacks of a training run, one concern each.

- `EpochData`: each epoch's batches (the rest of an interrupted epoch
  first, when resuming one).
- `StopOnSignal`: stops at the step boundary after SIGINT or SIGTERM.
- `StopOnNaN`: stops when an epoch's loss is not finite.
- `LatentDiagnostics`: the KL of each latent unit and the active units on a
  fixed subset of the training data; warns once of a posterior collapse.
- `EarlyStopping`: keeps the best weights on `val_loss`; stops after
  `patience` epochs without a better one.
- `HistoryFile`: one row per epoch in `RUN/history.csv`.
- `Checkpoint`: `RUN/checkpoint.npz` after every epoch, holding the model,
  its optimizer and the state of the callbacks above (`get_state` /
  `set_state`), so that a resumed run continues exactly.

`row_metrics` and `eval_metrics` name the numbers of a history row and of
the held-out metrics as the trackers log them (see
`vaekit.training.tracking`).

A stop from a signal or a NaN loss is an exception (`Interrupted`,
`Diverged`) raised out of `fit`, so no later callback records the
unfinished epoch; `vaekit.training.train` handles both.
"""

import csv
import io
import math
import time
import warnings

import keras
import numpy as np

from vaekit import io as vaekit_io
from vaekit import runs
from vaekit.errors import VaekitWarning
from vaekit.evaluation.diagnostics import (
    COLLAPSE_EPOCHS,
    COLLAPSE_KL,
    collapse_advice,
    latent_diagnostics,
)
from vaekit.training.checkpoint import save_checkpoint

__all__ = [
    "HISTORY_KEYS",
    "Checkpoint",
    "Diverged",
    "EarlyStopping",
    "EpochData",
    "HistoryFile",
    "Interrupted",
    "LatentDiagnostics",
    "StopOnNaN",
    "StopOnSignal",
    "eval_metrics",
    "row_metrics",
]

HISTORY_KEYS = (
    "loss",
    "reconstruction",
    "kl",
    "val_loss",
    "val_reconstruction",
    "val_kl",
)


class Interrupted(Exception):
    """A signal stopped training after `step` steps of epoch `epoch`."""

    def __init__(self, signum, epoch, step):
        super().__init__(signum, epoch, step)
        self.signum, self.epoch, self.step = signum, epoch, step


class Diverged(Exception):
    """The loss of epoch `epoch` (0-based) was NaN or infinite."""

    def __init__(self, epoch):
        super().__init__(epoch)
        self.epoch = epoch


class EpochData(keras.callbacks.Callback):
    """Selects each epoch's batches of `batches` (a
    `vaekit.training.TrainingBatches`); the first epoch leaves out its first
    `skip` batches (those an interrupted run had done)."""

    def __init__(self, batches, skip=0):
        super().__init__()
        self.batches = batches
        self.skip = skip

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch, skip=self.skip)
        self.skip = 0


class StopOnSignal(keras.callbacks.Callback):
    """Raises `Interrupted` once `guard` (a
    `vaekit.training.signals.SignalGuard`) has caught a signal: at the next
    step boundary within an epoch, or at the end of the epoch's last step,
    after the callbacks before it have recorded and checkpointed the epoch
    (so put it last).

    Args:
        guard: The signal guard.
        steps: Steps per epoch.
        skip: Steps of the first epoch done before (a resumed epoch).
    """

    def __init__(self, guard, steps, skip=0):
        super().__init__()
        self.guard = guard
        self.steps = steps
        self.skip = skip
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.skip + batch + 1
        if self.guard.signum is not None and step < self.steps:
            raise Interrupted(self.guard.signum, self.epoch, step)

    def on_epoch_end(self, epoch, logs=None):
        self.skip = 0
        if self.guard.signum is not None:
            raise Interrupted(self.guard.signum, epoch + 1, 0)


class StopOnNaN(keras.callbacks.Callback):
    """Raises `Diverged` at the end of an epoch whose metrics are not all
    finite (before any later callback records it)."""

    def on_epoch_end(self, epoch, logs=None):
        if not all(math.isfinite(float(v)) for v in (logs or {}).values()):
            raise Diverged(epoch)


class LatentDiagnostics(keras.callbacks.Callback):
    """The KL of each latent unit and the number of active units after each
    epoch, on a fixed subset `x` of the training data (`(x, y)` for a
    conditional model); see `vaekit.evaluation.diagnostics`.

    Every unit's KL below `COLLAPSE_KL` in `COLLAPSE_EPOCHS` epochs in a
    row after the KL warm-up (or in the run's last epoch) is a posterior
    collapse: it warns once per run (`VaekitWarning`), saying what to try.

    Args:
        x: The examples, the same every epoch.
        epochs: The run's epochs.
        warmup_epochs: Epochs of KL warm-up, during which a collapse is not
            reported.
        batch_size: Examples per encoder pass.
    """

    def __init__(self, x, epochs, warmup_epochs=0, batch_size=500):
        super().__init__()
        self.x = x
        self.epochs = epochs
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.collapsed = 0  # consecutive collapsed epochs
        self.warned = False
        self.last = {}

    def on_epoch_end(self, epoch, logs=None):
        unit_kl, active = latent_diagnostics(self.model, self.x, self.batch_size)
        self.last = {"active_units": active, "unit_kl": [float(v) for v in unit_kl]}
        if epoch + 1 <= max(1, self.warmup_epochs) or max(unit_kl) >= COLLAPSE_KL:
            self.collapsed = 0
            return
        self.collapsed += 1
        if self.warned or (
            self.collapsed < COLLAPSE_EPOCHS and epoch + 1 < self.epochs
        ):
            return
        self.warned = True
        warnings.warn(
            f"posterior collapse: after epoch {epoch + 1} every latent unit's KL is "
            f"below {COLLAPSE_KL:g} nats (largest {float(np.max(unit_kl)):.3g}; "
            f"{active} of {len(unit_kl)} units active), so the decoder ignores z. "
            f"Try {collapse_advice(self.model, self.warmup_epochs)}",
            VaekitWarning,
            stacklevel=2,
        )

    def row(self):
        """The history columns of the last epoch."""
        return dict(self.last)

    def get_state(self):
        return {"collapse_warned": self.warned, "collapsed": self.collapsed}, {}

    def set_state(self, meta, arrays):
        self.warned = bool(meta.get("collapse_warned", False))
        self.collapsed = int(meta.get("collapsed", 0))


class EarlyStopping(keras.callbacks.Callback):
    """Keeps the best trainable weights on `val_loss`; stops after
    `patience` epochs without a better one (as Keras' `EarlyStopping` with
    `restore_best_weights=True`, with its state in the checkpoint).
    `restore_best` loads the best weights into the model."""

    def __init__(self, patience):
        super().__init__()
        self.patience = patience
        self.best, self.best_epoch, self.wait = math.inf, None, 0
        self.stopped = False
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        val_loss = (logs or {}).get("val_loss")
        if val_loss is None:
            return
        if float(val_loss) < self.best:
            self.best, self.best_epoch, self.wait = float(val_loss), epoch + 1, 0
            self.best_weights = [np.asarray(v) for v in self.model.trainable_variables]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped = True
            self.model.stop_training = True

    def restore_best(self, model):
        if self.best_weights is not None:
            for var, value in zip(
                model.trainable_variables, self.best_weights, strict=True
            ):
                var.assign(value)

    def get_state(self):
        meta = {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "early_stopped": self.stopped,
        }
        arrays = {f"best_{i}": w for i, w in enumerate(self.best_weights or ())}
        return meta, arrays

    def set_state(self, meta, arrays):
        self.best = meta.get("best", math.inf)
        self.best_epoch = meta.get("best_epoch")
        self.wait = meta.get("wait", 0)
        self.stopped = meta.get("early_stopped", False)
        names = sorted(
            (k for k in arrays if k.startswith("best_")), key=lambda k: int(k[5:])
        )
        self.best_weights = [arrays[k] for k in names] or None


def _history_csv(rows):
    """CSV text of per-epoch rows: epoch, the metrics, seconds, then the
    diagnostics (active units, kl_0, kl_1, ...) when recorded."""
    fields = ["epoch", *HISTORY_KEYS, "seconds"]
    if any("active_units" in row for row in rows):
        fields.append("active_units")
    units = max((len(row.get("unit_kl", ())) for row in rows), default=0)
    fields += [f"kl_{j}" for j in range(units)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        values = {k: v for k, v in row.items() if k != "unit_kl"}
        values.update({f"kl_{j}": v for j, v in enumerate(row.get("unit_kl", ()))})
        writer.writerow({k: values.get(k, "") for k in fields})
    return out.getvalue()


def row_metrics(row):
    """The numbers of a history row (see `HistoryFile`) by their column
    names in `history.csv` (`loss`, ..., `seconds`, `active_units`, `kl_0`,
    ...), the epoch left out: what a tracker logs at step `row["epoch"]`."""
    values = {k: v for k, v in row.items() if k not in ("epoch", "unit_kl")}
    values.update({f"kl_{j}": v for j, v in enumerate(row.get("unit_kl", ()))})
    return _numbers(values)


def eval_metrics(metrics):
    """The numbers of the held-out metrics (`vaekit.evaluate`'s dict), named
    `eval_<key>` (`eval_elbo`, `eval_log_likelihood`, ...), as trackers log
    them."""
    return _numbers({f"eval_{k}": v for k, v in metrics.items()})


def _numbers(values):
    """The finite numbers among `values` (Python, numpy or a backend's
    scalars) as floats; text, flags and lists are left out."""
    numbers = {}
    for key, value in values.items():
        if isinstance(value, (bool, str, list, tuple, dict)) or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            numbers[key] = number
    return numbers


class HistoryFile(keras.callbacks.Callback):
    """Appends a row per epoch (its metrics, seconds, and the columns of
    `extras`, callbacks with a `row()` method) and writes `RUN/history.csv`
    atomically."""

    def __init__(self, run, extras=()):
        super().__init__()
        self.run = run
        self.extras = list(extras)
        self.rows = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {
            "epoch": epoch + 1,
            "seconds": round(time.perf_counter() - self._start, 3),
        }
        row.update({k: float(logs[k]) for k in HISTORY_KEYS if k in logs})
        for extra in self.extras:
            row.update(extra.row())
        self.rows.append(row)
        vaekit_io.write_text(runs.path(self.run, runs.HISTORY), _history_csv(self.rows))

    def get_state(self):
        return {"rows": self.rows}, {}

    def set_state(self, meta, arrays):
        self.rows = list(meta.get("rows", []))


class Checkpoint(keras.callbacks.Callback):
    """Writes `RUN/checkpoint.npz` after every epoch: the model, its
    optimizer, where training stands (`epoch`, `step`) and the state of
    `parts` (callbacks with `get_state` / `set_state`). Put it after them."""

    def __init__(self, run, parts=()):
        super().__init__()
        self.run = run
        self.parts = list(parts)

    def on_epoch_end(self, epoch, logs=None):
        self.save(self.model, epoch + 1, 0)

    def save(self, model, epoch, step):
        """Writes the checkpoint of `step` steps into epoch `epoch`."""
        meta, arrays = {"epoch": epoch, "step": step}, {}
        for part in self.parts:
            part_meta, part_arrays = part.get_state()
            meta.update(part_meta)
            arrays.update(part_arrays)
        save_checkpoint(self.run, model, meta, arrays)

    def restore(self, meta, arrays):
        """Gives each part its state from a checkpoint's `meta` and arrays."""
        for part in self.parts:
            part.set_state(meta, arrays)
