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

Every other module names these files through the constants here and reads
them back through the functions here. `claim` creates a folder atomically,
and replaces only a folder that holds the marker and nothing but vaekit's
own files.
"""

import csv
import json
import os
import re
import time

from vaekit import __version__, checks
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
    "MARKER",
    "OWN_FILES",
    "claim",
    "release",
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
OWN_FILES = (CONFIG, HISTORY, CHECKPOINT, MODEL, METRICS, REPORT, TRAIN_SCORES, MARKER)
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


def path(run, name):
    """The path of file `name` (one of the constants above) in `run`."""
    return os.path.join(os.fspath(run), name)


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


def read_train_scores(run):
    """`RUN/train_scores.npz`: the anomaly scores of the run's training
    split (see `vaekit.evaluation.scores.score`), as a dict of numpy arrays, with
    `iw_samples` (the `k` they were estimated with) as an int.

    Raises:
        RunFolderError: if the file is missing or unreadable.
    """
    import zipfile

    import numpy as np

    file = path(run, TRAIN_SCORES)
    if not os.path.isfile(file):
        raise RunFolderError(
            f"no stored training scores: {file!r} does not exist (the model is not "
            "in a run folder written by vaekit train, or by an older vaekit); pass "
            "--threshold instead, or train the model again"
        )
    try:
        with np.load(file, allow_pickle=False) as archive:
            scores = {name: archive[name] for name in archive.files}
        scores["iw_samples"] = int(scores["iw_samples"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise RunFolderError(
            f"training scores {file!r} cannot be read ({exc})"
        ) from None
    return scores


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
    """The config that continues the interrupted run in folder `run`: its own
    `config.toml`, with `epochs` changed if given.

    Args:
        run: The run folder.
        epochs: A new number of epochs, or None.
        backend: The `--backend` flag, or None.
        environment: `KERAS_BACKEND` as the user set it, or None (see
            `vaekit.config.choose_backend`).

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


def _temporary(name, own):
    """Whether `name` is the temporary file that an atomic write (vaekit.io)
    of one of the files `own` left behind (`.config.k2j4x8_q.tmp.toml`)."""
    for file in own:
        stem, suffix = os.path.splitext(file)
        pattern = rf"\.{re.escape(stem)}\.[a-z0-9_]+\.tmp{re.escape(suffix)}\Z"
        if re.match(pattern, name):
            return True
    return False


def _new_folder(output):
    """Creates `output` (and its parents); False if it exists already."""
    parent = os.path.dirname(os.path.abspath(output))
    os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(output)
    except FileExistsError:
        return False
    return True


def _mark(output):
    """Writes the marker, claiming `output`; False if another process has
    claimed it first (the marker exists)."""
    try:
        fd = os.open(path(output, MARKER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {"vaekit": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S")},
            handle,
        )
    return True


def _foreign(output):
    """The first entry of run folder `output` that vaekit did not write, or
    None."""
    for name in sorted(os.listdir(output)):
        full = path(output, name)
        if name == PLOTS and os.path.isdir(full) and not os.path.islink(full):
            for inner in sorted(os.listdir(full)):
                inner_path = os.path.join(full, inner)
                own = inner in OWN_PICTURES or _temporary(inner, OWN_PICTURES)
                if (
                    not own
                    or os.path.islink(inner_path)
                    or not os.path.isfile(inner_path)
                ):
                    return os.path.join(PLOTS, inner)
            continue
        own = name in OWN_FILES or _temporary(name, OWN_FILES)
        if not own or os.path.islink(full) or not os.path.isfile(full):
            return name
    return None


def _empty(output):
    """Removes vaekit's own files from a marked run folder, refusing it
    whole (before removing anything) if it holds anything else."""
    if not os.path.isfile(path(output, MARKER)):
        raise RunFolderError(
            f"{output!r} is not a folder vaekit made for a run (it has no "
            f"{MARKER} marker; runs of vaekit before 0.2 lack it too), and vaekit "
            "replaces only its own run folders: delete it yourself or choose "
            "another output folder"
        )
    if os.listdir(output) == [MARKER]:
        # What `claim` makes: a training is setting up in it (or died doing
        # so). Replacing it would give two trainings one folder.
        raise RunFolderError(
            f"run folder {output!r} was claimed by another training, which has "
            "written nothing to it yet: choose another output folder (or, if no "
            "training is running, delete it)"
        )
    foreign = _foreign(output)
    if foreign is not None:
        raise RunFolderError(
            f"run folder {output!r} holds {foreign!r}, which vaekit did not write, "
            "so it is not replaced: move that file away or choose another output "
            "folder"
        )
    plots = path(output, PLOTS)
    if os.path.isdir(plots):
        for name in os.listdir(plots):
            os.remove(os.path.join(plots, name))
        os.rmdir(plots)
    for name in os.listdir(output):
        if name != MARKER:
            os.remove(path(output, name))
    os.remove(path(output, MARKER))


def claim(output=None, overwrite=False):
    """Creates a run folder and claims it for this process; returns its path.

    The claim is atomic: of two processes given the same `output`, one gets
    it and the other an error. A new folder gets the marker `MARKER`.

    Args:
        output: The folder (default `runs/<timestamp>`, made unique).
        overwrite: Replace an existing, non-empty run folder: only one that
            vaekit made (it holds `MARKER`), and only if it holds nothing but
            vaekit's own files, which alone are removed.

    Raises:
        RunFolderError: if `output` is a file, exists and is not to be
            replaced, is not vaekit's to replace, or was claimed by another
            process.
    """
    if output is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output, suffix = os.path.join("runs", stamp), 1
        while not _new_folder(output):
            output, suffix = os.path.join("runs", f"{stamp}-{suffix}"), suffix + 1
    elif not _new_folder(output):
        if not os.path.isdir(output):
            raise RunFolderError(f"output {output!r} exists and is not a folder")
        if os.listdir(output):
            if not overwrite:
                raise RunFolderError(
                    f"run folder {output!r} already exists: choose another output "
                    "folder, replace it (overwrite), or resume it"
                )
            _empty(output)
    if not _mark(output):
        raise RunFolderError(
            f"run folder {output!r} was claimed by another training at the same "
            "time: choose another output folder"
        )
    return output


def release(output):
    """Removes a run folder that `claim` made and nothing has been written
    to since (it holds the marker alone), so that a run that failed before
    it started leaves nothing behind."""
    try:
        if os.listdir(output) == [MARKER]:
            os.remove(path(output, MARKER))
            os.rmdir(output)
    except OSError:
        pass
