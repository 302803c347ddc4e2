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

import numpy as np

from vaekit import io, runs
from vaekit.errors import RunFolderError

__all__ = ["load_checkpoint", "save_checkpoint"]


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


def load_checkpoint(run, model):
    """Restores `RUN/checkpoint.npz` into `model` (compiled with the run's
    config).

    Returns:
        `(meta, arrays)`: the dict given to `save_checkpoint` (with
        `n_model` and `n_optimizer` added) and its other arrays.

    Raises:
        RunFolderError: if the checkpoint is missing, corrupt, or does not
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
