"""`train(config)`: setup -> fit -> finish, and a run folder with its
metrics.

The run folder (see `vaekit.runs`) holds the config that reproduces the run,
one history row per epoch, a checkpoint after every epoch (see
`vaekit.training.checkpoint`), the trained model, the held-out metrics, the
pictures, the report and the training split's anomaly scores.
"""

import contextlib
import logging
import os
import sys
import time

import keras
import numpy as np

from vaekit import data as data_lib
from vaekit import io, runs
from vaekit.errors import RunFolderError, TrainingDiverged
from vaekit.evaluation import evaluate, scores_of
from vaekit.model import load_model
from vaekit.training import callbacks as cbs
from vaekit.training import tracking
from vaekit.training.checkpoint import load_checkpoint
from vaekit.training.setup import Launch, setup
from vaekit.training.signals import SignalGuard, Stop, TrainingInterrupted
from vaekit.viz import write_report, write_run_pictures

__all__ = ["TRAIN_SCORES_IW_SAMPLES", "fit", "finish", "summarize", "train"]

logger = logging.getLogger("vaekit")

TRAIN_SCORES_IW_SAMPLES = 100  # at most, for the stored training scores
# Rows of the training split scored for them: a seeded sample of larger data
# (quantiles for a threshold need no more, and the scores of 600,000 rows
# would take longer than their training).
TRAIN_SCORES_MAX_ROWS = 20_000


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
    mlflow=None,
):
    """Trains a VAE as `config` says and writes its run folder.

    Every epoch ends with an atomic checkpoint; SIGINT/SIGTERM stop at the
    next step boundary, save a checkpoint of that step and raise
    `TrainingInterrupted`; `resume=RUN` continues from the checkpoint and
    ends with the same weights as an uninterrupted run. A NaN/Inf loss
    restores the last good checkpoint into the run's model file and raises
    `TrainingDiverged`.

    Args:
        config: A `vaekit.config.Config` (with `resume`: the run's own
            config, possibly with more `epochs`).
        output: The run folder (default `runs/<timestamp>`), claimed before
            anything else is done.
        overwrite: Replace an existing run folder (only one vaekit made, and
            only its own files; see `vaekit.claims.claim`).
        verbose: Keras' `fit` verbosity; `"auto"`: a progress bar on a
            terminal, else Keras' one line per epoch.
        dataset: An already loaded `vaekit.data.Dataset`, a DataFrame or an
            array (default: load `config.data`).
        resume: A run folder to continue.
        coordinator, num_processes, process_id: With `config.distribute`,
            train as one of several processes (see
            `vaekit.training.distribution.distribute`). Only process 0
            writes the run folder; the others compute every step with it,
            write only to a temporary folder that they delete, and return
            `(None, {})`.
        mlflow: Log the run to MLflow (see `vaekit.training.tracking`): a
            tracking URI (`http://host:5000`, `sqlite:///path.db`), or True
            for a local store beside the run folder (`runs/mlflow.db`); a
            resumed run continues its MLflow run. None: no MLflow. (The
            `tensorboard` setting writes TensorBoard event files.)

    Returns:
        `(run, metrics)`: the path of the run folder and the held-out
        metrics written to it (see `vaekit.evaluate`; `{}` without held-out
        data).

    Raises:
        VaekitError: for bad data, a bad config or folder, or a diverged
            run (`TrainingDiverged`).
        TrainingInterrupted: on SIGINT/SIGTERM.
    """
    if dataset is not None and not isinstance(dataset, data_lib.Dataset):
        dataset = data_lib.load(
            dataset,
            config.label_column,
            config.columns,
            config.missing,
            **data_lib.table_options(config),
        )
    launch = Launch(coordinator, num_processes, process_id)
    session = setup(config, output, overwrite, resume, dataset, verbose, launch, mlflow)
    try:
        with SignalGuard() as signals:
            fit(session, signals)
            result = finish(session, signals)
    except BaseException as error:
        tracking.end(session.trackers, error)
        raise
    tracking.end(session.trackers)
    return result


def _phases(start_epoch, skip, epochs):
    """`fit` calls as `(initial_epoch, epochs)`: the rest of an interrupted
    epoch alone (so its batches match), then the remaining epochs."""
    if start_epoch >= epochs:
        return []
    if skip:
        return [(start_epoch, start_epoch + 1), (start_epoch + 1, epochs)]
    return [(start_epoch, epochs)]


