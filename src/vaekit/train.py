"""`train(config)`: data -> model -> fit -> a run folder.

A run folder holds `model.keras`, `config.toml` (the complete config that
reproduces the run), `history.csv` (one row per epoch), `metrics.json` (the
held-out evaluation at the end) and `plots/`.
"""

import csv
import io
import json
import math
import os
import shutil
import signal
import threading
import time

import numpy as np

from vaekit import VaekitError, files
from vaekit import config as config_lib
from vaekit import data as data_lib

HISTORY_KEYS = (
    "loss",
    "reconstruction",
    "kl",
    "val_loss",
    "val_reconstruction",
    "val_kl",
)
EVAL_SEED = 0  # one fixed binarization and importance-sample draw for evaluation


def prepare(dataset, config):
    """Scales, checks, splits and (statically) binarizes a dataset for
    training. Returns `(x_train, (x_val, y_val), (x_eval, y_eval, split))`
    where the evaluation set is the set's own test split if it has one,
    else the validation split."""
    x, y = dataset.x_train, dataset.y_train
    data_lib.check_for_likelihood(x, config.likelihood, dataset.name)
    (x_train, _), (x_val, y_val) = data_lib.train_validation_split(
        x, y, config.validation_split, config.seed
    )
    if len(x_train) < config.batch_size:
        raise VaekitError(
            f"batch size {config.batch_size} is larger than the {len(x_train)} training "
            "examples; lower --batch-size"
        )
    if config.binarize == "static":
        x_train = data_lib.binarize(x_train, config.seed)
    if config.binarize != "none" and len(x_val):
        x_val = data_lib.binarize(x_val, EVAL_SEED)
    if dataset.x_test is not None:
        x_eval, y_eval, split = dataset.x_test, dataset.y_test, "test"
        data_lib.check_for_likelihood(
            x_eval, config.likelihood, f"{dataset.name} (test)"
        )
        if config.binarize != "none":
            x_eval = data_lib.binarize(x_eval, EVAL_SEED)
    else:
        x_eval, y_eval, split = x_val, y_val, "validation"
    return x_train, (x_val, y_val), (x_eval, y_eval, split)


def build_model(config, data_shape, steps_per_epoch=1):
    """The VAE a config describes, compiled."""

    from vaekit.models import VAE, build_decoder, build_encoder

    try:
        encoder = build_encoder(
            data_shape,
            config.hidden_dims,
            config.latent_dim,
            activation=config.activation,
            architecture=config.architecture,
            seed=config.seed,
            dropout=config.dropout,
        )
        decoder = build_decoder(
            data_shape,
            config.hidden_dims,
            config.latent_dim,
            activation=config.activation,
            architecture=config.architecture,
            seed=config.seed + 1000,
            dropout=config.dropout,
        )
    except ValueError as exc:
        raise VaekitError(
            f"cannot build the model for data of shape {data_shape}: {exc}"
        ) from None
    model = VAE(
        encoder,
        decoder,
        likelihood=config.likelihood,
        beta=config.beta,
        epsilon_std=config.epsilon_std,
        decoder_std=config.decoder_std,
        iw_samples=config.iw_samples,
        kl_warmup_steps=config.kl_warmup_epochs * steps_per_epoch,
        seed=config.seed,
    )
    model.compile(optimizer=make_optimizer(config, steps_per_epoch))
    # Built now, so that every checkpoint (the first one too) holds the
    # optimizer's state.
    model.optimizer.build(model.trainable_variables)
    return model


def distribute(batch_size):
    """Data-parallel training with Keras' distribution API: variables are
    replicated and every batch is split over all JAX devices (GPUs, TPUs, or
    CPU devices). On several hosts, `keras.distribution.initialize()` reads
    the `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `..._NUM_PROCESSES` and
    `..._PROCESS_ID` variables set by the launcher.

    Returns:
        The number of devices.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise VaekitError("--distribute needs the jax backend")
    if os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    if batch_size % len(devices):
        raise VaekitError(
            f"--distribute splits each batch over {len(devices)} devices: choose a "
            f"--batch-size divisible by {len(devices)} (got {batch_size})"
        )
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices)
    )
    return len(devices)


def make_optimizer(config, steps_per_epoch=1):
    """The optimizer of a config. `lr_schedule="cosine"` decays the learning
    rate to 0 over `epochs * steps_per_epoch` steps (a function of the step
    count alone, so a resumed run follows the same schedule)."""
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=config.epochs * steps_per_epoch
        )
    kwargs = {"learning_rate": learning_rate}
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    return classes[config.optimizer](**kwargs)


def history_csv(rows):
    """CSV text of per-epoch rows (dicts)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["epoch", *HISTORY_KEYS, "seconds"])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in writer.fieldnames})
    return out.getvalue()


