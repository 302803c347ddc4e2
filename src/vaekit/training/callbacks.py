"""The Keras callback of a training run: checkpoints, history, early
stopping, divergence, signals, posterior-collapse diagnostics and a log line
per epoch."""

import csv
import io
import math
import sys
import time

import keras
import numpy as np

from vaekit import io as files
from vaekit import runs
from vaekit.evaluation.likelihood import active_units
from vaekit.training.checkpoint import save_checkpoint

__all__ = [
    "COLLAPSE_EPOCHS",
    "COLLAPSE_KL",
    "DIAGNOSTIC_EXAMPLES",
    "HISTORY_KEYS",
    "TrainingSupervisor",
    "latent_diagnostics",
]

HISTORY_KEYS = (
    "loss",
    "reconstruction",
    "kl",
    "val_loss",
    "val_reconstruction",
    "val_kl",
)
COLLAPSE_EPOCHS = 3  # consecutive collapsed epochs before the warning
DIAGNOSTIC_EXAMPLES = 2000  # at most, of the training data, for the diagnostics
COLLAPSE_KL = 0.1  # nats: a unit whose KL stays below this carries ~no information


def latent_diagnostics(model, x, batch_size=500):
    """Posterior-collapse diagnostics of `model` on the examples `x`.

    Runs the encoder in inference mode (`predict`: no sampling, no dropout,
    so no random stream moves).

    Args:
        model: A `vaekit.VAE`.
        x: numpy array `(n, *model.data_shape)`, or `(x, y)` with the
            labels of a conditional model.
        batch_size: Examples per encoder pass.

    Returns:
        `(unit_kl, active)`: the mean over `x` of each latent unit's
        `KL(q(z_j|x) || N(0, 1))` in nats, a float64 array of shape
        `(latent_dim,)` that sums to the mean KL, and the number of active
        units (`vaekit.evaluation.likelihood.active_units`).
    """
    x, y = x if isinstance(x, tuple) else (x, None)

    def inputs(rows):
        return x[rows] if y is None else [x[rows], y[rows].reshape(-1, 1)]

    if keras.distribution.distribution() is None:
        z_mean, z_log_var = model.encoder.predict(
            inputs(slice(None)), batch_size=batch_size, verbose=0
        )
    else:
        # Under --distribute, `predict` splits each batch over the devices (a
        # ragged one does not split); a plain call uses the replicated weights.
        parts = [
            model.encoder(inputs(slice(i, i + batch_size)), training=False)
            for i in range(0, len(x), batch_size)
        ]
        z_mean, z_log_var = (
            np.concatenate([keras.ops.convert_to_numpy(p[j]) for p in parts])
            for j in (0, 1)
        )
    z_mean = np.asarray(z_mean, dtype=np.float64)
    # q(z|x) as the model samples it: epsilon_std scales the std.
    q_log_var = np.asarray(z_log_var, np.float64) + 2.0 * math.log(model.epsilon_std)
    unit_kl = -0.5 * (1.0 + q_log_var - z_mean**2 - np.exp(q_log_var))
    return unit_kl.mean(axis=0), active_units(z_mean)


def _history_fields(rows):
    """The CSV columns of `rows`: epoch, the metrics, seconds, then the
    diagnostics (active units, kl_0, kl_1, ...) when recorded."""
    fields = ["epoch", *HISTORY_KEYS, "seconds"]
    if any("active_units" in row for row in rows):
        fields.append("active_units")
    units = max((len(row.get("unit_kl", ())) for row in rows), default=0)
    return fields + [f"kl_{j}" for j in range(units)]


def _csv_row(row):
    """A history row as CSV values: `unit_kl` spread over kl_0, kl_1, ..."""
    values = {k: v for k, v in row.items() if k != "unit_kl"}
    values.update({f"kl_{j}": v for j, v in enumerate(row.get("unit_kl", ()))})
    return values


