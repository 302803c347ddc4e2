"""Setting up a training run: its folder, data, model, batches and
callbacks (`setup`), ready for `vaekit.training.train.fit`."""

import dataclasses
import logging
import math
import os
import tempfile
import warnings

import numpy as np

from vaekit import checks, claims, io, runs
from vaekit import data as data_lib
from vaekit.config import to_toml
from vaekit.errors import InvalidArgument, RunFolderError, VaekitWarning
from vaekit.evaluation.diagnostics import DIAGNOSTIC_EXAMPLES
from vaekit.training import callbacks as cbs
from vaekit.training import tracking
from vaekit.training.batches import TrainingBatches
from vaekit.training.build import build_model, check_model_memory, learning_rate
from vaekit.training.checkpoint import load_checkpoint
from vaekit.training.distribution import distribute

__all__ = ["INCOMPLETE_TEXT", "Launch", "Session", "setup"]

logger = logging.getLogger("vaekit")

# RUN/INCOMPLETE (see vaekit.runs.INCOMPLETE), from the start of training
# until the last file of its final phase is written.
INCOMPLETE_TEXT = (
    "vaekit train has not completed this run: it is training, or it was "
    "interrupted, diverged or failed, so the files beside this one may be "
    "missing or from different stages of the run (a model without its "
    "pictures or scores). `vaekit train --resume RUN` continues it from its "
    "checkpoint and completes it.\n"
)