CHECKPOINT = "checkpoint.npz"


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training; a checkpoint was written."""

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


def save_checkpoint(run, model, meta, best_weights=None):
    """Writes `RUN/checkpoint.npz` atomically: every model variable (weights
    and the sampling layer's RNG state), every optimizer variable (moments,
    iteration count), the best weights kept for early stopping, and `meta`
    (epoch, step, history rows, early-stopping state) as JSON."""
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
    with files.atomic_path(os.path.join(run, CHECKPOINT)) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_checkpoint(run, model):
    """Restores a checkpoint into `model` (compiled, same config). Returns
    `(meta, best_weights)`."""
    path = os.path.join(run, CHECKPOINT)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        meta = json.loads(arrays["meta"].tobytes().decode())
    except FileNotFoundError:
        raise VaekitError(f"{run!r} holds no {CHECKPOINT} to resume from") from None
    except Exception as exc:
        raise VaekitError(f"checkpoint {path!r} is corrupt ({exc})") from None
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = list(model.variables)
    opt_variables = list(model.optimizer.variables)
    if meta.get("n_model") != len(variables) or meta.get("n_optimizer") != len(
        opt_variables
    ):
        raise VaekitError(
            f"checkpoint {path!r} does not match the model of {run!r}/config.toml"
        )
    for prefix, targets in (("model", variables), ("optimizer", opt_variables)):
        for i, var in enumerate(targets):
            value = arrays[f"{prefix}_{i}"]
            if tuple(value.shape) != tuple(var.shape):
                raise VaekitError(
                    f"checkpoint {path!r} does not match the model of {run!r}/config.toml"
                )
            var.assign(value)
    best = None
    if "best_0" in arrays:
        best = [arrays[f"best_{i}"] for i in range(len(model.trainable_variables))]
    return meta, best


class _Supervisor:
    """Keras callback factory: history rows, per-epoch checkpoints, early
    stopping with the best weights, divergence and signal handling."""

    def __init__(self, run, config, batches, steps, meta, best_weights):
        self.run = run
        self.steps = steps
        self.config = config
        self.batches = batches
        self.rows = list(meta.get("rows", []))
        self.best = meta.get("best", math.inf)
        self.best_epoch = meta.get("best_epoch")
        self.wait = meta.get("wait", 0)
        self.best_weights = best_weights
        self.skip = meta.get("step", 0)
        self.epoch = meta.get("epoch", 0)
        self.step = self.skip
        self.signum = None
        self.diverged = None
        self.early_stopped = meta.get("early_stopped", False)

    def meta(self, epoch, step):
        return {
            "epoch": epoch,
            "step": step,
            "rows": self.rows,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "early_stopped": self.early_stopped,
        }

    def save(self, model, epoch, step):
        save_checkpoint(self.run, model, self.meta(epoch, step), self.best_weights)

    def on_signal(self, signum, frame):
        if self.signum is None:
            self.signum = signum

    def callback(self):
        import keras

        sup = self

        class Supervise(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                sup.epoch = epoch
                sup.step = sup.skip
                sup.batches.set_epoch(epoch, skip=sup.skip)
                sup.skip = 0
                sup.start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                sup.step += 1
                if sup.signum is not None:
                    self._model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                if sup.signum is not None and sup.step < sup.steps:
                    return  # interrupted mid-epoch: saved by train() at this step
                logs = logs or {}
                if not all(math.isfinite(float(v)) for v in logs.values()):
                    sup.diverged = epoch
                    self.model.stop_training = True
                    return
                row = {
                    "epoch": epoch + 1,
                    "seconds": round(time.perf_counter() - sup.start, 3),
                }
                row.update({k: float(logs[k]) for k in HISTORY_KEYS if k in logs})
                sup.rows.append(row)
                if sup.config.early_stopping and "val_loss" in logs:
                    if logs["val_loss"] < sup.best:
                        sup.best, sup.best_epoch, sup.wait = (
                            float(logs["val_loss"]),
                            epoch + 1,
                            0,
                        )
                        sup.best_weights = [
                            np.asarray(v) for v in self.model.trainable_variables
                        ]
                    else:
                        sup.wait += 1
                        if sup.wait >= sup.config.early_stopping:
                            sup.early_stopped = True
                            self.model.stop_training = True
                sup.save(self.model, epoch + 1, 0)
                files.write_text(
                    os.path.join(sup.run, "history.csv"), history_csv(sup.rows)
                )

        return Supervise()


def make_run_dir(output, overwrite=False):
    """Creates the run folder. An existing non-empty folder is refused
    unless `overwrite`; then it is emptied only if it is a vaekit run folder
    (holds a config.toml)."""
    if output is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output = os.path.join("runs", stamp)
        suffix = 1
        while os.path.exists(output):
            output = os.path.join("runs", f"{stamp}-{suffix}")
            suffix += 1
    if os.path.exists(output) and not os.path.isdir(output):
        raise VaekitError(f"output {output!r} exists and is not a folder")
    if os.path.isdir(output) and os.listdir(output):
        if not overwrite:
            raise VaekitError(
                f"run folder {output!r} already exists: choose another --output, pass "
                "--overwrite to replace it, or --resume to continue it"
            )
        if not os.path.isfile(os.path.join(output, "config.toml")):
            raise VaekitError(
                f"--overwrite refused: {output!r} is not a vaekit run folder (no "
                "config.toml), and vaekit does not delete other folders"
            )
        shutil.rmtree(output)
    os.makedirs(output, exist_ok=True)
    return output


def train(
    config, output=None, overwrite=False, verbose="auto", dataset=None, resume=None
):
    """Trains a VAE as `config` says and writes its run folder.

    Every epoch ends with an atomic `checkpoint.npz`; SIGINT/SIGTERM stop at
    the next step boundary, save a checkpoint of that step and raise
    `TrainingInterrupted`; `resume=RUN` continues from the checkpoint and
    ends with the same weights as an uninterrupted run. A NaN/Inf loss
    restores the last good checkpoint into `model.keras` and raises
    `VaekitError`.

    Args:
        config: A `vaekit.config.Config` (with `resume`: the run's own
            config, possibly with more `epochs`).
        output: The run folder (default `runs/<timestamp>`).
        overwrite: Replace an existing run folder.
        verbose: Keras' `fit` verbosity.
        dataset: An already loaded `vaekit.data.Dataset` (default: load
            `config.data`).
        resume: A run folder to continue.

    Returns:
        The path of the run folder.

    Raises:
        VaekitError: for bad data, a bad config, an existing folder or a
            diverged run.
        TrainingInterrupted: on SIGINT/SIGTERM.
    """
    if dataset is None:
        dataset = data_lib.load(config.data, config.label_column)
    x_train, (x_val, y_val), (x_eval, y_eval, eval_split) = prepare(dataset, config)
    steps = math.ceil(len(x_train) / config.batch_size)
    if config.distribute:
        distribute(config.batch_size)
    model = build_model(config, dataset.shape, steps)
    meta, best_weights = {}, None
    if resume is not None:
        run = resume
        meta, best_weights = load_checkpoint(run, model)
    else:
        run = make_run_dir(output, overwrite)
    files.write_text(os.path.join(run, "config.toml"), config_lib.to_toml(config))
    batches = data_lib.TrainingBatches(
        x_train,
        config.batch_size,
        "dynamic" if config.binarize == "dynamic" else "none",
        seed=config.seed,
    )
    sup = _Supervisor(run, config, batches, steps, meta, best_weights)
    start_epoch = meta.get("epoch", 0)
    previous = _install_handlers(sup.on_signal)
    try:
        if resume is None:
            sup.save(model, 0, 0)
        for first, last in _phases(start_epoch, sup.skip, config.epochs):
            if sup.early_stopped or sup.signum is not None or sup.diverged is not None:
                break
            batches.set_epoch(first, skip=sup.skip)
            model.fit(
                data_lib.as_py_dataset(batches),
                initial_epoch=first,
                epochs=last,
                validation_data=(x_val,) if len(x_val) else None,
                callbacks=[sup.callback()],
                verbose=verbose,
                # TrainingBatches shuffles by (seed, epoch); Keras' own batch
                # shuffle would draw from Python's global RNG.
                shuffle=False,
            )
        if sup.signum is not None:
            _install_handlers(lambda *a: None)  # a second Ctrl-C cannot cut the save
            epoch, step = sup.epoch, sup.step
            if step >= steps:  # the epoch completed and on_epoch_end saved it
                epoch, step = epoch + 1, 0
            else:
                sup.save(model, epoch, step)
            raise TrainingInterrupted(sup.signum, run, epoch, step)
        if sup.diverged is not None:
            meta, _ = load_checkpoint(run, model)
            files.save_model(model, os.path.join(run, "model.keras"))
            raise VaekitError(
                f"training diverged: the loss became NaN or infinite in epoch "
                f"{sup.diverged + 1}; the last good weights (epoch {meta['epoch']}) "
                f"are in {run}/model.keras. Try a lower --learning-rate (now "
                f"{config.learning_rate:g}) or --clipnorm 1.0"
            )
        # Training is complete and checkpointed: from here a signal stops at
        # once, and a resume redoes only the final save and evaluation.
        _install_handlers(_raise_stop)
        if sup.best_weights is not None:
            for var, value in zip(
                model.trainable_variables, sup.best_weights, strict=True
            ):
                var.assign(value)
        files.save_model(model, os.path.join(run, "model.keras"))
        finish(run, model, config, x_eval, y_eval, eval_split)
    except _Stop as stop:
        raise TrainingInterrupted(stop.signum, run, config.epochs, 0) from None
    finally:
        _install_handlers(previous)
    return run


class _Stop(Exception):
    def __init__(self, signum):
        self.signum = signum


def _raise_stop(signum, frame):
    raise _Stop(signum)


def _phases(start_epoch, skip, epochs):
    """`fit` calls as `(initial_epoch, epochs)`: the rest of an interrupted
    epoch alone (so its batches match), then the remaining epochs."""
    if start_epoch >= epochs:
        return []
    if skip:
        return [(start_epoch, start_epoch + 1), (start_epoch + 1, epochs)]
    return [(start_epoch, epochs)]


def _install_handlers(handler):
    """Sets `handler` for SIGINT and SIGTERM (main thread only); returns the
    previous handlers (or `handler` itself, to restore a dict)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if isinstance(handler, dict):
        for signum, old in handler.items():
            signal.signal(signum, old)
        return None
    if handler is None:
        return None
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def finish(run, model, config, x_eval, y_eval, eval_split):
    """Writes `metrics.json` and the plots of a trained model."""
    from vaekit.evaluate import evaluate

    metrics = {}
    if len(x_eval):
        metrics = evaluate(
            model, x_eval, iw_samples=config.eval_iw_samples, seed=EVAL_SEED
        )
        metrics.update(split=eval_split, binarize=config.binarize, data=config.data)
    files.write_json(os.path.join(run, "metrics.json"), metrics)
    write_plots(run, model, x_eval, y_eval)
    return metrics


def write_plots(run, model, x, y):
    """Draws every picture that fits the data into `RUN/plots/` (training
    curves, latent scatter, manifold or traversal, samples, reconstructions,
    interpolation), then writes `RUN/report.html`."""
    from vaekit import plots, report

    plots.write_run_pictures(run, model, x, y)
    report.write_report(run)


def summarize(metrics):
    """One human line of a metrics dict."""
    if not metrics:
        return "no held-out data to evaluate"
    return (
        f"{metrics.get('split', 'held-out')} ELBO {metrics['elbo']:.2f}, "
        f"log p(x) {metrics['log_likelihood']:.2f} +- {metrics['log_likelihood_stderr']:.2f} "
        f"nats (k={metrics['iw_samples']}, n={metrics['n']}), "
        f"active units {metrics['active_units']}"
    )


__all__ = [
    "TrainingInterrupted",
    "build_model",
    "load_checkpoint",
    "prepare",
    "save_checkpoint",
    "train",
]