def _history_csv(rows):
    """CSV text of per-epoch rows (dicts)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_history_fields(rows))
    writer.writeheader()
    for row in map(_csv_row, rows):
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
    - With `diagnostics` (a fixed subset of the training data), each row
      also holds the KL of each latent unit and the number of active units
      (`latent_diagnostics`), and once per run, after the KL warm-up and not
      in the first epoch, a collapse (every unit's KL below `COLLAPSE_KL`)
      prints one `vaekit: warning:` line to stderr saying what to try.

    Args:
        run: The run folder.
        batches: The `TrainingBatches` that `fit` reads.
        steps: Steps per full epoch.
        epochs: Epochs of the whole run.
        early_stopping: Patience in epochs without a better `val_loss`
            (0: never stop early).
        meta: The `meta` of the checkpoint to continue from (`{}`: a new run).
        best_weights: The best weights of that checkpoint, or None.
        signals: A `vaekit.training.checkpoint.SignalGuard` (default: none).
        log: Print one line per epoch to stdout.
        diagnostics: Training examples for the per-unit KL and active units
            of each epoch (the same ones every epoch), or None: none.
        warmup_epochs: Epochs of KL warm-up, during which a collapse is not
            reported.
        diagnostics_batch: Examples per encoder pass over `diagnostics` (with
            `--distribute`, a multiple of the devices, as `len(diagnostics)`).
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
        diagnostics=None,
        warmup_epochs=0,
        diagnostics_batch=500,
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
        self.diagnostics = diagnostics
        self.warmup_epochs = warmup_epochs
        self.diagnostics_batch = diagnostics_batch
        self.collapse_warned = meta.get("collapse_warned", False)
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
            "collapse_warned": self.collapse_warned,
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
        warning = None
        if self.diagnostics is not None and len(self.diagnostics):
            unit_kl, active = latent_diagnostics(
                self.model, self.diagnostics, self.diagnostics_batch
            )
            row["active_units"] = active
            row["unit_kl"] = [float(v) for v in unit_kl]
        self.rows.append(row)
        if self.diagnostics is not None and len(self.diagnostics):
            warning = self._collapse(epoch, unit_kl, active)
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
        if warning:
            print(f"vaekit: warning: {warning}", file=sys.stderr, flush=True)

    def _collapse(self, epoch, unit_kl, active):
        """The collapse warning of `epoch`, once per run (the checkpoint
        keeps the flag), or None: every unit below `COLLAPSE_KL` in each of
        the last `COLLAPSE_EPOCHS` epochs after the warm-up (a transient dip
        early in training is not a collapse), or in the run's last epoch."""
        first = max(1, self.warmup_epochs)  # epochs (1-based) up to it: too early
        collapsed = 0
        for row in reversed(self.rows):
            kl = row.get("unit_kl")
            if row["epoch"] <= first or kl is None or max(kl) >= COLLAPSE_KL:
                break
            collapsed += 1
        if self.collapse_warned or not collapsed:
            return None
        if collapsed < COLLAPSE_EPOCHS and epoch + 1 < self.epochs:
            return None
        self.collapse_warned = True
        model = self.model
        tries = []
        if model.free_bits < 0.5:
            tries.append(
                "--free-bits 0.5" + (" --iw-samples 1" if model.iw_samples > 1 else "")
            )
        if model.beta > 0:
            tries.append(f"a lower --beta (now {model.beta:g})")
        if model.likelihood == "gaussian" and model.decoder_std == "learned":
            tries.append("a fixed --decoder-std (e.g. 0.1) for gaussian data")
        tries.append(f"--kl-warmup-epochs {max(10, 2 * self.warmup_epochs)}")
        return (
            f"posterior collapse: after epoch {epoch + 1} every latent unit's KL is "
            f"below {COLLAPSE_KL:g} nats (largest {float(np.max(unit_kl)):.3g}; "
            f"{active} of {len(unit_kl)} units active), so the decoder ignores z. "
            f"Try {', '.join(tries)}"
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
