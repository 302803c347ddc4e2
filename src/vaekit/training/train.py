"""`train(config)`: data -> model -> fit -> a run folder and its metrics.

The run folder (see `vaekit.runs`) holds the config that reproduces the run,
one history row per epoch, a checkpoint after every epoch (see
`vaekit.training.checkpoint`), the trained model, the held-out metrics, the pictures,
the report and the training split's anomaly scores (see `vaekit.evaluation.scores`).
`vaekit.training.callbacks.TrainingSupervisor` does the per-epoch work inside `fit`.
"""

import math
import os
import sys
import tempfile

import keras
import numpy as np

from vaekit import VaekitError, runs
from vaekit import config as config_lib
from vaekit import data as data_lib
from vaekit import io as files
from vaekit.data.diskarray import DiskArray
from vaekit.evaluation.likelihood import evaluate
from vaekit.evaluation.scores import score
from vaekit.model.layers import DataTransform
from vaekit.model.vae import VAE, build_decoder, build_encoder, load_model
from vaekit.training.batches import TrainingBatches
from vaekit.training.callbacks import DIAGNOSTIC_EXAMPLES, TrainingSupervisor
from vaekit.training.checkpoint import (
    SignalGuard,
    Stop,
    TrainingInterrupted,
    load_checkpoint,
)
from vaekit.viz import report
from vaekit.viz.run_pictures import write_run_pictures

__all__ = [
    "EVAL_SEED",
    "TRAIN_SCORES_IW_SAMPLES",
    "TrainingInterrupted",
    "build_model",
    "distribute",
    "load_dataset",
    "make_optimizer",
    "prepare",
    "summarize",
    "train",
]

EVAL_SEED = 0  # one fixed binarization and importance-sample draw for evaluation
TRAIN_SCORES_IW_SAMPLES = 100  # at most, for the stored training scores
# Rows of the training split scored for them: a seeded sample of larger data
# (quantiles for a threshold need no more, and the scores of 600,000 rows
# would take longer than their training).
TRAIN_SCORES_MAX_ROWS = 20_000


def load_dataset(config):
    """The dataset of a config: `data`, with its `label_column`, `columns`
    and `missing` rule (see `vaekit.data.load`)."""
    return data_lib.load(
        config.data,
        config.label_column,
        columns=config.columns,
        missing=config.missing,
    )