def _fit_verbosity(verbose):
    """With "auto": Keras' progress bar on a terminal, else its one line
    per epoch (a log file, CI, nohup), where the bar's redraws would fill
    megabytes."""
    if verbose != "auto":
        return verbose
    stdout = sys.stdout
    if stdout is not None and hasattr(stdout, "isatty") and stdout.isatty():
        return 1
    return 2


def fit(session, signals):
    """Trains the session's model for the config's epochs, from where it
    starts, checkpointing every epoch.

    Raises:
        TrainingInterrupted: on a signal, after saving the step it stopped at.
        TrainingDiverged: on a NaN or infinite loss, after saving the last
            good weights as the run's model.
    """
    model, run = session.model, session.run
    if not session.resumed:
        session.checkpoint.save(model, 0, 0)
    epoch, skip = session.start
    verbose = 0 if session.scratch is not None else _fit_verbosity(session.verbose)
    try:
        for first, last in _phases(epoch, skip, session.config.epochs):
            if session.early_stopping is not None and session.early_stopping.stopped:
                break
            session.batches.set_epoch(first, skip=skip)
            model.fit(
                session.batches,
                initial_epoch=first,
                epochs=last,
                validation_data=session.validation,
                callbacks=[
                    cbs.EpochData(session.batches, skip),
                    *session.callbacks,
                    cbs.StopOnSignal(signals, session.steps, skip),
                ],
                verbose=verbose,
                shuffle=False,  # TrainingBatches shuffles by (seed, epoch)
            )
            skip = 0
    except cbs.Interrupted as stop:
        signals.hold()  # a second Ctrl-C cannot cut the save
        if stop.step:
            session.checkpoint.save(model, stop.epoch, stop.step)
        raise TrainingInterrupted(stop.signum, run, stop.epoch, stop.step) from None
    except cbs.Diverged as bad:
        meta, _ = load_checkpoint(run, model)
        _remove_results(run)  # of an earlier final phase: not this model's
        io.save_model(model, runs.path(run, runs.MODEL))
        raise TrainingDiverged(
            f"training diverged: the loss became NaN or infinite in epoch "
            f"{bad.epoch + 1}; the last good weights (epoch {meta['epoch']}) are in "
            f"{runs.path(run, runs.MODEL)}. Try a lower learning_rate (now "
            f"{session.config.learning_rate:g}) or clipnorm 1.0"
        ) from None


def finish(session, signals):
    """Saves the trained model (the best weights with early stopping), then
    writes the held-out metrics, the pictures, the training scores and the
    report. Returns `(run, metrics)`.

    What an earlier final phase of the run wrote is removed first, and the
    run stays marked `INCOMPLETE` until the last file is written: a final
    phase that fails leaves a run marked incomplete, never a new model
    beside the old pictures and scores (`vaekit train --resume` redoes it).
    """
    # Training is complete and checkpointed: from here a signal stops at
    # once, and a resume redoes only the final save and evaluation.
    signals.at_once()
    model, run, config = session.model, session.run, session.config
    phase = _Phases()
    try:
        _remove_results(run)
        if session.early_stopping is not None:
            session.early_stopping.restore_best(model)
        with phase("model", "saving the model to %s", runs.path(run, runs.MODEL)):
            io.save_model(model, runs.path(run, runs.MODEL))
        if config.distribute:
            # Evaluation and pictures run on process 0 alone, unsharded.
            keras.distribution.set_distribution(None)
            if session.scratch is not None:
                session.scratch.cleanup()
                return None, {}
            model = load_model(runs.path(run, runs.MODEL))
        with phase("evaluation"):  # _evaluate says what it evaluates
            metrics = _evaluate(session, model)
        with phase(
            "pictures", "drawing the pictures into %s", runs.path(run, runs.PLOTS)
        ):
            write_run_pictures(
                run,
                model,
                *session.splits.evaluation,
                label_names=session.splits.label_names,
            )
        with phase("training scores"):  # _write_train_scores says what it scores
            _write_train_scores(session, model)
        with contextlib.suppress(FileNotFoundError):
            os.remove(runs.path(run, runs.INCOMPLETE))
        with phase("report", "writing the report %s", runs.path(run, runs.REPORT)):
            write_report(run)
        if session.trackers:
            with phase("tracking", "logging the results to %s", _names(session)):
                tracking.log_final(session.trackers, run, metrics)
    except Stop as stop:
        raise TrainingInterrupted(stop.signum, run, config.epochs, 0) from None
    phase.done()
    return run, metrics


