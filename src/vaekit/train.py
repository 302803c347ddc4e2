"""`train(config)`: data -> model -> fit -> a run folder.

A run folder holds `model.keras`, `config.toml` (the complete config that
reproduces the run), `history.csv` (one row per epoch), `metrics.json` (the
held-out evaluation at the end) and `plots/`.
"""

import csv
import io
import math
import os
import time

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
    import keras

    from vaekit.models import VAE, build_decoder, build_encoder

    keras.utils.set_random_seed(config.seed)
    try:
        encoder = build_encoder(
            data_shape,
            config.hidden_dims,
            config.latent_dim,
            activation=config.activation,
            architecture=config.architecture,
        )
        decoder = build_decoder(
            data_shape,
            config.hidden_dims,
            config.latent_dim,
            activation=config.activation,
            architecture=config.architecture,
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
    model.compile(optimizer=make_optimizer(config))
    return model


def make_optimizer(config):
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    kwargs = {"learning_rate": config.learning_rate}
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


def _history_callback(path, rows):
    import keras

    class HistoryCSV(keras.callbacks.Callback):
        """Appends one row per epoch (with its wall seconds) and rewrites
        `history.csv` atomically, so it is complete after every epoch."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            row = {
                "epoch": epoch + 1,
                "seconds": round(time.perf_counter() - self.start, 3),
            }
            row.update({k: float(logs[k]) for k in HISTORY_KEYS if k in logs})
            rows.append(row)
            files.write_text(path, history_csv(rows))

    return HistoryCSV()


def make_run_dir(output, overwrite=False):
    """Creates the run folder; refuses an existing non-empty one unless
    `overwrite`."""
    if output is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output = os.path.join("runs", stamp)
        suffix = 1
        while os.path.exists(output):
            output = os.path.join("runs", f"{stamp}-{suffix}")
            suffix += 1
    if os.path.exists(output) and not os.path.isdir(output):
        raise VaekitError(f"output {output!r} exists and is not a folder")
    if os.path.isdir(output) and os.listdir(output) and not overwrite:
        raise VaekitError(
            f"run folder {output!r} already exists: choose another --output, or pass "
            "--overwrite to replace it (or --resume to continue it)"
        )
    os.makedirs(output, exist_ok=True)
    return output


def train(config, output=None, overwrite=False, verbose="auto", dataset=None):
    """Trains a VAE as `config` says and writes its run folder.

    Args:
        config: A `vaekit.config.Config`.
        output: The run folder (default `runs/<timestamp>`).
        overwrite: Replace an existing run folder.
        verbose: Keras' `fit` verbosity.
        dataset: An already loaded `vaekit.data.Dataset` (default: load
            `config.data`).

    Returns:
        The path of the run folder.

    Raises:
        VaekitError: for bad data, a bad config or an existing folder.
    """
    if dataset is None:
        dataset = data_lib.load(config.data, config.label_column)
    x_train, (x_val, y_val), (x_eval, y_eval, eval_split) = prepare(dataset, config)
    run = make_run_dir(output, overwrite)
    files.write_text(os.path.join(run, "config.toml"), config_lib.to_toml(config))

    import keras

    steps = math.ceil(len(x_train) / config.batch_size)
    model = build_model(config, dataset.shape, steps)
    batches = data_lib.TrainingBatches(
        x_train,
        config.batch_size,
        "dynamic" if config.binarize == "dynamic" else "none",
        seed=config.seed,
    )
    rows = []
    callbacks = [
        _history_callback(os.path.join(run, "history.csv"), rows),
        keras.callbacks.TerminateOnNaN(),
    ]
    if config.early_stopping and len(x_val):
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=config.early_stopping,
                restore_best_weights=True,
                verbose=1,
            )
        )
    model.fit(
        data_lib.as_py_dataset(batches),
        epochs=config.epochs,
        validation_data=(x_val,) if len(x_val) else None,
        callbacks=callbacks,
        verbose=verbose,
    )
    files.save_model(model, os.path.join(run, "model.keras"))
    finish(run, model, config, x_eval, y_eval, eval_split)
    return run


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
    """Draws the run's figures into `RUN/plots/`."""
    from vaekit import plots

    history = os.path.join(run, "history.csv")
    if os.path.isfile(history) and plots.read_history(history):
        fig = plots.training_curves(history)
        files.save_figure(
            fig, os.path.join(run, "plots", "training_curves.png"), dpi=100
        )
        import matplotlib.pyplot as plt

        plt.close(fig)


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


def load_history(run):
    """Rows of a run's history.csv, or [] if there is none."""
    path = os.path.join(run, "history.csv")
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as handle:
        return [
            {k: (float(v) if v not in ("", None) else None) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]


__all__ = ["train", "prepare", "build_model"]
