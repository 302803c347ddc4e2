"""The run folder: its file names, creating one, and reading one back.

A training run writes one folder::

    RUN/
      .vaekit-run      the marker: vaekit made this folder for a run
      config.toml      the complete settings that reproduce the run
      history.csv      one row per epoch
      checkpoint.npz   weights, optimizer and RNG state (resume)
      model.keras      the trained model
      metrics.json     the held-out evaluation at the end
      train_scores.npz anomaly scores of the training split
      plots/           every picture, with plots/index.json (titles, captions)
      report.html      one self-contained page of all of it
      INCOMPLETE       while the run is not complete (training, interrupted,
                       failed): what is here may be partial
      mlflow.json      with --mlflow: the MLflow tracking URI and run id
                       (a resume continues that MLflow run)
      tensorboard/     with the tensorboard setting: TensorBoard event files

Every other module names these files through the constants here and reads
them back through the functions here; `vaekit.claims` creates (claims) one.
"""

import csv
import json
import os

from vaekit import checks, io
from vaekit.errors import RunFolderError

__all__ = [
    "CHECKPOINT",
    "CONFIG",
    "HISTORY",
    "METRICS",
    "MODEL",
    "PLOTS",
    "PLOTS_INDEX",
    "REPORT",
    "TRAIN_SCORES",
    "INCOMPLETE",
    "MARKER",
    "MLFLOW",
    "OWN_FILES",
    "OWN_FOLDERS",
    "TENSORBOARD",
    "is_own",
    "is_own_in",
    "load_config",
    "path",
    "read_config",
    "read_history",
    "read_metrics",
    "read_plots_index",
    "read_train_scores",
    "resume_config",
    "training_binarize",
]

CONFIG = "config.toml"
HISTORY = "history.csv"
CHECKPOINT = "checkpoint.npz"
MODEL = "model.keras"
METRICS = "metrics.json"
PLOTS = "plots"
PLOTS_INDEX = "index.json"  # inside PLOTS
REPORT = "report.html"
TRAIN_SCORES = "train_scores.npz"
# Written by vaekit alone when it creates a run folder: only a folder that
# holds it is ever emptied for a new run, and then only of vaekit's files.
MARKER = ".vaekit-run"
# Present from the moment training writes to a run folder until its last
# output is written (vaekit.training): the report and resume read it.
INCOMPLETE = "INCOMPLETE"
# The MLflow run of a run tracked with --mlflow (vaekit.training.tracking).
MLFLOW = "mlflow.json"
# The TensorBoard event files of a run with the tensorboard setting
# (vaekit.training.tensorboard_log), each named EVENTS_PREFIX + a suffix.
TENSORBOARD = "tensorboard"
EVENTS_PREFIX = "events.out.tfevents."
OWN_FILES = (CONFIG, HISTORY, CHECKPOINT, MODEL, METRICS, REPORT, TRAIN_SCORES)
OWN_FILES += (MARKER, INCOMPLETE, MLFLOW)
# What vaekit writes in PLOTS (see vaekit.viz.run_pictures).
OWN_PICTURES = (
    "training_curves.png",
    "kl_per_unit.png",
    "latent.png",
    "manifold.png",
    "samples.png",
    "reconstructions.png",
    "interpolation.png",
    PLOTS_INDEX,
)
# The sub-folders of a run that hold only vaekit's files (see `is_own_in`).
OWN_FOLDERS = (PLOTS, TENSORBOARD)


def path(run, name):
    """The path of file `name` (one of the constants above) in `run`."""
    return os.path.join(os.fspath(run), name)


def is_own(folder, name, names):
    """Whether entry `name` of `folder` is a file vaekit writes there: a
    regular file (not a link) named in `names`, or a temporary of one."""
    full = os.path.join(folder, name)
    own = name in names or io.is_temporary(name, names)
    return own and os.path.isfile(full) and not os.path.islink(full)


def is_own_in(sub, folder, name):
    """Whether entry `name` of `folder`, the run's sub-folder `sub` (one of
    `OWN_FOLDERS`), is a file vaekit writes there: a picture of
    `OWN_PICTURES` in `PLOTS`, an event file in `TENSORBOARD`."""
    if sub != TENSORBOARD:
        return is_own(folder, name, OWN_PICTURES)
    full = os.path.join(folder, name)
    return (
        name.startswith(EVENTS_PREFIX)
        and os.path.isfile(full)
        and not os.path.islink(full)
    )


def read_config(run, missing_ok=False):
    """The settings dict of `RUN/config.toml` (not yet a `Config`).

    Args:
        run: The run folder.
        missing_ok: Return None instead of raising when the file is absent.

    Raises:
        RunFolderError: if the file is missing (unless `missing_ok`),
            unreadable or not valid TOML.
    """
    from vaekit import config as config_lib

    file = path(run, CONFIG)
    if missing_ok and not os.path.isfile(file):
        return None
    return config_lib.read_toml(file)