@dataclasses.dataclass
class Launch:
    """Where this process stands in data-parallel training over several
    processes (see `vaekit.training.distribution.distribute`): launch
    parameters, not settings of the run, so that the same run trains on one
    process too."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None

    def given(self):
        return any(v is not None for v in dataclasses.astuple(self))

    def is_process_zero(self):
        """True unless this process is another than process 0 (which alone
        writes the run folder)."""
        index = self.process_id
        if index is None:
            index = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID")
        return index is None or int(index) == 0


@dataclasses.dataclass
class Session:
    """Everything a training run holds between `setup`, `fit` and `finish`."""

    config: object
    run: str
    model: object
    splits: object
    batches: object
    validation: object
    callbacks: list
    checkpoint: object
    early_stopping: object
    start: tuple  # (epoch, step) where training starts
    steps: int
    verbose: object
    scratch: object = None  # the temporary folder of a process other than 0
    resumed: bool = False
    # MLflow and TensorBoard loggers (vaekit.training.tracking), among
    # `callbacks` too: `finish` gives them the final metrics and files.
    trackers: list = dataclasses.field(default_factory=list)


def _run_folder(config, output, overwrite, resume, launch):
    """The run folder, claimed once the data is read and the model known to
    fit: `resume`, a new or replaced `output`, or, for a process other than
    0 of a data-parallel run, a temporary folder (its `scratch`)."""
    if launch.given() and not config.distribute:
        raise InvalidArgument(
            "coordinator, num_processes and process_id need distribute"
        )
    if not launch.is_process_zero() and config.distribute:
        scratch = tempfile.TemporaryDirectory(prefix="vaekit-process-")
        return scratch.name, scratch
    if resume is not None:
        return os.fspath(resume), None
    return claims.claim(output, overwrite), None


def _batch_size(requested, n):
    """The batch size: at most the `n` training examples (it warns)."""
    if requested <= n:
        return requested
    warnings.warn(
        f"batch size {requested} is larger than the {n} training examples: each "
        f"epoch is one batch of all {n}",
        VaekitWarning,
        stacklevel=3,
    )
    return n


def _diagnostic_subset(x_train, y_train, config, pad_to=None, process=(0, 1)):
    """The training examples of the per-epoch latent diagnostics: at most
    `DIAGNOSTIC_EXAMPLES`, the same ones every epoch and on resume, drawn
    from a numpy stream of their own (training's streams do not move),
    binarized once where training binarizes each epoch. Under data-parallel
    training their number is a multiple of the devices (`pad_to`), so that
    every encoder batch splits evenly; with several processes there are none
    (each process would feed the whole array). Returns `x`, `(x, y)` for a
    conditional model, or None."""
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
        x = data_lib.binarize(x, data_lib.EVAL_SEED)
    return x if y_train is None else (x, y_train[rows])


def _callbacks(config, run, model, splits, steps, pad_to, process):
    """The training callbacks (see `vaekit.training.callbacks`), in order,
    and the checkpoint and early stopping among them."""
    x_train, y_train = splits.train
    y_train = y_train if config.conditional else None
    parts = []
    subset = _diagnostic_subset(x_train, y_train, config, pad_to, process)
    diagnostics = None
    if subset is not None and len(subset):
        diagnostics = cbs.LatentDiagnostics(
            subset,
            config.epochs,
            config.kl_warmup_epochs,
            batch_size=(pad_to or 1) * max(1, 500 // (pad_to or 1)),
        )
        parts.append(diagnostics)
    early = cbs.EarlyStopping(config.early_stopping) if config.early_stopping else None
    history = cbs.HistoryFile(run, extras=[diagnostics] if diagnostics else [])
    parts += [p for p in (early, history) if p is not None]
    checkpoint = cbs.Checkpoint(run, parts)
    ordered = [cbs.StopOnNaN(), *parts, checkpoint]
    return ordered, checkpoint, early


def setup(
    config,
    output=None,
    overwrite=False,
    resume=None,
    dataset=None,
    verbose="auto",
    launch=None,
    mlflow=None,
):
    """Loads and splits the data, checks that the model fits in memory,
    claims the run folder, builds the model and its callbacks, starts the
    trackers (`mlflow`: see `vaekit.training.tracking.prepare`), and
    restores the checkpoint of a resumed run.

    Raises:
        VaekitError: for a bad folder, bad data, a model that cannot be
            built for it, or a tracker that cannot be used.
    """
    launch = launch or Launch()
    # The data is read, and the model's size checked against memory, before
    # the folder is touched: a refused start leaves it as it was. An output
    # that would be refused is refused first, before the data is read, and
    # so is a tracker that cannot be used (a server that does not answer).
    if resume is None:
        claims.check_output(output, overwrite)
    uri = None
    if launch.is_process_zero() or not config.distribute:
        uri = tracking.prepare(config, mlflow, output, resume)
    data = data_lib.run_data(config, dataset)
    config = config.for_rows(len(data[1].train[0]))
    check_model_memory(config, data[1].train[0].shape[1:])
    run, scratch = _run_folder(config, output, overwrite, resume, launch)
    try:
        return _setup(config, run, scratch, resume, data, verbose, launch, uri)
    except BaseException:
        if resume is None and scratch is None:
            claims.release(run)
        raise


def _learning_rate(config, steps, step):
    """The learning rate of `config`'s schedule at optimizer step `step`."""
    schedule = learning_rate(config, steps)
    return float(schedule(step)) if callable(schedule) else float(schedule)


def _resume_start(config, run, meta, steps, early):
    """Where a resumed run starts, `(epoch, step)`, from its checkpoint's
    `meta`; says (logs) what the run will do, and refuses a resume that
    would do nothing.

    Raises:
        InvalidArgument: if the run has trained more epochs than `config`
            asks for, or stopped early and is asked for more.
        RunFolderError: if the checkpoint's step does not fit the data.
    """
    epoch, step = meta["epoch"], meta["step"]
    if step >= steps:
        raise RunFolderError(
            f"checkpoint {runs.path(run, runs.CHECKPOINT)!r} is at step {step} of "
            f"an epoch of {steps} steps (its meta 'step'): it is not a checkpoint "
            "of this run's data; train a new run"
        )
    done = epoch + (step > 0)
    if config.epochs < done:
        steps_done = f" and {step} steps" if step else ""
        raise InvalidArgument(
            f"run {run!r} has trained {epoch} epochs{steps_done}, more than "
            f"epochs={config.epochs}: epochs is the run's total number of epochs, "
            f"so pass {done} or more"
        )
    previous = (runs.read_config(run, missing_ok=True) or {}).get("epochs")
    if early is not None and early.stopped and config.epochs > epoch:
        raise InvalidArgument(
            f"run {run!r} stopped early after epoch {epoch} (no better val_loss "
            f"in {early.patience} epochs), so more epochs would train nothing: "
            "start a new run with a larger early_stopping instead"
        )
    if epoch == config.epochs:
        logger.info(
            "run %s has trained all its %d epochs: redoing its final phase (model, "
            "metrics, pictures, report and training scores)",
            run,
            epoch,
        )
        return epoch, step
    text = f"resuming run {run} at epoch {epoch + 1} of {config.epochs}"
    if previous is not None and previous != config.epochs:
        text += _schedule_change(config, previous, steps, epoch * steps + step)
    logger.info("%s", text)
    return epoch, step


def _schedule_change(config, previous, steps, at):
    """What a resumed run's new number of epochs does to its learning rate:
    a schedule spans the run's epochs, so the rest of the run follows the
    schedule of a run of the new length (a finished cosine, at 0, rises
    again). Returns the text of the log line, or ""."""
    if config.lr_schedule != "cosine" and not config.warmup_epochs:
        return ""
    now = _learning_rate(config, steps, at)
    before = _learning_rate(config.replace(epochs=previous), steps, at)
    end = _learning_rate(config, steps, config.epochs * steps)
    return (
        f"; its learning-rate schedule ({config.lr_schedule}) now spans "
        f"{config.epochs} epochs, not {previous}: the learning rate is {now:.3g} "
        f"now (it was {before:.3g} on the old schedule) and {end:.3g} at epoch "
        f"{config.epochs}"
    )


def _batches(config, splits, batch_size, pad_to, process):
    """The `TrainingBatches` of the training split and of the validation
    split (None without one)."""
    (x_train, y_train), (x_val, y_val) = splits.train, splits.validation
    batches = TrainingBatches(
        x_train,
        batch_size,
        config.binarize,
        seed=config.seed,
        pad_to=pad_to,
        process=process,
        y=y_train if config.conditional else None,
    )
    validation = None
    if len(x_val):
        validation = TrainingBatches(
            x_val,
            min(batch_size, len(x_val)),
            pad_to=pad_to,
            process=process,
            shuffle=False,
            y=y_val if config.conditional else None,
        )
    return batches, validation


def _as_trained(config):
    """`config` with the backend the run trains on: a library call trains
    on the backend keras loaded, whatever `config.backend` says, and the
    run's config.toml reruns it there."""
    import keras

    backend = keras.backend.backend()
    return config.replace(backend=backend) if backend in checks.BACKENDS else config


def _setup(config, run, scratch, resume, data, verbose, launch, uri=None):
    dataset, splits = data
    x_train, y_train = splits.train
    y_train = y_train if config.conditional else None
    batch_size = _batch_size(config.batch_size, len(x_train))
    steps = math.ceil(len(x_train) / batch_size)
    pad_to, process = None, (0, 1)
    if config.distribute:
        # A batch that does not divide over the devices (the last, ragged one)
        # is padded with rows of weight 0: the loss is still its real rows'.
        pad_to, process = distribute(
            launch.coordinator, launch.num_processes, launch.process_id
        )
    model = build_model(
        config, x_train, y_train, steps, dataset.label_names, dataset.schema
    )
    callbacks, checkpoint, early = _callbacks(
        config, run, model, splits, steps, pad_to, process
    )
    start = (0, 0)
    if resume is not None:
        meta, arrays = load_checkpoint(resume, model, required=("epoch", "step"))
        checkpoint.restore(meta, arrays)
        start = _resume_start(config, run, meta, steps, early)
    trackers = []
    if scratch is None:
        history = next(c for c in callbacks if isinstance(c, cbs.HistoryFile))
        trackers = tracking.start(run, config, uri, history)
        callbacks += trackers  # after the checkpoint: what it holds is logged
    io.write_text(runs.path(run, runs.INCOMPLETE), INCOMPLETE_TEXT)
    io.write_text(runs.path(run, runs.CONFIG), to_toml(_as_trained(config)))
    batches, validation = _batches(config, splits, batch_size, pad_to, process)
    # What was read, once the run is sure to start: before any training.
    logger.info("%s", dataset.summary())
    logger.info("run folder: %s", run)
    return Session(
        config,
        run,
        model,
        splits,
        batches,
        validation,
        callbacks,
        checkpoint,
        early,
        start,
        steps,
        verbose,
        scratch,
        resumed=resume is not None,
        trackers=trackers,
    )