def prepare(dataset, config):
    """Scales, checks, splits and (statically) binarizes a dataset for
    training. Returns `((x_train, y_train), (x_val, y_val), (x_eval, y_eval,
    split))` where the evaluation set is the set's own test split if it has
    one, else the validation split.

    Raises:
        VaekitError: if the data does not suit the likelihood, or a
            conditional run has no labels.
    """
    x, y = dataset.x_train, dataset.y_train
    if config.conditional and y is None:
        raise VaekitError(
            f"--conditional needs labels: data {dataset.name!r} has none (for a CSV "
            "file, name the column with --label-column)"
        )
    if getattr(dataset, "categories", None) and config.likelihood != "gaussian":
        raise VaekitError(
            f"{dataset.name}: text columns ({', '.join(dataset.categories)}) are "
            "categorical and need --likelihood gaussian (Gaussian numeric columns "
            "beside a categorical likelihood for each text column)"
        )
    data_lib.check_for_likelihood(x, config.likelihood, dataset.name)
    (x_train, y_train), (x_val, y_val) = data_lib.train_validation_split(
        x, y, config.validation_split, config.seed
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
    return (x_train, y_train), (x_val, y_val), (x_eval, y_eval, split)


def data_transform(dataset, x_train):
    """The `DataTransform` of a Gaussian model of `dataset`, adapted to the
    training split `x_train`: standardised numeric features, one-hot text
    columns, the column names and categories kept for CSV output."""
    columns = getattr(dataset, "columns", None)
    categories = getattr(dataset, "categories", None) or {}
    categorical, names = [], []
    if columns is not None:
        for index, column in enumerate(columns):
            if column in categories:
                categorical.append([index, len(categories[column])])
                names.append(list(categories[column]))
    transform = DataTransform(
        dataset.shape,
        categorical=categorical,
        column_names=None if columns is None else list(columns),
        category_names=names or None,
        name="transform",
    )
    transform.adapt(x_train)
    return transform


def condition_transform(y_train, label_names=None):
    """The `DataTransform` of a conditional model's labels: integer labels
    >= 0 are classes `0..max` (one-hot), other numbers one standardised
    numeric condition.

    Raises:
        VaekitError: for fewer than two classes.
    """
    y = np.asarray(y_train, dtype=np.float64).reshape(-1)
    if np.all(y == np.round(y)) and y.min() >= 0:
        classes = int(y.max()) + 1
        if label_names is not None:
            classes = max(classes, len(label_names))
        if classes < 2:
            raise VaekitError(
                "--conditional needs at least two classes of labels; the training "
                f"data has only label {int(y.max())}"
            )
        names = list(label_names) if label_names is not None else None
        if names is None:
            names = [str(i) for i in range(classes)]
        transform = DataTransform(
            (1,),
            categorical=[[0, classes]],
            category_names=[names],
            name="condition_transform",
        )
    else:
        transform = DataTransform((1,), name="condition_transform")
    transform.adapt(y.reshape(-1, 1))
    return transform


def build_model(config, data_shape, steps_per_epoch=1, transform=None, condition=None):
    """The VAE a config describes, compiled, its optimizer built (so that
    every checkpoint, the first one too, holds the optimizer's state).

    Args:
        config: A `vaekit.config.Config`.
        data_shape: The shape of one example.
        steps_per_epoch: Training steps per epoch (for schedules).
        transform: The adapted `DataTransform` of a Gaussian model (see
            `data_transform`), or None.
        condition: The adapted condition `DataTransform` of a conditional
            model (see `condition_transform`), or None.

    Raises:
        VaekitError: if the networks cannot be built for `data_shape`.
    """
    networks = {}
    output_shape = data_shape if transform is None else transform.model_shape
    decoder_condition = None
    if condition is not None:
        # The decoder's own copy, with the same statistics.
        decoder_condition = DataTransform.from_config(condition.get_config())
        decoder_condition.set_weights(condition.get_weights())
    for name, build, seed, shape, extra in (
        (
            "encoder",
            build_encoder,
            config.seed,
            data_shape,
            {"transform": transform, "condition": condition},
        ),
        (
            "decoder",
            build_decoder,
            config.seed + 1000,
            output_shape,
            {"condition": decoder_condition},
        ),
    ):
        try:
            networks[name] = build(
                shape,
                config.hidden_dims,
                config.latent_dim,
                activation=config.activation,
                architecture=config.architecture,
                seed=seed,
                dropout=config.dropout,
                **extra,
            )
        except ValueError as exc:
            raise VaekitError(
                f"cannot build the model for data of shape {data_shape}: {exc}"
            ) from None
    model = VAE(
        networks["encoder"],
        networks["decoder"],
        likelihood=config.likelihood,
        beta=config.beta,
        epsilon_std=config.epsilon_std,
        decoder_std=config.decoder_std,
        iw_samples=config.iw_samples,
        kl_warmup_steps=config.kl_warmup_epochs * steps_per_epoch,
        seed=config.seed,
        free_bits=config.free_bits,
    )
    model.compile(optimizer=make_optimizer(config, steps_per_epoch))
    model.optimizer.build(model.trainable_variables)
    return model


def distribute(coordinator=None, num_processes=None, process_id=None):
    """Data-parallel training with Keras' distribution API: variables are
    replicated and every batch is split over all JAX devices (GPUs, TPUs, or
    CPU devices), of one process or of several.

    With several processes (one per host, usually), every process calls
    this with the same `coordinator` (`HOST:PORT` of process 0) and
    `num_processes` and its own `process_id`, or with `None` for the
    `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `..._NUM_PROCESSES` and
    `..._PROCESS_ID` variables, and `keras.distribution.initialize()` joins
    them into one JAX cluster; CPU devices exchange gradients over gloo.

    Returns:
        `(devices, (process_index, process_count))`: the number of devices
        of all processes, and this process's place among them.

    Raises:
        VaekitError: if the backend is not JAX, or the process flags are
            incomplete.
    """
    if keras.backend.backend() != "jax":
        raise VaekitError("--distribute needs the jax backend")
    import jax

    given = (coordinator, num_processes, process_id)
    if coordinator or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        # jaxlib's CPU client has no cross-process collectives unless told
        # which library to use; gloo ships with jaxlib (GPUs use NCCL).
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize(coordinator, num_processes, process_id)
    elif any(value is not None for value in given):
        raise VaekitError(
            "--num-processes and --process-id need --coordinator HOST:PORT (or "
            "KERAS_DISTRIBUTION_JOB_ADDRESSES): the address of process 0"
        )
    devices = keras.distribution.list_devices()
    # Each process feeds its own rows of every global batch (TrainingBatches'
    # `process`): Keras' auto-sharding is for tf.data datasets.
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    )
    return len(devices), (jax.process_index(), jax.process_count())