class _Phases:
    """Says (logs) each part of the final phase as it begins, and when all
    are done, how long each took: `with phase(name, text, *args): ...`."""

    def __init__(self):
        self.start = time.perf_counter()
        self.seconds = []

    @contextlib.contextmanager
    def __call__(self, name, text=None, *args):
        if text is not None:
            logger.info(text, *args)
        start = time.perf_counter()
        yield
        self.seconds.append((name, time.perf_counter() - start))

    def done(self):
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds)
        total = time.perf_counter() - self.start
        logger.info("final phase done in %.1f s: %s", total, parts)


def _names(session):
    """What the run's trackers are, for a log line."""
    kinds = {"MLflowLogger": "MLflow", "TensorBoardLog": "TensorBoard"}
    return " and ".join(
        kinds.get(type(t).__name__, "a tracker") for t in session.trackers
    )


def _remove_results(run):
    """Removes what a final phase writes besides the model (metrics,
    training scores, report, vaekit's own pictures), so that a final phase
    that fails cannot leave the old ones beside a new model. Files of
    others in `RUN/plots/` stay.

    Raises:
        RunFolderError: if `RUN/plots` is a link or not a folder (vaekit
            draws only into a folder of the run's own).
    """
    for name in (runs.METRICS, runs.TRAIN_SCORES, runs.REPORT):
        if runs.is_own(run, name, (name,)):
            os.remove(runs.path(run, name))
    plots = runs.path(run, runs.PLOTS)
    if os.path.islink(plots) or (os.path.lexists(plots) and not os.path.isdir(plots)):
        raise RunFolderError(
            f"{plots!r} is a link or a file, not a folder of the run's own, and "
            "vaekit draws only into its own folder: remove it, then resume"
        )
    if os.path.isdir(plots):
        for name in os.listdir(plots):
            if runs.is_own(plots, name, runs.OWN_PICTURES):
                os.remove(os.path.join(plots, name))


def _evaluate(session, model):
    """Writes and returns the held-out metrics (of the data's test split, or
    the validation split)."""
    config = session.config
    x_eval, y_eval = session.splits.evaluation
    metrics = {}
    if len(x_eval):
        logger.info(
            "evaluating on %d held-out examples (k=%d)",
            len(x_eval),
            config.eval_iw_samples,
        )
        metrics = evaluate(
            model,
            x_eval,
            iw_samples=config.eval_iw_samples,
            seed=data_lib.EVAL_SEED,
            condition=y_eval if model.conditional else None,
            binarize="none",  # binarized once already, with EVAL_SEED
        )
        metrics.update(
            split=session.splits.evaluation_split,
            binarize=config.binarize,
            data=config.data,
        )
    io.write_json(runs.path(session.run, runs.METRICS), metrics)
    return metrics


def _write_train_scores(session, model):
    """Stores the anomaly scores of the training split (see
    `vaekit.evaluation.scores_of`), binarized as scoring binarizes new data,
    so that a threshold can be set later without the training data: of
    every row, or of a seeded sample of `TRAIN_SCORES_MAX_ROWS` of larger
    data (`train_rows`: which)."""
    config = session.config
    x_train, y_train = session.splits.train
    y_train = y_train if model.conditional else None
    if len(x_train) > TRAIN_SCORES_MAX_ROWS:
        rng = np.random.default_rng([config.seed, 2])
        rows = np.sort(rng.choice(len(x_train), TRAIN_SCORES_MAX_ROWS, replace=False))
        x_train = (
            x_train.take(rows)
            if isinstance(x_train, data_lib.DiskArray)
            else x_train[rows]
        )
        y_train = None if y_train is None else y_train[rows]
    else:
        rows = np.arange(len(x_train))
    if config.binarize == "dynamic":
        x_train = data_lib.binarize(x_train, data_lib.EVAL_SEED)
    k = min(config.eval_iw_samples, TRAIN_SCORES_IW_SAMPLES)
    logger.info("scoring %d training examples (k=%d)", len(x_train), k)
    scores = scores_of(
        model, x_train, iw_samples=k, seed=data_lib.EVAL_SEED, condition=y_train
    )
    io.save_npz(
        runs.path(session.run, runs.TRAIN_SCORES),
        iw_samples=k,
        train_rows=rows,
        **scores,
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