def read_history(run):
    """`RUN/history.csv` as a dict of float arrays, one per column (empty
    values are NaN); `{}` when the file is absent or has no rows."""
    import numpy as np

    file = path(run, HISTORY)
    if not os.path.isfile(file):
        return {}
    with open(file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {
        key: np.array(
            [float(r[key]) if r[key] not in ("", None) else np.nan for r in rows]
        )
        for key in rows[0]
    }


def _read_json(file):
    try:
        with open(file, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def read_metrics(run):
    """`RUN/metrics.json` as a dict, or None when absent or unreadable."""
    return _read_json(path(run, METRICS))


def read_plots_index(run):
    """`RUN/plots/index.json` (the pictures' titles and captions) as a dict;
    `{}` when absent or unreadable."""
    index = _read_json(os.path.join(path(run, PLOTS), PLOTS_INDEX))
    return index if isinstance(index, dict) else {}


def read_train_scores(run, keys=()):
    """`RUN/train_scores.npz`: the anomaly scores of the run's training
    split (see `vaekit.evaluation.scores.score`), as a dict of 1-D numpy
    arrays, with `iw_samples` (the `k` they were estimated with) as an int;
    the scores named in `keys` must be among them.

    Raises:
        RunFolderError: if the file is missing, unreadable or damaged (an
            array of another shape or kind, a key of `keys` missing).
    """
    import zipfile

    import numpy as np

    file = path(run, TRAIN_SCORES)
    if not os.path.isfile(file):
        raise RunFolderError(
            f"no stored training scores: {file!r} does not exist (the model is not "
            "in a complete run folder written by vaekit train, or by an older "
            "vaekit); pass --threshold instead, or train the model again"
        )
    try:
        with np.load(file, allow_pickle=False) as archive:
            scores = {name: archive[name] for name in archive.files}
        detail = _bad_scores(scores, keys)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        detail = str(exc)
    if detail:
        raise RunFolderError(
            f"training scores {file!r} cannot be read ({detail}): `vaekit train "
            f"--resume {os.fspath(run)}` writes them again, or pass --threshold"
        )
    scores["iw_samples"] = int(scores["iw_samples"])
    return scores


def _bad_scores(scores, keys):
    """What is wrong with stored training scores, or None."""
    for key in ("iw_samples", *keys):
        if key not in scores:
            return f"it holds no {key!r}"
    k = scores["iw_samples"]
    if k.shape != () or k.dtype.kind not in "iu" or int(k) < 1:
        return f"its 'iw_samples' is {k!r}, not a number of samples"
    for key, value in scores.items():
        if key != "iw_samples" and (value.ndim != 1 or value.dtype.kind not in "fiu"):
            return f"its {key!r} is not a list of numbers"
    return None


def load_config(run):
    """`RUN/config.toml` as a validated `vaekit.config.Config`.

    Raises:
        RunFolderError: if the file is missing, unreadable or invalid.
    """
    from vaekit import config as config_lib

    return config_lib.from_dict(
        read_config(run), source=f"config file {path(run, CONFIG)!r}"
    )


def resume_config(run, epochs=None, backend=None, environment=None):
    """The config that continues the run in folder `run`: its own
    `config.toml`, with `epochs` (the run's new total) changed if given.

    Args:
        run: The run folder.
        epochs: A new number of epochs, or None.
        backend, environment: The `--backend` flag and `KERAS_BACKEND` as the
            user set it, or None (see `vaekit.config.choose_backend`).

    Raises:
        RunFolderError: if `run` is not a run folder, or its config is invalid.
    """
    from vaekit import config as config_lib

    file = path(run, CONFIG)
    if not os.path.isfile(file):
        raise RunFolderError(
            f"{os.fspath(run)!r} is not a run folder (no {CONFIG}): pass the "
            "folder of an interrupted vaekit train"
        )
    overrides = {} if epochs is None else {"epochs": epochs}
    return config_lib.resolve(
        file=file, overrides=overrides, backend=backend, environment=environment
    )


def training_binarize(model_path):
    """The `binarize` setting of the run that wrote `model_path`, from the
    `config.toml` beside it; "none" for a model file without one.

    Raises:
        RunFolderError: if that `config.toml` exists but cannot be read, or its
            `binarize` is not a known value.
    """
    from vaekit import config as config_lib

    run = os.path.dirname(os.path.abspath(os.fspath(model_path)))
    try:
        values = read_config(run, missing_ok=True)
        if values is None:
            return "none"
        binarize = values.get("binarize", config_lib.Config.binarize)
        return checks.one_of(binarize, "binarize", checks.BINARIZE)
    except RunFolderError as exc:
        detail = str(exc)  # names the file
    except ValueError as exc:
        detail = f"{path(run, CONFIG)!r}: {exc}"
    raise RunFolderError(
        f"--binarize auto cannot tell how {model_path!r} was trained: {detail}; "
        "pass --binarize none or --binarize static"
    )