def init_output_bias(model, x_train, eps=1e-3):
    """Sets the Bernoulli decoder's output bias to the logit of the training
    data's mean (clipped to `[eps, 1 - eps]`): at z's prior mean the model
    starts at the data's average instead of 0.5 everywhere, which saves the
    first epochs' work (`output_bias = "data-mean"`).

    The bias is per value for an MLP decoder and per channel for a conv one.
    """
    layer = model.decoder.get_layer("x_params")
    shape = tuple(layer.bias.shape)
    mean = np.zeros(model.data_shape)
    for start in range(0, len(x_train), 4096):  # a memory-mapped array too
        mean += np.asarray(x_train[start : start + 4096], np.float64).sum(axis=0)
    mean /= max(len(x_train), 1)
    if math.prod(shape) != mean.size:
        mean = mean.reshape(-1, shape[-1]).mean(axis=0)
    p = np.clip(mean, eps, 1 - eps).reshape(shape)
    layer.bias.assign(np.log(p / (1 - p)).astype(layer.bias.dtype))


def make_optimizer(config, steps_per_epoch=1):
    """The optimizer of a config. `lr_schedule="cosine"` decays the learning
    rate to 0 over `epochs * steps_per_epoch` steps, after a linear warm-up
    from 0 over the first `warmup_epochs` (a function of the step count
    alone, so a resumed run follows the same schedule)."""
    classes = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    learning_rate = config.learning_rate
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if warmup:
        # Linear from 0 to the learning rate over `warmup` steps, then a
        # cosine decay to 0 (alpha 0) or the constant rate (alpha 1).
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(total - warmup, 1),
            alpha=0.0 if config.lr_schedule == "cosine" else 1.0,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    elif config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=total
        )
    kwargs = {"learning_rate": learning_rate}
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    return classes[config.optimizer](**kwargs)


def _phases(start_epoch, skip, epochs):
    """`fit` calls as `(initial_epoch, epochs)`: the rest of an interrupted
    epoch alone (so its batches match), then the remaining epochs."""
    if start_epoch >= epochs:
        return []
    if skip:
        return [(start_epoch, start_epoch + 1), (start_epoch + 1, epochs)]
    return [(start_epoch, epochs)]


def _verbosity(verbose):
    """`(verbose for fit, print one line per epoch)`: with "auto", Keras'
    progress bar on a terminal, one plain line per epoch elsewhere (a log
    file, CI, nohup), where the bar's redraws would fill megabytes."""
    if verbose != "auto":
        return verbose, False
    stdout = sys.stdout
    if stdout is not None and hasattr(stdout, "isatty") and stdout.isatty():
        return 1, False
    return 0, True


def _diagnostic_subset(x_train, y_train, config, pad_to=None, process=(0, 1)):
    """The training examples of the per-epoch collapse diagnostics (see
    `TrainingSupervisor`): at most `DIAGNOSTIC_EXAMPLES`, the same ones every
    epoch and on resume, drawn from a numpy stream of their own (training's
    streams do not move), binarized once where training binarizes each
    epoch. With `--distribute` their number is a multiple of the devices
    (`pad_to`), so that every encoder batch splits evenly; with several
    processes there are none (each process would feed the whole array).
    Returns `x`, or `(x, y)` for a conditional model (`y_train` not None)."""
    if process[1] > 1:
        return None
    rng = np.random.default_rng([config.seed, 1])
    n = min(len(x_train), DIAGNOSTIC_EXAMPLES)
    if pad_to:
        n -= n % pad_to
    if n == 0:
        return None
    rows = np.sort(rng.choice(len(x_train), n, replace=False))
    x = x_train[rows]
    if config.binarize == "dynamic":
        x = data_lib.binarize(x, EVAL_SEED)
    return x if y_train is None else (x, y_train[rows])


def _batch_size(requested, n):
    """The batch size: at most the `n` training examples, as Keras' `fit`
    does (it says so, on one line)."""
    if requested <= n:
        return requested
    print(
        f"vaekit: batch size {requested} is larger than the {n} training "
        f"examples: each epoch is one batch of all {n}",
        file=sys.stderr,
        flush=True,
    )
    return n


