"""Setting up a training run: its folder, data, model, batches and
callbacks (`setup`), ready for `vaekit.training.train.fit`."""

import dataclasses
import logging
import math
import os
import tempfile
import warnings

import numpy as np

from vaekit import data as data_lib
from vaekit import io, runs
from vaekit.config import to_toml
from vaekit.errors import InvalidArgument, VaekitWarning
from vaekit.evaluation.diagnostics import DIAGNOSTIC_EXAMPLES
from vaekit.training import callbacks as cbs
from vaekit.training.batches import TrainingBatches
from vaekit.training.build import build_model
from vaekit.training.checkpoint import load_checkpoint
from vaekit.training.distribution import distribute

__all__ = ["Launch", "Session", "setup"]

logger = logging.getLogger("vaekit")


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


def _run_folder(config, output, overwrite, resume, launch):
    """The run folder, claimed first of all (before any data is read):
    `resume`, a new or replaced `output`, or, for a process other than 0 of
    a data-parallel run, a temporary folder (its `scratch`)."""
    if launch.given() and not config.distribute:
        raise InvalidArgument(
            "coordinator, num_processes and process_id need distribute"
        )
    if not launch.is_process_zero() and config.distribute:
        scratch = tempfile.TemporaryDirectory(prefix="vaekit-process-")
        return scratch.name, scratch
    if resume is not None:
        return os.fspath(resume), None
    return runs.claim(output, overwrite), None


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
):
    """Claims the run folder, loads and splits the data, builds the model
    and its callbacks, and restores the checkpoint of a resumed run.

    Raises:
        VaekitError: for a bad folder, bad data, or a model that cannot be
            built for it.
    """
    launch = launch or Launch()
    run, scratch = _run_folder(config, output, overwrite, resume, launch)
    try:
        return _setup(config, run, scratch, resume, dataset, verbose, launch)
    except BaseException:
        if resume is None and scratch is None:
            runs.release(run)
        raise


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


def _setup(config, run, scratch, resume, dataset, verbose, launch):
    dataset, splits = data_lib.run_data(config, dataset)
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
        meta, arrays = load_checkpoint(resume, model)
        checkpoint.restore(meta, arrays)
        start = (meta.get("epoch", 0), meta.get("step", 0))
    io.write_text(runs.path(run, runs.CONFIG), to_toml(config))
    batches, validation = _batches(config, splits, batch_size, pad_to, process)
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
    )
