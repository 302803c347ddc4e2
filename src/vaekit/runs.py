"""The run folder: its file names, creating one, and reading one back.

`vaekit train` writes one folder per run::

    RUN/
      config.toml      the complete settings that reproduce the run
      history.csv      one row per epoch
      checkpoint.npz   weights, optimizer and RNG state (resume)
      model.keras      the trained model
      metrics.json     the held-out evaluation at the end
      train_scores.npz anomaly scores of the training split (see vaekit.evaluation.scores)
      plots/           every picture, with plots/index.json (titles, captions)
      report.html      one self-contained page of all of it

Every other module names these files through the constants here and reads
them back through the functions here.
"""

import csv
import json
import os
import shutil
import time

from vaekit import VaekitError, checks

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
    "load_config",
    "load_model",
    "make_run_dir",
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


def path(run, name):
    """The path of file `name` (one of the constants above) in `run`."""
    return os.path.join(os.fspath(run), name)


def read_config(run, missing_ok=False):
    """The settings dict of `RUN/config.toml` (not yet a `Config`).

    Args:
        run: The run folder.
        missing_ok: Return None instead of raising when the file is absent.

    Raises:
        VaekitError: if the file is missing (unless `missing_ok`),
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


def read_train_scores(run):
    """`RUN/train_scores.npz`: the anomaly scores of the run's training
    split (see `vaekit.evaluation.scores.score`), as a dict of numpy arrays, with
    `iw_samples` (the `k` they were estimated with) as an int.

    Raises:
        VaekitError: if the file is missing or unreadable.
    """
    import zipfile

    import numpy as np

    file = path(run, TRAIN_SCORES)
    if not os.path.isfile(file):
        raise VaekitError(
            f"no stored training scores: {file!r} does not exist (the model is not "
            "in a run folder written by vaekit train, or by an older vaekit); pass "
            "--threshold instead, or train the model again"
        )
    try:
        with np.load(file, allow_pickle=False) as archive:
            scores = {name: archive[name] for name in archive.files}
        scores["iw_samples"] = int(scores["iw_samples"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise VaekitError(f"training scores {file!r} cannot be read ({exc})") from None
    return scores


def load_config(run):
    """`RUN/config.toml` as a validated `vaekit.config.Config`.

    Raises:
        VaekitError: if the file is missing, unreadable or invalid.
    """
    from vaekit import config as config_lib

    return config_lib.from_dict(
        read_config(run), source=f"config file {path(run, CONFIG)!r}"
    )


def load_model(run):
    """`RUN/model.keras` (checked before keras is imported).

    Raises:
        VaekitError: if the file is missing or not a vaekit model.
    """
    from vaekit.model import inputs

    return inputs.load_model(path(run, MODEL))


def resume_config(run, epochs=None, backend=None, environment=None):
    """The config that continues the interrupted run in folder `run`: its own
    `config.toml`, with `epochs` changed if given.

    Args:
        run: The run folder.
        epochs: A new number of epochs, or None.
        backend: The `--backend` flag, or None.
        environment: `KERAS_BACKEND` as the user set it, or None (see
            `vaekit.config.choose_backend`).

    Raises:
        VaekitError: if `run` is not a run folder, or its config is invalid.
    """
    from vaekit import config as config_lib

    file = path(run, CONFIG)
    if not os.path.isfile(file):
        raise VaekitError(
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
        VaekitError: if that `config.toml` exists but cannot be read, or its
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
    except VaekitError as exc:
        detail = str(exc)  # names the file
    except ValueError as exc:
        detail = f"{path(run, CONFIG)!r}: {exc}"
    raise VaekitError(
        f"--binarize auto cannot tell how {model_path!r} was trained: {detail}; "
        "pass --binarize none or --binarize static"
    )


def make_run_dir(output=None, overwrite=False):
    """Creates a run folder and returns its path.

    Args:
        output: The folder (default `runs/<timestamp>`, made unique).
        overwrite: Replace an existing non-empty folder, but only if it is a
            vaekit run folder (holds a `config.toml`).

    Raises:
        VaekitError: if `output` exists and is not replaceable.
    """
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
        if not os.path.isfile(path(output, CONFIG)):
            raise VaekitError(
                f"--overwrite refused: {output!r} is not a vaekit run folder (no "
                f"{CONFIG}), and vaekit does not delete other folders"
            )
        shutil.rmtree(output)
    os.makedirs(output, exist_ok=True)
    return output
