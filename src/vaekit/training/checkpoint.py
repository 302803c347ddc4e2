"""The checkpoint of a training run, `RUN/checkpoint.npz`.

It holds everything a resumed run needs to end with the same weights as an
uninterrupted one: every model variable (weights and the sampling layers'
RNG state), every optimizer variable (moments, iteration count), and the
state of the training callbacks: a JSON `meta` record (epoch, step, the
history rows, early stopping's counters, ...) and their arrays (the best
weights kept for early stopping). It is written atomically (`vaekit.io`),
so a crash or SIGKILL at any instant leaves the previous checkpoint or the
new one.
"""

import json
import numbers

import numpy as np

from vaekit import io, runs
from vaekit.errors import RunFolderError

__all__ = ["check_meta", "load_checkpoint", "save_checkpoint"]


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _row(row):
    """A history row: numbers by name, and `unit_kl` a list of numbers."""
    return isinstance(row, dict) and all(
        isinstance(v, list) and all(map(_number, v)) if k == "unit_kl" else _number(v)
        for k, v in row.items()
    )


# What a checkpoint's meta record holds (see `vaekit.training.callbacks`):
# each key, whether it is required, what it must be and the check.
_META = {
    "epoch": (False, "a number of epochs", _count),
    "step": (False, "a number of steps", _count),
    "n_model": (True, "a number of variables", _count),
    "n_optimizer": (True, "a number of variables", _count),
    "rows": (False, "a list of history rows", lambda v: isinstance(v, list)),
    "best": (False, "a number", _number),
    "best_epoch": (False, "an epoch or null", lambda v: v is None or _count(v)),
    "wait": (False, "a number of epochs", _count),
    "early_stopped": (False, "true or false", lambda v: isinstance(v, bool)),
    "collapse_warned": (False, "true or false", lambda v: isinstance(v, bool)),
    "collapsed": (False, "a number of epochs", _count),
}


def check_meta(meta, required=()):
    """What is wrong with a checkpoint's meta record (a dict) as the text
    `'KEY' is VALUE, not WHAT` or `'KEY' is missing`, or None. Keys it does
    not know are left alone (a later release may add some); those of
    `required` must be present."""
    for key, (needed, what, ok) in _META.items():
        if key not in meta:
            if needed or key in required:
                return f"{key!r} is missing"
            continue
        if not ok(meta[key]):
            return f"{key!r} is {json.dumps(meta[key])[:40]}, not {what}"
    for i, row in enumerate(meta.get("rows", [])):
        if not _row(row):
            return f"'rows' entry {i} is {json.dumps(row)[:40]}, not a history row"
    return None


def save_checkpoint(run, model, meta, arrays=None):
    """Writes `RUN/checkpoint.npz` atomically.

    Args:
        run: The run folder.
        model: The compiled model, its optimizer built.
        meta: A JSON-serializable dict (epoch, step, history rows, ...).
        arrays: Optional dict of more arrays (names not starting with
            `model_`, `optimizer_` or `meta`).
    """
    stored = {name: np.asarray(value) for name, value in (arrays or {}).items()}
    stored.update({f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)})
    stored.update(
        {
            f"optimizer_{i}": np.asarray(v)
            for i, v in enumerate(model.optimizer.variables)
        }
    )
    meta = dict(
        meta, n_model=len(model.variables), n_optimizer=len(model.optimizer.variables)
    )
    stored["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = runs.path(run, runs.CHECKPOINT)
    with io.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **stored)


def load_checkpoint(run, model, required=()):
    """Restores `RUN/checkpoint.npz` into `model` (compiled with the run's
    config), after checking its meta record (see `check_meta`; `required`:
    keys it must hold).

    Returns:
        `(meta, arrays)`: the dict given to `save_checkpoint` (with
        `n_model` and `n_optimizer` added) and its other arrays.

    Raises:
        RunFolderError: if the checkpoint is missing, corrupt, damaged (a
            meta record of the wrong kind, naming the key), or does not
            match the model.
    """
    path = runs.path(run, runs.CHECKPOINT)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if not isinstance(meta, dict):
            raise ValueError("its meta record is not a JSON object")
    except FileNotFoundError:
        raise RunFolderError(
            f"{run!r} holds no {runs.CHECKPOINT} to resume from"
        ) from None
    except Exception as exc:  # numpy and zipfile raise many types on corrupt bytes
        raise RunFolderError(f"checkpoint {path!r} is corrupt ({exc})") from None
    problem = check_meta(meta, required)
    if problem is not None:
        raise RunFolderError(
            f"checkpoint {path!r} is damaged: its meta record's {problem}; it "
            "cannot be resumed: train a new run"
        )
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    targets = {"model": list(model.variables), "optimizer": model.optimizer.variables}
    mismatch = RunFolderError(
        f"checkpoint {path!r} does not match the model of "
        f"{runs.path(run, runs.CONFIG)!r}"
    )
    for prefix, variables in targets.items():
        if meta.get(f"n_{prefix}") != len(variables):
            raise mismatch
        for i, var in enumerate(variables):
            value = arrays.pop(f"{prefix}_{i}", None)
            if value is None or tuple(value.shape) != tuple(var.shape):
                raise mismatch
            var.assign(value)
    return meta, arrays