def train(
    config,
    output=None,
    overwrite=False,
    verbose="auto",
    dataset=None,
    resume=None,
    coordinator=None,
    num_processes=None,
    process_id=None,
):
    """Trains a VAE as `config` says and writes its run folder.

    Every epoch ends with an atomic checkpoint; SIGINT/SIGTERM stop at the
    next step boundary, save a checkpoint of that step and raise
    `TrainingInterrupted`; `resume=RUN` continues from the checkpoint and
    ends with the same weights as an uninterrupted run. A NaN/Inf loss
    restores the last good checkpoint into the run's model file and raises
    `VaekitError`.

    Args:
        config: A `vaekit.config.Config` (with `resume`: the run's own
            config, possibly with more `epochs`).
        output: The run folder (default `runs/<timestamp>`).
        overwrite: Replace an existing run folder.
        verbose: Keras' `fit` verbosity; `"auto"`: a progress bar on a
            terminal, else one line per epoch.
        dataset: An already loaded `vaekit.data.Dataset` (default: load
            `config.data`).
        resume: A run folder to continue.
        coordinator, num_processes, process_id: With `config.distribute`,
            train as one of several processes (see `distribute`). These are
            launch parameters, not part of the run's config: the same run
            trains on one process too. Only process 0 writes the run
            folder; the others compute every step with it, write only to a
            temporary folder that they delete, and return `(None, {})`.

    Returns:
        `(run, metrics)`: the path of the run folder and the held-out
        metrics written to it (see `vaekit.evaluation.likelihood.evaluate`; `{}` without
        held-out data).

    Raises:
        VaekitError: for bad data, a bad config, an existing folder or a
            diverged run.
        TrainingInterrupted: on SIGINT/SIGTERM.
    """
    if dataset is None:
        dataset = load_dataset(config)
    (x_train, y_train), (x_val, y_val), (x_eval, y_eval, eval_split) = prepare(
        dataset, config
    )
    transform = condition = None
    if config.likelihood == "gaussian":
        transform = data_transform(dataset, x_train)
    if config.conditional:
        condition = condition_transform(y_train, getattr(dataset, "label_names", None))
    else:
        y_train = y_val = None
    batch_size = _batch_size(config.batch_size, len(x_train))
    steps = math.ceil(len(x_train) / batch_size)
    pad_to, process, scratch = None, (0, 1), None
    if config.distribute:
        # A batch that does not divide over the devices (the last, ragged one)
        # is padded with rows of weight 0: the loss is still its real rows'.
        pad_to, process = distribute(coordinator, num_processes, process_id)
    elif any(value is not None for value in (coordinator, num_processes, process_id)):
        raise VaekitError(
            "--coordinator, --num-processes, --process-id need --distribute"
        )
    model = build_model(config, dataset.shape, steps, transform, condition)
    if config.output_bias == "data-mean" and config.likelihood == "bernoulli":
        init_output_bias(model, x_train)
    meta, best_weights = {}, None
    if process[0]:
        # Not process 0: same steps, but the run folder is process 0's.
        scratch = tempfile.TemporaryDirectory(prefix="vaekit-process-")
    if resume is not None:
        run = resume if scratch is None else scratch.name
        meta, best_weights = load_checkpoint(resume, model)
    elif scratch is None:
        run = runs.make_run_dir(output, overwrite)
    else:
        run = scratch.name
    files.write_text(runs.path(run, runs.CONFIG), config_lib.to_toml(config))
    batches = TrainingBatches(
        x_train,
        batch_size,
        config.binarize,
        seed=config.seed,
        pad_to=pad_to,
        process=process,
        y=y_train,
    )
    validation = None
    if len(x_val):
        validation = TrainingBatches(
            x_val,
            min(batch_size, len(x_val)),
            pad_to=pad_to,
            process=process,
            shuffle=False,
            y=y_val,
        )
    fit_verbose, log = _verbosity(verbose if scratch is None else 0)
    with SignalGuard() as signals:
        supervisor = TrainingSupervisor(
            run,
            batches,
            steps,
            config.epochs,
            early_stopping=config.early_stopping,
            meta=meta,
            best_weights=best_weights,
            signals=signals,
            log=log,
            diagnostics=_diagnostic_subset(x_train, y_train, config, pad_to, process),
            warmup_epochs=config.kl_warmup_epochs,
            diagnostics_batch=(pad_to or 1) * max(1, 500 // (pad_to or 1)),
        )
        supervisor.set_model(model)
        try:
            if resume is None:
                supervisor.checkpoint(0, 0)
            for first, last in _phases(
                supervisor.epoch, supervisor.skip, config.epochs
            ):
                if supervisor.stopped:
                    break
                batches.set_epoch(first, skip=supervisor.skip)
                model.fit(
                    batches,
                    initial_epoch=first,
                    epochs=last,
                    validation_data=validation,
                    callbacks=[supervisor],
                    verbose=fit_verbose,
                    shuffle=False,  # TrainingBatches shuffles by (seed, epoch)
                )
            if signals.signum is not None:
                signals.hold()  # a second Ctrl-C cannot cut the save
                epoch, step = supervisor.checkpoint_interruption()
                raise TrainingInterrupted(signals.signum, run, epoch, step)
            if supervisor.diverged is not None:
                _diverged(run, model, config, supervisor.diverged)
            # Training is complete and checkpointed: from here a signal stops at
            # once, and a resume redoes only the final save and evaluation.
            signals.at_once()
            supervisor.restore_best()
            files.save_model(model, runs.path(run, runs.MODEL))
            if config.distribute:
                # Evaluation and pictures run on process 0 alone, unsharded.
                keras.distribution.set_distribution(None)
                if scratch is not None:
                    scratch.cleanup()
                    return None, {}
                model = load_model(runs.path(run, runs.MODEL))
            metrics = _finish(run, model, config, x_eval, y_eval, eval_split)
            _write_train_scores(run, model, config, x_train, y_train)
        except Stop as stop:
            raise TrainingInterrupted(stop.signum, run, config.epochs, 0) from None
    return run, metrics


def _diverged(run, model, config, epoch):
    """Saves the last good checkpoint's weights as the model; raises."""
    meta, _ = load_checkpoint(run, model)
    files.save_model(model, runs.path(run, runs.MODEL))
    raise VaekitError(
        f"training diverged: the loss became NaN or infinite in epoch {epoch + 1}; "
        f"the last good weights (epoch {meta['epoch']}) are in "
        f"{runs.path(run, runs.MODEL)}. Try a lower --learning-rate (now "
        f"{config.learning_rate:g}) or --clipnorm 1.0"
    )


def _finish(run, model, config, x_eval, y_eval, eval_split):
    """Writes the metrics, the pictures and the report of a trained model;
    returns the metrics."""
    metrics = {}
    if len(x_eval):
        metrics = evaluate(
            model,
            x_eval,
            iw_samples=config.eval_iw_samples,
            seed=EVAL_SEED,
            condition=y_eval if model.conditional else None,
        )
        metrics.update(split=eval_split, binarize=config.binarize, data=config.data)
    files.write_json(runs.path(run, runs.METRICS), metrics)
    write_run_pictures(run, model, x_eval, y_eval)
    report.write_report(run)
    return metrics


def _write_train_scores(run, model, config, x_train, y_train=None):
    """Stores the anomaly scores of the training split (see `vaekit.evaluation.scores`),
    binarized as `vaekit score` binarizes new data, so that a threshold can
    be set later without the training data: of every row, or of a seeded
    sample of `TRAIN_SCORES_MAX_ROWS` of larger data (`train_rows`: which)."""
    if len(x_train) > TRAIN_SCORES_MAX_ROWS:
        rng = np.random.default_rng([config.seed, 2])
        rows = np.sort(rng.choice(len(x_train), TRAIN_SCORES_MAX_ROWS, replace=False))
        x_train = (
            x_train.take(rows) if isinstance(x_train, DiskArray) else x_train[rows]
        )
        y_train = None if y_train is None else y_train[rows]
    else:
        rows = np.arange(len(x_train))
    if config.binarize == "dynamic":
        x_train = data_lib.binarize(x_train, EVAL_SEED)
    k = min(config.eval_iw_samples, TRAIN_SCORES_IW_SAMPLES)
    scores = score(model, x_train, iw_samples=k, seed=EVAL_SEED, condition=y_train)
    files.save_npz(
        runs.path(run, runs.TRAIN_SCORES), iw_samples=k, train_rows=rows, **scores
    )


def summarize(metrics):
    """One human line of a metrics dict."""
    if not metrics:
        return "no held-out data to evaluate"
    return (
        f"{metrics.get('split', 'held-out')} ELBO {metrics['elbo']:.2f}, "
        f"log p(x) {metrics['log_likelihood']:.2f} +- "
        f"{metrics['log_likelihood_stderr']:.2f} nats (k={metrics['iw_samples']}, "
        f"n={metrics['n']}), active units {metrics['active_units']}"
    )
